"""The bundle as the budget reads it: each stack's template, and a value as that stack resolves it.

The budget reads values from the rendered templates, not from the scenario, so that what it reports is what
CloudFormation deploys. Values that depend on the stack's role (``Fn::If`` on IsPrimary/IsSecondary) or region
(``${AWS::Region}`` in a name) are resolved for one stack by the bundle's one evaluator.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from drgen.bundle.evaluate import Env
from drgen.bundle.manifest import StackEntry
from drgen.bundle.reader import RenderedBundle, from_files
from drgen.errors import DrgenError


@dataclass(frozen=True)
class Stack:
    """One stack of the manifest with its template document."""

    entry: StackEntry
    document: dict[str, Any]

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def layer(self) -> str:
        return self.entry.layer

    @property
    def role(self) -> str:
        return self.entry.role

    @property
    def region(self) -> str:
        return self.entry.region

    @property
    def template(self) -> str:
        return self.entry.template

    @cached_property
    def env(self) -> Env:
        return Env(self.document, self.entry)

    def resources(self, rtype: str) -> dict[str, dict[str, Any]]:
        """Resources of ``rtype`` this stack creates (a resource conditioned on the other role is left out)."""
        return self.env.resources(rtype)

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
        return self.env.scalar(value)

    def resolve_deep(self, value: Any) -> Any:
        """``value`` with every decided ``Fn::If`` taken and ``AWS::NoValue`` removed; the rest as written."""
        return self.env.resolved(value)

    def source(self, logical_id: str, prop: str) -> dict[str, str]:
        """Where a term comes from: stack, template, resource and property."""
        return {"stack": self.name, "template": self.template, "resource": logical_id, "property": prop}


@dataclass(frozen=True)
class BundleDocs:
    bundle: RenderedBundle
    stacks: tuple[Stack, ...]

    @property
    def manifest(self) -> dict[str, Any]:
        return self.bundle.manifest.document

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
    """The bundle's stacks with their templates; DrgenError when the files are not a bundle."""
    bundle = from_files(files, "the bundle")
    return BundleDocs(bundle, tuple(Stack(entry, bundle.document(entry)) for entry in bundle.stacks))


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
