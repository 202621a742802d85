"""The one evaluator of a template's conditions and intrinsic functions, as one stack will see them.

An ``Env`` is one template seen from one stack (its parameter values and region), from no stack at all
(everything symbolic), or under assumed condition values (lint judges each satisfiable combination).
``condition`` decides a named condition: True, False or None when it depends on a value only known at deploy
time. ``deployed`` says whether a resource exists there, ``resolved`` gives a property value with the decided
``Fn::If`` branches taken, render-time parameters filled in and ``AWS::NoValue`` removed (CloudFormation's
rule: "removes the corresponding resource property when specified as a return value in Fn::If", Pseudo
parameters reference), ``known`` a value as text when it is fully decided, and ``show`` any value as short text
a reviewer reads: ``${AWS::Region}`` becomes the stack's region, a reference to a resource its logical id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from drgen.bundle.manifest import StackEntry

NO_VALUE = "AWS::NoValue"
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
_DROPPED = object()  # what ``{"Ref": "AWS::NoValue"}`` resolves to: the property is removed


@dataclass
class Env:
    """A template, optionally bound to one stack (parameter values, region) or to assumed condition values."""

    template: dict[str, Any]
    stack: StackEntry | None = None
    assumed: Mapping[str, bool] = field(default_factory=dict)
    _decided: dict[str, bool | None] = field(default_factory=dict)

    # -- values -----------------------------------------------------------------------------------------
    def known(self, value: Any) -> str | None:
        """The value as text when it is fully decided in this stack, else None."""
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, str | int | float):
            return str(value)
        if not isinstance(value, dict) or len(value) != 1:
            return None
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return self._parameter(arg)
        if fn == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
            return self._sub_known(text, variables)
        if fn == "Fn::If":
            decided = self.condition(arg[0])
            return None if decided is None else self.known(arg[1] if decided else arg[2])
        if fn == "Fn::Join":
            parts = [self.known(v) for v in arg[1]] if isinstance(arg[1], list) else [None]
            return None if any(p is None for p in parts) else str(arg[0]).join(p for p in parts if p is not None)
        return None

    def _parameter(self, name: Any) -> str | None:
        if name == "AWS::Region":
            return self.stack.region if self.stack else None
        if name == "AWS::Partition" and self.stack:
            return "aws"
        if name == "AWS::AccountId" and self.stack:
            return "${AWS::AccountId}"  # the target account is unknown at render: the same in every stack
        if not isinstance(name, str) or name not in self.template.get("Parameters", {}):
            return None
        if self.stack is None:
            return None
        if name in self.stack.inputs:
            return None  # fed from another stack's output at deploy time
        if name in self.stack.parameters:
            return str(self.stack.parameters[name])
        default = self.template["Parameters"][name].get("Default")
        return None if default is None else str(default)

    def _sub_known(self, text: str, variables: dict[str, Any]) -> str | None:
        missing = False

        def replace(match: re.Match[str]) -> str:
            nonlocal missing
            name = match.group(1)
            value = self.known(variables[name]) if name in variables else self._parameter(name)
            if value is None:
                missing = True
                return match.group(0)
            return value

        result = _SUB_VARIABLE.sub(replace, text)
        return None if missing else result

    def show(self, value: Any) -> str:
        """Any property value as short, readable text (decided parts resolved, the rest symbolic)."""
        decided = self.known(value)
        if decided is not None:
            return decided
        if isinstance(value, list):
            return ", ".join(s for s in (self.show(v) for v in value) if s)
        if not isinstance(value, dict):
            return "" if value is None else str(value)
        if not _intrinsic(value):
            return json.dumps(self.expand(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        ((fn, arg),) = value.items()
        return self._show_function(fn, arg)

    def expand(self, value: Any) -> Any:
        """A JSON structure with every intrinsic function replaced by its text (decided branches taken)."""
        if isinstance(value, list):
            return [self.expand(v) for v in value]
        if isinstance(value, dict):
            if _intrinsic(value):
                if "Fn::If" in value and self.condition(value["Fn::If"][0]) is not None:
                    taken = value["Fn::If"][1 if self.condition(value["Fn::If"][0]) else 2]
                    return self.expand(taken)
                return self.show(value)
            return {k: self.expand(v) for k, v in value.items()}
        return value

    def _show_function(self, fn: str, arg: Any) -> str:
        if fn == "Ref":
            if arg == NO_VALUE:
                return ""
            return str(arg) if arg in self.template.get("Resources", {}) else "${" + str(arg) + "}"
        if fn == "Fn::GetAtt":
            return ".".join(arg) if isinstance(arg, list) else str(arg)
        if fn == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
            return _SUB_VARIABLE.sub(lambda m: self._sub_part(m, variables), text)
        if fn == "Fn::If":
            decided = self.condition(arg[0])
            if decided is not None:
                return self.show(arg[1] if decided else arg[2])
            return f"{arg[0]} ? {self.show(arg[1]) or '(none)'} : {self.show(arg[2]) or '(none)'}"
        if fn == "Fn::Join" and isinstance(arg[1], list):
            return str(arg[0]).join(self.show(v) for v in arg[1])
        return f"{fn.removeprefix('Fn::')}({self.show(arg)})"

    def _sub_part(self, match: re.Match[str], variables: dict[str, Any]) -> str:
        name = match.group(1)
        if name in variables:
            return self.show(variables[name])
        return self._parameter(name) or match.group(0)

    # -- conditions ---------------------------------------------------------------------------------------
    def condition(self, name: str) -> bool | None:
        """Whether the template's condition ``name`` holds in this stack (None: decided only at deploy time)."""
        if name in self.assumed:
            return self.assumed[name]
        if name not in self._decided:
            self._decided[name] = None  # guards against (invalid) self-referencing conditions
            expression = self.template.get("Conditions", {}).get(name)
            self._decided[name] = None if expression is None else self._decide(expression)
        return self._decided[name]

    def _decide(self, expression: Any) -> bool | None:
        if not isinstance(expression, dict) or len(expression) != 1:
            return None
        ((fn, arg),) = expression.items()
        if fn == "Condition":
            return self.condition(arg)
        if fn == "Fn::Equals":
            left, right = (self.known(v) for v in arg)
            return None if left is None or right is None else left == right
        if fn == "Fn::Not":
            inner = self._decide(arg[0])
            return None if inner is None else not inner
        if fn in ("Fn::And", "Fn::Or"):
            return _combine(fn == "Fn::And", [self._decide(a) for a in arg])
        return None

    def deployed(self, resource: dict[str, Any]) -> bool | None:
        """Whether a resource exists in this stack (its Condition), None when decided only at deploy time."""
        condition = resource.get("Condition")
        return True if condition is None else self.condition(condition)

    def resources(self, rtype: str | None = None) -> dict[str, dict[str, Any]]:
        """Resources (of ``rtype``) that may exist in this stack: a deploy-time condition counts as present."""
        return {
            logical_id: resource
            for logical_id, resource in sorted(self.template.get("Resources", {}).items())
            if (rtype is None or resource.get("Type") == rtype) and self.deployed(resource) is not False
        }

    # -- resolved values ----------------------------------------------------------------------------------
    def resolved(self, value: Any) -> Any:
        """``value`` as the stack sees it: decided ``Fn::If`` taken, render-time parameters filled in, NoValue
        gone (None when the whole value is NoValue).

        Everything else (references to resources, values fed from other stacks) stays as written, so it compares
        equal exactly when the template wrote the same thing.
        """
        found = self._resolved(value)
        return None if found is _DROPPED else found

    def _resolved(self, value: Any) -> Any:
        if isinstance(value, list):
            return [r for r in (self._resolved(v) for v in value) if r is not _DROPPED]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((fn, arg),) = value.items()
            if fn == "Ref" and arg == NO_VALUE:
                return _DROPPED
            if fn == "Fn::If" and isinstance(arg, list) and len(arg) == 3:
                decided = self.condition(arg[0])
                if decided is not None:
                    return self._resolved(arg[1] if decided else arg[2])
            if fn in ("Ref", "Fn::Sub", "Fn::Join"):
                known = self.known(value)
                if known is not None:
                    return known
        return {k: r for k, v in value.items() if (r := self._resolved(v)) is not _DROPPED}

    def branch(self, value: Any) -> Any:
        """The branch an ``Fn::If`` takes in this stack (the value itself when it is not one, or is undecided)."""
        while isinstance(value, dict) and list(value) == ["Fn::If"]:
            decided = self.condition(value["Fn::If"][0])
            if decided is None:
                return value
            value = value["Fn::If"][1 if decided else 2]
        return value

    def scalar(self, value: Any) -> Any:
        """A literal as written (a number stays a number), else the value as text when it is decided here, else
        None (it depends on something only known at deploy time)."""
        value = self.branch(value)
        return value if isinstance(value, str | int | float | bool) else self.known(value)


def _intrinsic(value: dict[str, Any]) -> bool:
    return len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref", "Condition"))


def _combine(conjunction: bool, parts: list[bool | None]) -> bool | None:
    """Three-valued And/Or: a decisive part decides; otherwise unknown parts leave the result unknown."""
    decisive = not conjunction
    if decisive in parts:
        return decisive
    return None if None in parts else conjunction


def references(value: Any) -> set[str]:
    """Logical ids and parameter names a value refers to (Ref, GetAtt, and ${...} inside Sub)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for fn, arg in value.items():
            if fn == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif fn == "Fn::GetAtt":
                found.add(arg[0] if isinstance(arg, list) else str(arg).split(".")[0])
            elif fn == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                found |= {m.group(1).split(".")[0] for m in _SUB_VARIABLE.finditer(text)} - set(variables)
                found |= references(variables)
            else:
                found |= references(arg)
    return found
