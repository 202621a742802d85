"""The scenario's tags on every resource that takes tags, in the form each resource type expects."""

from __future__ import annotations

from typing import Any

from troposphere import AWSObject, Sub, Tags, autoscaling

from drgen.builders.context import StackContext

_PLACEHOLDERS = {"{region}": "${AWS::Region}", "{role}": "${Role}"}


def tag_values(ctx: StackContext) -> list[tuple[str, Any]]:
    """(key, value) pairs with {suffix}/{region}/{role} resolved for this template."""
    pairs = []
    for key, value in ctx.scenario.tags:
        text = value.replace("{suffix}", ctx.names.suffix)
        if not ctx.regional:
            text = text.replace("{role}", "global")
        for placeholder, expression in _PLACEHOLDERS.items():
            text = text.replace(placeholder, expression)
        pairs.append((key, Sub(text) if "${" in text else text))
    return pairs


def make_tags(pairs: list[tuple[str, Any]]) -> Tags:
    """A Tags object keeping the given order (Tags(**kw) would sort the keys)."""
    tags = Tags()
    tags.tags = [{"Key": k, "Value": v} for k, v in pairs]
    return tags


def tag_list(ctx: StackContext, *extra: tuple[str, Any]) -> Tags:
    """Tags for a property that is not a resource's own Tags (e.g. a global table replica); ``extra`` (Name) wins
    over a scenario tag of the same key, as on every other resource: a key may appear once."""
    own = {key for key, _ in extra}
    return make_tags([pair for pair in tag_values(ctx) if pair[0] not in own] + list(extra))


def apply_tags(ctx: StackContext) -> None:
    """Add the scenario's tags to every taggable resource; a resource's own tags (Name) win."""
    pairs = tag_values(ctx)
    for resource in ctx.template.resources.values():
        _tag(resource, pairs)


def _tag(resource: AWSObject, pairs: list[tuple[str, Any]]) -> None:
    if "Tags" not in resource.props:
        return
    own = resource.properties.get("Tags")
    if resource.resource_type == "AWS::AutoScaling::AutoScalingGroup":
        own_list = list(own or [])
        own_keys = {t.data["Key"] for t in own_list}  # autoscaling.Tag keeps its fields in .data
        # PropagateAtLaunch (troposphere spells the parameter "propogate")
        merged = [autoscaling.Tag(k, v, propogate=True) for k, v in pairs if k not in own_keys]
        resource.Tags = merged + own_list
        return
    expected = resource.props["Tags"][0]
    if expected is dict:
        current = dict(own or {})
        resource.Tags = {**dict(pairs), **current}
        return
    own_tags = own.to_dict() if isinstance(own, Tags) else list(own or [])
    own_keys = {t["Key"] for t in own_tags}
    merged = make_tags([(k, v) for k, v in pairs if k not in own_keys])
    merged.tags += own_tags
    resource.Tags = merged
