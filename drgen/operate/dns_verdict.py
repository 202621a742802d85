"""Where Route 53 sends clients, over time, in a sandbox: drgen's model of Route 53 (drgen/route53_model.py) on
what is deployed there.

The topology is the rendered global template, with its parameters as the deployed global stack holds them (the
endpoints' names) and the settings a failover step may change (HealthThreshold, Inverted) as Route 53 holds them
now. The world is the sandbox's: the stand-in endpoints' up and down history (``Regions``) and the datapoints in
moto's CloudWatch, which the Lambda code published on the drill's clock. The drill's DNS verdict and the
GetHealthCheckStatus stand-in (what the failover's validation step reads) both come from here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from drgen import route53_model as model
from drgen.bundle.manifest import LayerName
from drgen.bundle.reader import RenderedBundle
from drgen.deploy.session import Aws
from drgen.operate.environment import Environment
from drgen.scenario.model import Role

HEALTH_CHECK = "AWS::Route53::HealthCheck"
ROLE_PREFIXES = {"Primary": Role.PRIMARY, "Secondary": Role.SECONDARY}


@dataclass
class Regions:
    """Whether each region's endpoint answers, from when (the stand-in endpoints' history)."""

    history: dict[Role, list[tuple[float, bool]]] = field(
        default_factory=lambda: {Role.PRIMARY: [(0.0, True)], Role.SECONDARY: [(0.0, True)]}
    )

    def set(self, role: Role, up: bool, at: float) -> None:
        self.history[role].append((at, up))

    def up(self, role: Role, at: float) -> bool:
        state = True
        for since, up in self.history[role]:
            if since <= at:
                state = up
        return state


@dataclass
class SandboxWorld:
    """The model's world in a sandbox: endpoint names mapped to their region, metric data read from moto."""

    regions: Regions
    endpoints: dict[str, Role]  # endpoint or alias-target name -> the region it belongs to
    cloudwatch: Callable[[str], Any]
    span: tuple[float, float]
    _cache: dict[tuple[str, str, str], list[tuple[float, float]]] = field(default_factory=dict)

    def endpoint_up(self, endpoint: str, at: float) -> bool:
        role = self.endpoints.get(endpoint.rstrip("."))
        return True if role is None else self.regions.up(role, at)

    def target_healthy(self, target: str, at: float) -> bool:
        return self.endpoint_up(target, at)

    def forget(self) -> None:
        """Read the metric data again next time (more may have been published since)."""
        self._cache.clear()

    def datapoints(self, alarm: model.Alarm) -> list[tuple[float, float]]:
        key = (alarm.region, alarm.namespace, alarm.metric)
        if key not in self._cache:
            self._cache[key] = _datapoints(self.cloudwatch(alarm.region), alarm, *self.span)
        return self._cache[key]


def _datapoints(cloudwatch: Any, alarm: model.Alarm, start: float, end: float) -> list[tuple[float, float]]:
    """Every period's statistic of the alarm's metric in [start, end] (moto keeps each datapoint's timestamp)."""
    found: list[tuple[float, float]] = []
    token: dict[str, str] = {}
    while True:
        page = cloudwatch.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "m",
                    "MetricStat": {
                        "Metric": {"Namespace": alarm.namespace, "MetricName": alarm.metric},
                        "Period": alarm.period,
                        "Stat": alarm.statistic,
                    },
                }
            ],
            StartTime=datetime.fromtimestamp(start, UTC),
            EndTime=datetime.fromtimestamp(end, UTC),
            **token,
        )
        result = page["MetricDataResults"][0]
        found += [(t.timestamp(), v) for t, v in zip(result["Timestamps"], result["Values"], strict=True)]
        if not page.get("NextToken"):
            return found
        token = {"NextToken": page["NextToken"]}


@dataclass(frozen=True)
class Deployed:
    """The deployed global layer, as the model needs it."""

    topology: model.Topology  # logical ids
    physical: dict[str, str]  # logical id -> Route 53's id
    endpoints: dict[str, Role]


def deployed(aws: Aws, environment: Environment, bundle: RenderedBundle) -> Deployed:
    """The rendered global template with the deployed global stack's parameters and resources."""
    entry = next(e for e in bundle.stacks if e.layer == LayerName.GLOBAL)
    template = bundle.document(entry)
    cloudformation = aws.client("cloudformation", entry.region)
    stack = cloudformation.describe_stacks(StackName=entry.name)["Stacks"][0]
    values = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    resources = cloudformation.describe_stack_resources(StackName=entry.name)["StackResources"]
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources if r["ResourceType"] == HEALTH_CHECK}
    alarms = model.bundle_alarms(bundle)
    topology = model.from_template(template, values, alarms)
    endpoints = {
        value.rstrip("."): role
        for name, value in values.items()
        for prefix, role in ROLE_PREFIXES.items()
        if name.startswith(prefix) and value
    }
    return Deployed(topology, physical, endpoints)


def live(aws: Aws, layer: Deployed) -> model.Topology:
    """The topology with the settings Route 53 holds now."""
    return model.overlay(layer.topology, aws.client("route53", "us-east-1"), layer.physical)


def timeline(
    aws: Aws, layer: Deployed, world: SandboxWorld, start: float, moments: Sequence[float]
) -> list[model.Moment]:
    """Route 53's answer at each of ``moments`` (ascending), from a model started at ``start``."""
    return model.timeline(live(aws, layer), world, start, [m - start for m in moments])


def check_status(
    aws: Aws, layer: Deployed, world: SandboxWorld, clock: Callable[[], float], history: float = 900.0
) -> Callable[[str], bool | None]:
    """For the GetHealthCheckStatus stand-in: what Route 53's checkers report on a check now, as the model sees
    it over the last ``history`` seconds (None for a check of another deployment). Checkers report the endpoint
    or the data stream; a check's Inverted is applied by whoever reads the report, so it is undone here."""
    logical = {physical: name for name, physical in layer.physical.items()}

    def status(check_id: str) -> bool | None:
        name = logical.get(check_id)
        if name is None:
            return None
        now = clock()
        world.span = (now - history, now + 60)
        world.forget()  # new datapoints may have arrived since the last question
        topology = live(aws, layer)
        moment = model.Model(topology, world, now - history).at(now)
        return model.rules.reported(moment.health[name], inverted=topology.checks[name].inverted)

    return status
