"""Condition-aware helpers shared by drgen's cfn-lint rules.

One regional drgen template serves both regions, so properties are often wrapped in ``Fn::If`` on
IsPrimary/IsSecondary. A rule must judge each role separately: a cluster that sets MasterUsername only when
it is the primary and GlobalClusterIdentifier only when it is the secondary is fine. ``resolved`` yields a
resource's properties once per satisfiable combination of the conditions it uses (cfn-lint's solver knows
that IsPrimary and IsSecondary exclude each other), with every ``Fn::If`` chosen and ``AWS::NoValue`` dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from cfnlint.rules import RuleMatch
from cfnlint.template import Template

from drgen.bundle.evaluate import Env

Scenario = dict[str, bool]
CfnPath = list[str | int]
Problem = tuple[CfnPath, str, Scenario]  # where, what (with WHEN where the scenario goes), under which conditions

WHEN = "{when}"


def conditions_in(value: Any) -> set[str]:
    """Names of the conditions every ``Fn::If`` below ``value`` tests."""
    found: set[str] = set()
    if isinstance(value, dict):
        branches = value.get("Fn::If")
        if len(value) == 1 and isinstance(branches, list) and len(branches) == 3 and isinstance(branches[0], str):
            found.add(branches[0])
        for item in value.values():
            found |= conditions_in(item)
    elif isinstance(value, list):
        for item in value:
            found |= conditions_in(item)
    return found


def resolve(value: Any, scenario: Scenario) -> Any:
    """``value`` as CloudFormation would see it under ``scenario``: Fn::If chosen, AWS::NoValue removed."""
    return Env({}, assumed=scenario).resolved(value)


def scenarios(cfn: Template, resource: dict[str, Any]) -> list[Scenario]:
    """Every satisfiable truth assignment of the conditions a resource's properties test, its own Condition true."""
    wanted: dict[str, set[bool]] = {name: {True, False} for name in sorted(conditions_in(resource.get("Properties")))}
    own = resource.get("Condition")
    if isinstance(own, str):
        wanted[own] = {True}
    if not wanted:
        return [{}]
    return list(cfn.conditions.build_scenarios(wanted))


def resolved(cfn: Template, resource: dict[str, Any]) -> Iterator[tuple[Scenario, dict[str, Any]]]:
    """(scenario, properties) for each scenario in which the resource exists."""
    properties = resource.get("Properties")
    if not isinstance(properties, dict):
        properties = {}
    for scenario in scenarios(cfn, resource):
        yield scenario, resolve(properties, scenario)


def when(scenarios: Iterable[Scenario]) -> str:
    """' (when IsSecondary)' for messages: the conditions that hold one value in every scenario listed."""
    values: dict[str, set[bool]] = {}
    for scenario in scenarios:
        for name, value in scenario.items():
            values.setdefault(name, set()).add(value)
    fixed = {name: value.pop() for name, value in sorted(values.items()) if len(value) == 1}
    names = [name for name, value in fixed.items() if value] or [f"not {name}" for name in fixed]
    return f" (when {' and '.join(names)})" if names else ""


def may_be_true(value: Any) -> bool:
    """A CloudFormation boolean that is true or cannot be known before deployment (an intrinsic function)."""
    if isinstance(value, dict):
        return True
    return value is True or (isinstance(value, str) and value.lower() == "true")


def describe(value: Any) -> str:
    """A short rendering of a property value for messages (``Ref PeerRegion`` rather than a dict)."""
    if isinstance(value, dict) and list(value) == ["Ref"]:
        return f"Ref {value['Ref']}"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def property_path(resource_name: str, resource: dict[str, Any], key: str) -> CfnPath:
    """Where a property lives, or the nearest enclosing node that exists (for the finding's line)."""
    properties = resource.get("Properties")
    if isinstance(properties, dict) and key in properties:
        return ["Resources", resource_name, "Properties", key]
    if isinstance(properties, dict):
        return ["Resources", resource_name, "Properties"]
    return ["Resources", resource_name]


def unique_matches(problems: Iterable[Problem]) -> list[RuleMatch]:
    """One match per location and message; ``WHEN`` in the message names the scenarios it was found in."""
    grouped: dict[tuple[tuple[str | int, ...], str], list[Scenario]] = {}
    for path, message, scenario in problems:
        grouped.setdefault((tuple(path), message), []).append(scenario)
    return [
        RuleMatch(list(path), message.replace(WHEN, when(found_in))) for (path, message), found_in in grouped.items()
    ]
