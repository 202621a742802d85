"""What warm standby would give a pilot-light bundle: the RTO without the scale-out, and what it costs.

Warm standby (scenario ``compute.standby: warm``) runs the active capacity in the DR region all the time, so
the recover phase loses its capacity branch. The cost is the extra tasks or instances around the clock, priced
from the template's own task size or instance type at AWS's published on-demand list prices in us-east-1
(other regions differ, most by 10-30 %); an instance type not in the table is given in instance-hours only.
The prices are the review's dated price table (drgen/review/prices.json), the one table drgen prices from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from drgen.budget.model import Term, rto_total
from drgen.budget.rto import CAPACITY, active_capacity
from drgen.budget.views import BundleDocs, Stack, number
from drgen.bundle.manifest import LayerName


def _prices() -> Any:
    """The shared price table. Imported when used: drgen.review must not load while drgen.budget initialises."""
    from drgen.review.cost_model import price_table

    return price_table()


def warm_standby(docs: BundleDocs, terms: Sequence[Term]) -> dict[str, Any] | None:
    """The warm-standby alternative of a bundle whose failover scales the DR compute out; None otherwise."""
    if not any(t.branch == CAPACITY for t in terms):
        return None
    app, orch = docs.stack(LayerName.APP, "secondary"), docs.stack(LayerName.ORCHESTRATION, "secondary")
    active = active_capacity(orch) if orch else None
    if app is None or active is None:
        return None
    warm = rto_total([t for t in terms if t.branch != CAPACITY])
    sooner = rto_total(terms) - warm
    extra, unit, hourly, source = _extra_units(app, active)
    result: dict[str, Any] = {
        "choice": "compute.standby: warm",
        "rto_seconds": int(warm) if float(warm).is_integer() else warm,
        "capacity_branch_seconds": 0,
        "sooner_seconds": int(sooner) if float(sooner).is_integer() else sooner,
        "runs_more": f"{extra} x {unit} around the clock",
        "price_source": source,
    }
    if hourly is not None:
        result["monthly_usd_us_east_1"] = round(extra * hourly * _prices().hours_per_month, 2)
    return result


def _extra_units(app: Stack, active: int) -> tuple[int | float, str, float | None, str]:
    """How many more tasks or instances warm standby runs, what one is, its hourly list price, the price page."""
    prices = _prices()
    services = app.resources("AWS::ECS::Service")
    if services:
        service = next(iter(services.values()))["Properties"]
        standby = number(app.resolve(service.get("DesiredCount"))) or 0
        task = next(iter(app.resources("AWS::ECS::TaskDefinition").values()))["Properties"]
        vcpu = (number(task.get("Cpu")) or 0) / 1024
        gib = (number(task.get("Memory")) or 0) / 1024
        hourly = vcpu * float(prices.usd("fargate_vcpu")) + gib * float(prices.usd("fargate_gb"))
        return (
            active - standby,
            f"Fargate task ({vcpu:g} vCPU, {gib:g} GB)",
            hourly,
            prices.source("fargate_vcpu"),
        )
    group = next(iter(app.resources("AWS::AutoScaling::AutoScalingGroup").values()))["Properties"]
    standby = number(app.resolve(group.get("DesiredCapacity"))) or 0
    template = next(iter(app.resources("AWS::EC2::LaunchTemplate").values()))["Properties"]
    instance_type = str(template["LaunchTemplateData"].get("InstanceType"))
    price = prices.price("ec2_instance", instance_type)
    instance_hourly = float(price.usd) if price is not None else None
    return active - standby, f"{instance_type} instance", instance_hourly, prices.source("ec2_instance", instance_type)
