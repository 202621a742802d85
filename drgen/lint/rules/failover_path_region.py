"""E9010: the failover path (state machine, its functions, its triggers) must not need the primary region.

A failover runs because the primary region failed. In drgen's orchestration template everything on that path
exists only in the DR region (Condition IsSecondary), where the PeerRegion parameter (and PrimaryRegion) is the
primary. The rule flags, in every DR-only resource of a regional template holding a state machine, each
reference to the primary region: ``Ref PeerRegion``/``Ref PrimaryRegion`` or ``${PeerRegion}``/
``${PrimaryRegion}`` in a Sub (an ARN, an endpoint, a region argument). Global services' data planes carry no
region (``arn:aws:route53:::healthcheck/...``) and are not flagged. A resource that touches the primary only
when the primary is back (failback) says why in its Metadata (``drgen:PrimaryRegionUse``) and is accepted.
It also fails when no trigger of the state machine lives in the DR region (an alarm of this template, or a
schedule): with us-east-1 as the primary, the forwarded Route 53 alarm is in the failed region.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from drgen.lint.rules._template import CfnPath

DR_ONLY = "IsSecondary"
PRIMARY_PARAMETERS = ("PeerRegion", "PrimaryRegion")
REASON_KEY = "drgen:PrimaryRegionUse"  # drgen/builders/functions.py writes it
_SUB_VARIABLE = re.compile(r"\$\{(" + "|".join(PRIMARY_PARAMETERS) + r")\}")


class FailoverPathRegion(CloudFormationLintRule):
    """A DR-only resource of the failover template refers to the primary region, or no trigger lives in DR."""

    id = "E9010"
    shortdesc = "The failover path does not need the primary region"
    description = (
        "The failover state machine, its functions and its triggers run in the DR region because the primary "
        "failed. They must not reference a resource, ARN or endpoint of the primary region (PeerRegion or "
        "PrimaryRegion in a DR-only resource) unless the resource's Metadata drgen:PrimaryRegionUse says why "
        "(failback only), and at least one trigger of the state machine must be an alarm or schedule of the "
        "DR region itself."
    )
    source_url = "https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/static-stability.html"
    tags: ClassVar[list[str]] = ["drgen", "dr", "static-stability"]

    def match(self, cfn: Template) -> list[RuleMatch]:
        template = cfn.template
        parameters = template.get("Parameters")
        resources = template.get("Resources")
        if not isinstance(parameters, dict) or "PeerRegion" not in parameters or not isinstance(resources, dict):
            return []
        machines = [n for n, r in resources.items() if _type(r) == "AWS::StepFunctions::StateMachine"]
        if not machines:
            return []
        matches = [
            RuleMatch(
                path,
                f"{name} exists only in the DR region (on the failover path) but uses the primary region through "
                f"{what}: a failover must not need the failed region; take the value from this region, or, if it "
                f"is used only on failback, say so in Metadata {REASON_KEY}",
            )
            for name, resource in sorted(resources.items())
            if _dr_only(resource) and not _explained(resource)
            for path, what in _primary_references(resource, ["Resources", name])
        ]
        for machine in machines:
            if not _dr_triggered(resources, machine):
                matches.append(
                    RuleMatch(
                        ["Resources", machine],
                        f"no trigger of {machine} lives in the DR region: add an EventBridge rule on an alarm of "
                        "this template (e.g. a probe of the primary from the DR region) so the failover can start "
                        "while the primary region, or us-east-1, is down",
                    )
                )
        return matches


def _type(resource: Any) -> str:
    return str(resource.get("Type", "")) if isinstance(resource, dict) else ""


def _dr_only(resource: Any) -> bool:
    return isinstance(resource, dict) and resource.get("Condition") == DR_ONLY


def _explained(resource: dict[str, Any]) -> bool:
    metadata = resource.get("Metadata")
    reason = metadata.get(REASON_KEY) if isinstance(metadata, dict) else None
    return isinstance(reason, str) and bool(reason.strip())


def _primary_references(value: Any, path: CfnPath) -> Iterator[tuple[CfnPath, str]]:
    """(path, how) for each reference to the primary region below ``value``."""
    if isinstance(value, dict):
        if len(value) == 1 and value.get("Ref") in PRIMARY_PARAMETERS:
            yield path, f"Ref {value['Ref']}"
            return
        sub = value.get("Fn::Sub") if len(value) == 1 else None
        text = sub[0] if isinstance(sub, list) and sub else sub
        if isinstance(text, str):
            for found in sorted(set(_SUB_VARIABLE.findall(text))):
                yield [*path, "Fn::Sub"], f"${{{found}}} in {text!r}"
        for key, item in value.items():
            yield from _primary_references(item, [*path, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _primary_references(item, [*path, index])


def _dr_triggered(resources: dict[str, Any], machine: str) -> bool:
    """Whether a DR-only EventBridge rule targets ``machine`` on a schedule or on an alarm of this template."""
    alarms = {n for n, r in resources.items() if _type(r) == "AWS::CloudWatch::Alarm" and _dr_only(r)}
    for resource in resources.values():
        if _type(resource) != "AWS::Events::Rule" or not _dr_only(resource):
            continue
        properties = resource.get("Properties") or {}
        targets = properties.get("Targets") or []
        if not any(isinstance(t, dict) and t.get("Arn") == {"Ref": machine} for t in targets):
            continue
        if properties.get("ScheduleExpression") or _refers_to(properties.get("EventPattern"), alarms):
            return True
    return False


def _refers_to(value: Any, names: set[str]) -> bool:
    if isinstance(value, dict):
        if value.get("Ref") in names:
            return True
        return any(_refers_to(item, names) for item in value.values())
    if isinstance(value, list):
        return any(_refers_to(item, names) for item in value)
    return False
