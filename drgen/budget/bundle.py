"""The bundle as the budget reads it: the manifest, each template, and a value as one stack resolves it.

The budget reads values from the rendered templates, not from the scenario, so that what it reports is what
CloudFormation deploys (and a hand-edited template shows up in it). Values that depend on the stack's role
(``Fn::If`` on IsPrimary/IsSecondary) or region (``${AWS::Region}`` in a name) are resolved for one stack.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from drgen.errors import DrgenError

MANIFEST = "manifest.json"
ROLE_CONDITIONS = {"IsPrimary": "primary", "IsSecondary": "secondary"}


@dataclass(frozen=True)
class Stack:
    """One stack of the manifest with its template document."""

    name: str
    layer: str
    role: str
    region: str
    template: str
    document: dict[str, Any]

    def resources(self, rtype: str) -> dict[str, dict[str, Any]]:
        """Resources of ``rtype`` this stack creates (a resource conditioned on the other role is left out)."""
        found = {}
        for logical_id, resource in self.document.get("Resources", {}).items():
            condition = resource.get("Condition")
            if resource.get("Type") == rtype and ROLE_CONDITIONS.get(condition, self.role) == self.role:
                found[logical_id] = resource
        return dict(sorted(found.items()))

    def resource(self, logical_id: str) -> dict[str, Any] | None:
        return self.document.get("Resources", {}).get(logical_id)

    def require(self, logical_id: str) -> dict[str, Any]:
        """The resource ``logical_id``, which the stack's own references promise."""
        found = self.resource(logical_id)
        if found is None:
            raise DrgenError(f"{self.name}: no resource {logical_id}, though the template refers to it; render again")
        return found

    def resolve(self, value: Any) -> Any:
        """``value`` as this stack sees it; None when it depends on something only known at deploy time."""
        if isinstance(value, str | int | float | bool):
            return value
        if isinstance(value, dict) and len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Fn::If" and argument[0] in ROLE_CONDITIONS:
                return self.resolve(argument[1] if ROLE_CONDITIONS[argument[0]] == self.role else argument[2])
            if function == "Fn::Sub" and isinstance(argument, str):
                text = argument.replace("${AWS::Region}", self.region)
                return None if "${" in text else text
        return None

    def resolve_deep(self, value: Any) -> Any:
        """``value`` with every role condition (``Fn::If`` on IsPrimary/IsSecondary) decided for this stack and
        ``AWS::NoValue`` as None; other intrinsic functions stay as they are."""
        if isinstance(value, list):
            return [self.resolve_deep(v) for v in value]
        if not isinstance(value, dict):
            return value
        if value == {"Ref": "AWS::NoValue"}:
            return None
        branch = value.get("Fn::If")
        if len(value) == 1 and isinstance(branch, list) and branch[0] in ROLE_CONDITIONS:
            return self.resolve_deep(branch[1] if ROLE_CONDITIONS[branch[0]] == self.role else branch[2])
        return {k: self.resolve_deep(v) for k, v in value.items()}

    def source(self, logical_id: str, prop: str) -> dict[str, str]:
        """Where a term comes from: stack, template, resource and property."""
        return {"stack": self.name, "template": self.template, "resource": logical_id, "property": prop}


@dataclass(frozen=True)
class BundleDocs:
    manifest: dict[str, Any]
    stacks: tuple[Stack, ...]

    def stack(self, layer: str, role: str) -> Stack | None:
        return next((s for s in self.stacks if s.layer == layer and s.role == role), None)

    def alarms(self) -> dict[str, tuple[Stack, str, dict[str, Any]]]:
        """Every CloudWatch alarm by the name it gets in its stack -> (stack, logical id, properties)."""
        found = {}
        for stack in self.stacks:
            for logical_id, resource in stack.resources("AWS::CloudWatch::Alarm").items():
                properties = resource.get("Properties", {})
                name = stack.resolve(properties.get("AlarmName"))
                if isinstance(name, str):
                    found[name] = (stack, logical_id, properties)
        return found


def read(files: dict[str, bytes]) -> BundleDocs:
    """Parse the manifest and every template it names; DrgenError when the files are not a bundle."""
    if MANIFEST not in files:
        raise DrgenError(f"not a rendered bundle (no {MANIFEST}); run `drgen render` first")
    try:
        manifest = json.loads(files[MANIFEST])
        documents = {path: json.loads(files[path]) for path in sorted({s["template"] for s in manifest["stacks"]})}
        stacks = tuple(
            Stack(s["name"], s["layer"], s["role"], s["region"], s["template"], documents[s["template"]])
            for s in manifest["stacks"]
        )
    except (KeyError, TypeError, ValueError) as error:
        raise DrgenError(f"the bundle is incomplete or not drgen's ({error}); render it again") from error
    return BundleDocs(manifest=manifest, stacks=stacks)


def amount(value: Any) -> int | float:
    """``number``, where the budget computes with it: a template without it is not one drgen rendered."""
    found = number(value)
    if found is None:
        raise DrgenError(f"a template number is missing or not a number ({value!r}); render the bundle again")
    return found


def number(value: Any) -> int | float | None:
    """A template number (CloudFormation accepts "30" for 30) as int or float; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            parsed = float(value)
        except ValueError:
            return None
        return int(parsed) if parsed.is_integer() else parsed
    return None
