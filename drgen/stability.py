"""Static stability: what the failover path needs, and from which region (MISSION.md, "Static stability").

``failover_path(bundle)`` reads a rendered bundle and lists
every dependency of the failover: each trigger, each API the state machine's functions are allowed to call
(from their IAM policies, so the list follows the templates), and the Route 53 data plane that moves traffic.
Each row says where the dependency lives: ``dr`` (the DR region), ``global`` (a global data plane),
``us-east-1`` (Route 53's control plane, or the forwarded health-check alarm) or ``primary``, and when it is
needed: ``failover``, ``failback only``, ``switchover only`` (a run that loses nothing, with the primary up),
``best effort`` or ``second way`` (a redundant path the failover survives without).
A static-stable failover has no ``primary`` row needed on ``failover``; lint rule E9010 enforces the same on
the template.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from drgen.bundle.manifest import LayerName
from drgen.bundle.reader import RenderedBundle

PRIMARY_PARAMETERS = ("PeerRegion", "PrimaryRegion")
REASON_KEY = "drgen:PrimaryRegionUse"  # written by drgen/builders/functions.py, read by lint rule E9010
ROUTE53_CONTROL_REGION = "us-east-1"
DR_ONLY = "IsSecondary"
# Primary-region uses a catalogue entry may state as its reason's first words (drgen/lambda_functions.py).
EXPLAINED = ("failback only", "switchover only")

Row = dict[str, str]


def failover_path(bundle: RenderedBundle) -> list[Row]:
    """Rows of ``component``, ``needs``, ``where``, ``region`` and ``when`` for one bundle, in a stable order."""
    regions = bundle.regions
    templates = {(s.layer, s.role.value): s.template for s in bundle.stacks}
    orchestration = bundle.templates[templates[(LayerName.ORCHESTRATION, "secondary")]]
    global_template = bundle.templates[templates[(LayerName.GLOBAL, "global")]]
    resources = {n: r for n, r in orchestration.get("Resources", {}).items() if r.get("Condition") == DR_ONLY}
    rows = [*_triggers(resources, global_template, regions), *_calls(resources, regions), *_dns(regions)]
    unique = {tuple(sorted(row.items())): row for row in rows}
    return sorted(unique.values(), key=lambda r: (r["component"], r["needs"], r["where"], r["when"]))


def primary_dependencies(rows: list[Row]) -> list[Row]:
    """The rows a failover cannot do without that live in the primary region (empty when statically stable)."""
    return [r for r in rows if r["where"] == "primary" and r["when"] == "failover"]


def _row(component: str, needs: str, where: str, regions: Mapping[str, str], when: str = "failover") -> Row:
    region = {"dr": regions["secondary"], "primary": regions["primary"], "us-east-1": ROUTE53_CONTROL_REGION}
    return {"component": component, "needs": needs, "where": where, "region": region.get(where, "global"), "when": when}


def _where_us_east_1(regions: Mapping[str, str]) -> str:
    """us-east-1 is the primary itself in some presets: then it is down with the primary."""
    return "primary" if regions["primary"] == ROUTE53_CONTROL_REGION else "us-east-1"


def _triggers(resources: dict[str, Any], global_template: dict[str, Any], regions: Mapping[str, str]) -> list[Row]:
    """The DR region's own rules, plus the forwarded Route 53 health-check alarm (a second trigger)."""
    rows = [
        _row(name, "EventBridge rule starting the state machine", "dr", regions)
        for name, resource in resources.items()
        if resource["Type"] == "AWS::Events::Rule" and "EventPattern" in resource.get("Properties", {})
    ]
    if "ForwardPrimaryHealthAlarm" in global_template.get("Resources", {}):
        rows.append(
            _row(
                "ForwardPrimaryHealthAlarm",
                "Route 53 health-check alarm forwarded from us-east-1",
                _where_us_east_1(regions),
                regions,
                "second way",
            )
        )
    return rows


def _calls(resources: dict[str, Any], regions: Mapping[str, str]) -> Iterator[Row]:
    """What each DR-only role may call (functions, the state machine, triggers), by the region of the target.

    A function whose catalogue entry explains a primary-region use (failback only, switchover only) gets that as
    its own row; any other explained use is best effort.
    """
    for name, resource in sorted(resources.items()):
        if resource["Type"] != "AWS::IAM::Role":
            continue
        component = name.removesuffix("Role")
        reason = _reason(resources.get(f"{component}Function", resource))
        explained = next((when for when in EXPLAINED if reason.startswith(when)), "best effort")
        if reason:
            yield _row(component, reason, "primary", regions, explained)
        for action, targets in _grants(resource):
            for target in targets:  # one statement may name a DR resource and, for failback, a primary one
                where, when = _classify(action, target, regions)
                if where == "primary" and reason:
                    when = explained
                yield _row(component, action, where, regions, when)


def _grants(role: dict[str, Any]) -> Iterator[tuple[str, list[Any]]]:
    """(action, resources) for every action of every statement of the role's inline policies."""
    for policy in role["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            actions, targets = statement["Action"], statement["Resource"]
            for action in actions if isinstance(actions, list) else [actions]:
                yield action, targets if isinstance(targets, list) else [targets]


def _classify(action: str, target: Any, regions: Mapping[str, str]) -> tuple[str, str]:
    """Where the API behind ``action`` on ``target`` is served, and when the failover needs it."""
    if action.startswith("route53:"):
        return _where_us_east_1(regions), "second way"  # the control plane; the data plane is the engaged alarm
    if ":cloudwatch:*:" in json.dumps(target):
        # The Route 53 health-check alarm, read where Route 53 publishes (us-east-1): one signal of several.
        return _where_us_east_1(regions), "second way"
    if _mentions_primary(target):
        return "primary", "failover"
    return "dr", "failover"  # the function's clients call their own region unless the target is elsewhere


def _mentions_primary(value: Any) -> bool:
    if isinstance(value, dict):
        if value.get("Ref") in PRIMARY_PARAMETERS:
            return True
        return any(_mentions_primary(v) for v in value.values())
    if isinstance(value, list):
        return any(_mentions_primary(v) for v in value)
    return isinstance(value, str) and any(f"${{{p}}}" in value for p in PRIMARY_PARAMETERS)


def _reason(resource: dict[str, Any]) -> str:
    metadata = resource.get("Metadata") or {}
    return str(metadata.get(REASON_KEY, "")) if isinstance(metadata, dict) else ""


def _dns(regions: Mapping[str, str]) -> list[Row]:
    """How traffic moves: Route 53's checkers (global) follow the data stream of the DR region's failover-engaged
    alarm, which the DNS step and then the engaged signal publish."""
    return [
        _row(
            "FailoverEngagedAlarm",
            "CloudWatch alarm whose data stream the engaged signal feeds (data layer)",
            "dr",
            regions,
        ),
        _row("PrimaryRecordHealthCheck", "Route 53 health checkers evaluating the PRIMARY record", "global", regions),
    ]
