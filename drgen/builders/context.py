"""What every builder receives: the scenario, its names, and the template being built.

One regional template serves both regions: its ``Role`` parameter (primary|secondary) drives the
IsPrimary/IsSecondary conditions, and ``PeerRegion`` names the other side. Values produced by another
stack enter as parameters declared with ``input()``; the manifest records where each comes from, and the
deployer feeds the output in (CloudFormation exports do not cross regions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from troposphere import AWSObject, Equals, Output, Parameter, Ref, Template

from drgen.bundle.manifest import LayerName
from drgen.naming import Names
from drgen.scenario.model import Role, Scenario

IS_PRIMARY = "IsPrimary"
IS_SECONDARY = "IsSecondary"


@dataclass(frozen=True)
class OutputRef:
    """An output of another stack in the plan, named by layer and role."""

    layer: LayerName
    role: Role
    output: str


@dataclass
class StackContext:
    scenario: Scenario
    names: Names
    layer: LayerName
    regional: bool
    template: Template = field(default_factory=Template)
    # parameter -> {consumer role -> the output that feeds it}
    inputs: dict[str, dict[Role, OutputRef]] = field(default_factory=dict)
    # parameter -> {consumer role -> value known at render time}
    values: dict[str, dict[Role, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.regional:
            self.parameter(
                "Role",
                "Which side of the DR pair this stack plays.",
                allowed=["primary", "secondary"],
                values={Role.PRIMARY: "primary", Role.SECONDARY: "secondary"},
            )
            self.parameter(
                "PeerRegion",
                "The other region of the DR pair.",
                values={
                    Role.PRIMARY: self.scenario.regions.secondary,
                    Role.SECONDARY: self.scenario.regions.primary,
                },
            )
            self.template.add_condition(IS_PRIMARY, Equals(Ref("Role"), "primary"))
            self.template.add_condition(IS_SECONDARY, Equals(Ref("Role"), "secondary"))

    # -- resources -----------------------------------------------------------------------------------
    def add(self, resource: AWSObject) -> Any:
        return self.template.add_resource(resource)

    def condition(self, name: str, expression: Any) -> str:
        if name not in self.template.conditions:
            self.template.add_condition(name, expression)
        return name

    # -- parameters ----------------------------------------------------------------------------------
    def parameter(
        self,
        name: str,
        description: str,
        *,
        type: str = "String",
        default: str | None = None,
        allowed: list[str] | None = None,
        values: dict[Role, str] | None = None,
    ) -> Ref:
        """A parameter whose value drgen knows at render time (per role when ``values`` is given)."""
        if name not in self.template.parameters:
            kwargs: dict[str, Any] = {"Type": type, "Description": description}
            if default is not None:
                kwargs["Default"] = default
            if allowed:
                kwargs["AllowedValues"] = allowed
            self.template.add_parameter(Parameter(name, **kwargs))
        if values:
            self.values[name] = dict(values)
        return Ref(name)

    def input(self, name: str, description: str, sources: dict[Role, OutputRef]) -> Ref:
        """A parameter fed at deploy time from another stack's output (for the roles in ``sources``).

        Roles without a source get an explicit empty value in the manifest; the template only reads the
        parameter under a condition that holds for the roles that have one. No Default: an empty default
        would be checked (and flagged) against every property the parameter feeds.
        """
        self.parameter(name, description)
        self.inputs.setdefault(name, {}).update(sources)
        roles = (Role.PRIMARY, Role.SECONDARY) if self.regional else (Role.GLOBAL,)
        unfed = {role: "" for role in roles if role not in self.inputs[name]}
        if unfed:
            self.values.setdefault(name, {}).update(unfed)
        else:
            self.values.pop(name, None)
        return Ref(name)

    def same_region(self, layer: LayerName, output: str, description: str) -> Ref:
        """A value from the stack of ``layer`` in this stack's own region (both roles)."""
        roles = (Role.PRIMARY, Role.SECONDARY) if self.regional else (Role.GLOBAL,)
        return self.input(output, description, {r: OutputRef(layer, r, output) for r in roles})

    # -- outputs -------------------------------------------------------------------------------------
    def output(self, name: str, value: Any, description: str, condition: str | None = None) -> None:
        kwargs: dict[str, Any] = {"Value": value, "Description": description}
        if condition:
            kwargs["Condition"] = condition
        self.template.add_output(Output(name, **kwargs))
