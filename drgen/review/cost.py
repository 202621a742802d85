"""What a rendered bundle costs a month, idle and at failover: an estimate from the shipped, dated price table.

The estimate reads the rendered templates the way CloudFormation deploys them in each stack: a resource whose
Condition is false there is not counted (the standby's single NAT gateway, Aurora instances only on their side,
the DR-only failover machinery), and counts such as an ECS service's DesiredCount take the value their Fn::If
gives in that stack. It counts what bills by the hour or the month whether or not traffic flows (NAT gateways,
public IPv4 addresses, interface endpoints per AZ, load balancers, Aurora instances or ACUs, Fargate tasks, EC2
instances, scheduled Lambda runs, Route 53 health checks, KMS keys, secrets, alarms, dashboards, an ARC Region
switch plan) and shows the per-use prices of what only bills with traffic (DynamoDB on demand, S3 replication
and RTC) without adding them up.

Two columns: idle is the primary as deployed and the DR region at its standby capacity; at failover the DR region
runs its active capacity (what the failover's scale step sets: ACTIVE_CAPACITY of the orchestration layer) and
its Aurora Serverless v2 capacity is taken at its maximum. The primary's lines are the same in both columns.
Prices are us-east-1 list prices, applied to every region.

The counting is split by concern: drgen/review/cost_reader.py (what lines add up to, values traced across stacks),
cost_network.py, cost_compute.py (with the schedule arithmetic), cost_data.py, cost_monitoring.py; the review
section is cost_report.py, the price table and the Line and Estimate shapes cost_model.py. This module reads each
stack as CloudFormation deploys it, hands it to each concern, and states the assumptions every estimate carries.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drgen.bundle.evaluate import Env
from drgen.bundle.manifest import StackEntry
from drgen.bundle.reader import RenderedBundle
from drgen.review.cost_compute import (
    LAMBDA_DEFAULT_MEMORY,
    LAMBDA_DEFAULT_TIMEOUT,
    containers,
    functions,
    instances,
    runs_per_month,
)
from drgen.review.cost_data import databases, tables_and_buckets
from drgen.review.cost_model import Estimate, Line, PriceTable, price_table, price_text
from drgen.review.cost_monitoring import HIGH_RESOLUTION_SECONDS, security_and_monitoring
from drgen.review.cost_network import ALB_IDLE_LCU, ALB_MIN_SUBNETS, load_balancers, network, routing
from drgen.review.cost_reader import ORDER, Reader
from drgen.review.cost_report import section

__all__ = [
    "ALB_IDLE_LCU",
    "ALB_MIN_SUBNETS",
    "HIGH_RESOLUTION_SECONDS",
    "LAMBDA_DEFAULT_MEMORY",
    "LAMBDA_DEFAULT_TIMEOUT",
    "ORDER",
    "Estimate",
    "Line",
    "PriceTable",
    "estimate",
    "price_table",
    "runs_per_month",
    "section",
]


def estimate(bundle: RenderedBundle, prices: PriceTable | None = None) -> Estimate:
    """The monthly estimate of ``bundle``: lines per place and item, idle and at failover, from the price table."""
    reader = Reader(bundle, prices or price_table())
    for stack in bundle.stacks:
        template = bundle.templates.get(stack.template)
        if template is not None:
            _read_stack(reader, stack, template)
    lines = reader.lines()
    return Estimate(
        lines=tuple(lines),
        idle_monthly_usd=sum((line.idle_usd for line in lines), Decimal("0.00")),
        failover_monthly_usd=sum((line.failover_usd for line in lines), Decimal("0.00")),
        as_of=reader.prices.as_of,
        price_region=reader.prices.region,
        notes=tuple(_notes(reader.prices, lines, reader.undecided)),
    )


def _read_stack(reader: Reader, stack: StackEntry, template: dict[str, Any]) -> None:
    """Count what ``stack`` deploys of ``template``: a resource whose condition is false there is left out."""
    env = Env(template, stack)
    resources: dict[str, dict[str, Any]] = {}
    for logical_id, resource in sorted(template.get("Resources", {}).items()):
        deployed = env.deployed(resource)
        if deployed is None:
            reader.undecided.append(f"{stack.name}/{logical_id}")
        if deployed is not False:
            resources[logical_id] = resource

    def of_type(*types: str) -> list[tuple[str, dict[str, Any]]]:
        return [(lid, r) for lid, r in resources.items() if r.get("Type") in types]

    network(reader, stack, env, of_type)
    load_balancers(reader, stack, env, of_type)
    containers(reader, stack, env, resources, of_type)
    instances(reader, stack, env, resources, of_type)
    databases(reader, stack, env, resources, of_type)
    functions(reader, stack, env, resources, of_type)
    tables_and_buckets(reader, stack, env, of_type)
    routing(reader, stack, env, of_type)
    security_and_monitoring(reader, stack, env, of_type)


def _notes(prices: PriceTable, lines: list[Line], undecided: list[str]) -> list[str]:
    """What every estimate states: its basis, its columns, its assumptions, what it leaves out."""
    p = prices

    def listed(key: str) -> str:
        return f"USD {price_text(p.usd(key))}"

    notes = [
        f"An **estimate**, not a quote or a bill: {p.region} on-demand list prices of {p.as_of} "
        f"(`drgen/review/prices.json`), applied to every region without a regional factor; free tiers, "
        f"Savings Plans and reservations are not applied.",
        "Idle: the primary as deployed and the DR region at standby capacity. At failover: the DR region's "
        "compute at the active capacity the failover's scale step sets, and its Aurora Serverless v2 capacity "
        "at the cluster's maximum ACU (a ceiling, not a forecast). The primary's lines are the same in both "
        "columns: it stays deployed, and billed, while the DR region serves.",
        f"Assumed: each Application Load Balancer is billed {ALB_IDLE_LCU} LCU an hour (health checks and "
        f"probes, no real traffic); each scheduled Lambda run lasts its full Timeout at its MemorySize (an upper "
        f"bound); Route 53 endpoint health checks are on AWS endpoints (the bundle's own load balancers and APIs; "
        f"non-AWS endpoints list {listed('route53_health_check_non_aws')} plus "
        f"{listed('route53_health_check_feature_non_aws')} per feature).",
        f"Not counted: traffic (NAT data processing {listed('nat_gateway_data')}/GB, interface endpoint data "
        f"{listed('interface_endpoint_data')}/GB, data transfer, requests to load balancers, API Gateway, SQS, "
        f"SNS, DynamoDB, Step Functions and EventBridge, Lambda runs other than schedules); Aurora storage, I/O, "
        f"backups and global-database replicated writes ({listed('aurora_global_write_io')} per million); EBS "
        f"volumes; S3 storage; CloudWatch Logs and custom metrics; AWS Backup and Aurora snapshot exports (per "
        f"GB); X-Ray traces; KMS requests and rotated key versions.",
        "Not counted either, and billed with no users at all: the requests Route 53's health checkers make. "
        "Checkers in several locations each request the endpoint at the check's interval (\"Each Route 53 "
        'health checker makes requests at this interval", HealthCheckConfig RequestInterval), so an endpoint '
        "checked every 10 s takes millions of requests a month; where it is API Gateway or Lambda, each is "
        "billed as a request (and traced, where X-Ray tracing is on).",
        "Per-use lines (DynamoDB on demand, S3 replication and RTC) show their unit price and add nothing to "
        "the totals: they cost nothing idle.",
    ]
    unpriced = sorted({line.item for line in lines if not line.priced})
    if unpriced:
        notes.append(f"Counted but not priced (not in the price table, USD 0 in the totals): {', '.join(unpriced)}")
    if undecided:
        notes.append(
            f"Counted although their condition is decided only at deploy time: {', '.join(sorted(undecided))}."
        )
    return notes
