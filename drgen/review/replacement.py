"""Whether an update replaces a resource, predicted at render time the way `cdk diff` marks it.

CloudFormation replaces a resource when the update changes one of its schema's ``createOnlyProperties`` ("a
property that can only be set at creation; changing it requires replacement"), may replace it when the change
touches a ``conditionalCreateOnlyProperties`` entry (whether it does depends on the values: CloudFormation's
own change sets say ``Replacement: Conditional``), and always replaces it when its type changes:
https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html

The schemas are cfn-lint's pinned copies, read through the same reader the StackSets execution role is derived
with (``drgen.deploy.handler_permissions``), so one machine predicts what the next one does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from drgen.review.jsondiff import JsonPath, diff_paths

REPLACED = "replaced"
MAY_BE_REPLACED = "may be replaced"
IN_PLACE = "updated in place"
NO_SCHEMA = "updated (no resource schema: replacement unknown)"
CUSTOM = "updated (custom resource: its function decides)"
_ANY_INDEX = "*"  # a schema pointer's array wildcard; list indices in a diff path match it


@dataclass(frozen=True)
class CreateOnly:
    """A type's create-only property pointers as segment tuples (``/properties/A/*/B`` -> ``("A", "B")``)."""

    always: tuple[tuple[str, ...], ...]
    conditional: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Verdict:
    """What an update does to a resource, and the property paths that decide it."""

    kind: str  # REPLACED | MAY_BE_REPLACED | IN_PLACE | NO_SCHEMA | CUSTOM
    causes: tuple[str, ...]

    @property
    def replaces(self) -> bool:
        return self.kind in (REPLACED, MAY_BE_REPLACED)


@cache
def create_only(resource_type: str, region: str) -> CreateOnly | None:
    """The type's create-only pointers in ``region`` (None: cfn-lint ships no schema for it)."""
    from cfnlint.schema import ResourceNotFoundError

    from drgen.deploy.handler_permissions import _manager

    try:
        schema = _manager().get_resource_schema(region, resource_type).schema
    except ResourceNotFoundError:
        return None
    return CreateOnly(
        always=tuple(_pointer(p) for p in schema.get("createOnlyProperties", ())),
        conditional=tuple(_pointer(p) for p in schema.get("conditionalCreateOnlyProperties", ())),
    )


def _pointer(pointer: str) -> tuple[str, ...]:
    """``/properties/Foo/*/Bar`` -> ``("Foo", "Bar")``: array wildcards dropped, like list indices below."""
    parts = pointer.strip("/").split("/")
    return tuple(p for p in parts[1:] if p != _ANY_INDEX) if parts[:1] == ["properties"] else ()


def verdict(resource_type: str, region: str, old: dict[str, Any], new: dict[str, Any]) -> Verdict:
    """What updating ``old`` to ``new`` (resolved resource documents) does in ``region``."""
    from drgen.deploy.handler_permissions import is_custom  # imports cfn-lint: only a review with --compare

    if old.get("Type") != new.get("Type"):
        return Verdict(REPLACED, (f"Type: {old.get('Type')} -> {new.get('Type')}",))
    if is_custom(resource_type):
        return Verdict(CUSTOM, ())
    pointers = create_only(resource_type, region)
    if pointers is None:
        return Verdict(NO_SCHEMA, ())
    before, after = old.get("Properties", {}), new.get("Properties", {})
    changed = [path for path, _, _ in diff_paths(before, after)]
    always = _touched(pointers.always, changed, before, after)
    if always:
        return Verdict(REPLACED, always)
    conditional = _touched(pointers.conditional, changed, before, after)
    if conditional:
        return Verdict(MAY_BE_REPLACED, conditional)
    return Verdict(IN_PLACE, ())


def _touched(
    pointers: tuple[tuple[str, ...], ...], changed: list[JsonPath], before: Any, after: Any
) -> tuple[str, ...]:
    """The create-only pointers a change touches, as property names (``MasterUsername``, ``Foo.Bar``)."""
    found = []
    for pointer in pointers:
        if not pointer:
            continue
        for path in changed:
            keys = tuple(str(p) for p in path if not isinstance(p, int))
            inside = keys[: len(pointer)] == pointer  # the change is at or below the create-only property
            # a whole object around the property appeared, went or changed shape: it counts only when the
            # create-only value inside it differs
            around = pointer[: len(keys)] == keys and _at(before, pointer) != _at(after, pointer)
            if inside or around:
                found.append(".".join(pointer))
                break
    return tuple(found)


def _at(value: Any, keys: tuple[str, ...]) -> list[Any]:
    """Every value at ``keys`` below ``value``, through lists (a schema's ``*``)."""
    if isinstance(value, list):
        return [found for item in value for found in _at(item, keys)]
    if not keys:
        return [value]
    if isinstance(value, dict) and keys[0] in value:
        return _at(value[keys[0]], keys[1:])
    return []


def describe(verdict_: Verdict) -> str:
    """``replaced (MasterUsername)``; ``updated in place``."""
    return verdict_.kind + (f" ({', '.join(verdict_.causes)})" if verdict_.causes else "")
