"""What the cost estimate counts with: usages that add up across the stacks of a place, values traced across stacks.

The readers of each concern (drgen/review/cost_network.py, cost_compute.py, cost_data.py, cost_monitoring.py) call
``Reader.add`` for what bills by the hour or the month and ``Reader.note_usage`` for what only bills with traffic;
``Reader.lines`` turns what they counted into priced lines, each rounded to cents once. The small helpers below read
a template's properties the same way in every concern.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from drgen.bundle.evaluate import NO_VALUE, Env
from drgen.bundle.manifest import StackEntry
from drgen.bundle.reader import ROLE_ORDER, RenderedBundle
from drgen.lambda_code import contract
from drgen.review.cost_model import Line, PriceTable, cents

ORDER = {
    "nat": 10,
    "ipv4": 11,
    "endpoint": 12,
    "alb": 20,
    "lcu": 21,
    "fargate": 30,
    "ec2": 31,
    "aurora": 40,
    "acu": 41,
    "lambda": 50,
    "requests": 51,
    "dynamodb": 60,
    "s3": 61,
    "rtc": 62,
    "healthcheck": 70,
    "zone": 71,
    "kms": 80,
    "secret": 81,
    "alarm": 90,
    "alarm_hr": 91,
    "composite": 92,
    "dashboard": 93,
    "arc": 95,
    "unpriced": 99,
}


# The deployed resources of one stack of the given types, as (logical id, resource), sorted by logical id.
OfType = Callable[..., list[tuple[str, dict[str, Any]]]]


@dataclass
class Usage:
    """One line while it is being counted: quantities add up across the stacks of a place."""

    place: str
    region: str
    role: str
    item: str
    unit: str
    unit_usd: Decimal
    source: str
    order: int
    kind: str = ""
    priced: bool = True
    idle: Decimal = Decimal(0)
    failover: Decimal = Decimal(0)
    details: list[str] = field(default_factory=list)


class Reader:
    """The bundle, the price table, and what has been counted so far (and what was counted undecided)."""

    def __init__(self, bundle: RenderedBundle, prices: PriceTable) -> None:
        self.bundle = bundle
        self.prices = prices
        self.usages: dict[tuple[str, str], Usage] = {}
        self.undecided: list[str] = []

    # -- accumulation ----------------------------------------------------------------------------------------
    def add(
        self,
        stack: StackEntry,
        key: str,
        item: str,
        idle: Decimal | int,
        failover: Decimal | int | None = None,
        *,
        detail: str = "",
        kind: str = "",
        order: str,
        price_kind: str | None = None,
        unit_usd: Decimal | None = None,
        unit: str | None = None,
    ) -> None:
        """Count ``idle`` (and ``failover``, default the same) units of ``item`` at the price ``key``
        (``unit_usd`` and ``unit``: a price composed from the table's, e.g. a Fargate task's)."""
        found = self.prices.price(key, price_kind)
        priced = found is not None
        if unit_usd is None:
            unit_usd = self.prices.monthly(key, price_kind) if found is not None else Decimal(0)
        if unit is None:
            unit = _unit(found.unit, found.per) if found is not None else "unit-month"
        usage = self._usage(
            stack,
            item,
            detail,
            unit=unit,
            unit_usd=unit_usd,
            source=found.source if found else "",
            order=ORDER[order] if priced else ORDER["unpriced"],
            kind=kind,
            priced=priced,
        )
        usage.idle += Decimal(idle)
        usage.failover += Decimal(idle if failover is None else failover)

    def note_usage(self, stack: StackEntry, key: str, item: str, detail: str, order: str) -> None:
        """A per-use price: shown with what it applies to, adding nothing to the monthly totals."""
        found = self.prices.price(key)
        if found is None:
            return
        self._usage(
            stack,
            item,
            detail,
            unit=found.unit,
            unit_usd=found.usd,
            source=found.source,
            order=ORDER[order],
            kind="usage",
        )

    def _usage(
        self,
        stack: StackEntry,
        item: str,
        detail: str,
        *,
        unit: str,
        unit_usd: Decimal,
        source: str,
        order: int,
        kind: str,
        priced: bool = True,
    ) -> Usage:
        """The usage of ``item`` in ``stack``'s place (its first count sets unit and price), with ``detail`` noted."""
        line_key = (stack.label, item)
        usage = self.usages.get(line_key)
        if usage is None:
            usage = self.usages[line_key] = Usage(
                place=stack.label,
                region=stack.region,
                role=stack.role,
                item=item,
                unit=unit,
                unit_usd=unit_usd,
                source=source,
                order=order,
                kind=kind,
                priced=priced,
            )
        if detail and detail not in usage.details:
            usage.details.append(detail)
        return usage

    # -- values traced across stacks ---------------------------------------------------------------------------
    def count_items(self, stack: StackEntry, env: Env, value: Any, depth: int = 0) -> int | None:
        """How many items a list-valued property holds (subnets), tracing parameters to the stack that feeds them."""
        if depth > 4 or value is None:
            return None
        if isinstance(value, list):
            return sum(1 for v in value if v != {"Ref": NO_VALUE})
        if isinstance(value, dict) and len(value) == 1:
            ((fn, arg),) = value.items()
            if fn == "Fn::Split" and isinstance(arg, list) and len(arg) == 2:
                return self.count_items(stack, env, arg[1], depth + 1)
            if fn == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
                return self.count_items(stack, env, arg[1], depth + 1)
            if fn == "Ref" and isinstance(arg, str) and arg in stack.inputs:
                source = stack.inputs[arg]
                upstream = self.bundle.stack(source.get("stack", ""))
                template = self.bundle.templates.get(upstream.template) if upstream else None
                output = (template or {}).get("Outputs", {}).get(source.get("output", ""), {})
                if upstream is None or template is None or "Value" not in output:
                    return None
                return self.count_items(upstream, Env(template, upstream), output["Value"], depth + 1)
        known = env.known(value)
        return len([part for part in known.split(",") if part]) if known else None

    @functools.cached_property
    def active_capacity(self) -> int | None:
        """ACTIVE_CAPACITY of the failover's scale step (the DR orchestration layer), None when there is none."""
        for stack in self.bundle.stacks:
            template = self.bundle.templates.get(stack.template) or {}
            if stack.role != "secondary":
                continue
            env = Env(template, stack)
            for resource in template.get("Resources", {}).values():
                variables = (properties(resource).get("Environment") or {}).get("Variables") or {}
                if resource.get("Type") == "AWS::Lambda::Function" and contract.ACTIVE_CAPACITY in variables:
                    value = env.known(variables[contract.ACTIVE_CAPACITY])
                    if env.deployed(resource) is not False and value and value.isdigit():
                        return int(value)
        return None

    def failover_capacity(self, stack: StackEntry, idle: int, logical_id: str, prop: str) -> int:
        """What a DR compute resource runs after the failover's scale step (it only ever grows capacity)."""
        if stack.role != "secondary":
            return idle
        active = self.active_capacity
        if active is None:  # no scale step found: the count the same template gives the primary
            primary = next((s for s in self.bundle.stacks_of(stack.template) if s.role == "primary"), None)
            template = self.bundle.templates.get(stack.template) or {}
            resource = template.get("Resources", {}).get(logical_id, {})
            if primary is not None:
                active = integer(Env(template, primary).known(properties(resource).get(prop)), default=idle)
        return max(idle, active or idle)

    # -- result --------------------------------------------------------------------------------------------------
    def lines(self) -> list[Line]:
        """What was counted, priced and rounded to cents per line, in the order the review lists them."""
        lines = []
        for usage in self.usages.values():
            idle = cents(usage.idle * usage.unit_usd) if usage.kind != "usage" else Decimal("0.00")
            failover = cents(usage.failover * usage.unit_usd) if usage.kind != "usage" else Decimal("0.00")
            lines.append(
                Line(
                    place=usage.place,
                    region=usage.region,
                    role=usage.role,
                    item=usage.item,
                    unit=usage.unit,
                    quantity_idle=usage.idle,
                    quantity_failover=usage.failover,
                    unit_usd=usage.unit_usd,
                    idle_usd=idle,
                    failover_usd=failover,
                    detail="; ".join(usage.details),
                    source=usage.source,
                    kind=usage.kind,
                    priced=usage.priced,
                    order=usage.order,
                )
            )
        lines.sort(key=lambda line: (ROLE_ORDER.get(line.role, 9), line.region, line.order, line.item))
        return lines


# -- small helpers --------------------------------------------------------------------------------------------------
def properties(resource: Any) -> dict[str, Any]:
    """A resource's Properties ({} when it has none)."""
    props = resource.get("Properties") if isinstance(resource, dict) else None
    return props if isinstance(props, dict) else {}


def referenced(value: Any) -> str | None:
    """The logical id a Ref or GetAtt names."""
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref" and isinstance(arg, str):
            return arg
        if fn == "Fn::GetAtt":
            return arg[0] if isinstance(arg, list) else str(arg).split(".")[0]
    return None


def integer(text: str | None, default: int) -> int:
    """``text`` as a whole number, ``default`` when it is absent or not a number."""
    try:
        return int(float(text)) if text is not None else default
    except ValueError:
        return default


def _unit(unit: str, per: str) -> str:
    """A price's unit as the lines count it: hourly prices are shown per month."""
    if per == "hour":
        return unit.replace("-hour", "-month", 1) if "-hour" in unit else f"{unit} (month)"
    return unit
