"""drgen's model of Route 53: which failover record Route 53 answers, moment by moment.

The local sandbox stores health checks without evaluating them, so nothing there says where traffic goes. This
model does, from Route 53's documented rules (``lambda/drgen_common/route53_rules.py``, each rule citing its AWS
page) applied to a *topology* (the failover records, the health checks gating them, and the CloudWatch alarms
the metric checks follow) and a *world* (whether each endpoint answers, each alias target's health, and the
datapoints published to the alarms' metrics over time):

- endpoint checks (HTTPS, HTTPS_STR_MATCH, HTTP, TCP) change status after FailureThreshold consecutive results,
  one result every RequestInterval;
- CLOUDWATCH_METRIC checks follow the alarm's data stream (its metric over the evaluation periods), never the
  alarm's state, with InsufficientDataHealthStatus deciding when the stream is empty;
- CALCULATED checks count healthy children against HealthThreshold; Inverted flips whatever check it is on;
- a record is healthy when its check and (alias with EvaluateTargetHealth) its target are;
- PRIMARY while healthy, else SECONDARY while healthy, else PRIMARY.

The topology comes from a rendered global template (``from_template``: what is deployed), with the settings a
failover step may change read back from Route 53 (``overlay``: HealthThreshold and Inverted). ``timeline`` steps through
time in order, because LastKnownStatus and FailureThreshold depend on history.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from drgen.bundle.evaluate import Env
from drgen.bundle.reader import RenderedBundle
from drgen.operate import lambdas

rules = lambdas.shared("route53_rules")

ENDPOINT_TYPES = frozenset({"HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP"})
STEP_SECONDS = 10.0  # the shortest RequestInterval Route 53 offers


@dataclass(frozen=True)
class Alarm:
    """What Route 53 evaluates of a CloudWatch alarm: its metric, statistic, periods and threshold."""

    name: str
    region: str
    namespace: str
    metric: str
    statistic: str
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str


@dataclass(frozen=True)
class Check:
    id: str
    type: str
    children: tuple[str, ...] = ()
    threshold: int = 0
    inverted: bool = False
    disabled: bool = False  # always healthy
    alarm: Alarm | None = None
    insufficient: str = rules.LAST_KNOWN
    endpoint: str = ""  # what an endpoint check probes (its FQDN or address)
    interval: int = 30
    failure_threshold: int = 3


@dataclass(frozen=True)
class Record:
    failover: str  # PRIMARY or SECONDARY
    check: str | None
    target: str  # the alias target's DNS name or the record's value
    evaluate_target_health: bool = False


@dataclass(frozen=True)
class Topology:
    checks: Mapping[str, Check]
    records: Mapping[str, Record]  # by failover role


class World(Protocol):
    """What the model cannot know from Route 53 itself: the endpoints, the alias targets, the metric data."""

    def endpoint_up(self, endpoint: str, at: float) -> bool: ...

    def target_healthy(self, target: str, at: float) -> bool: ...

    def datapoints(self, alarm: Alarm) -> Iterable[tuple[float, float]]: ...


@dataclass(frozen=True)
class Moment:
    """Route 53's answer at ``at`` (seconds since the epoch) and the health it was chosen from."""

    at: float
    answer: str
    target: str
    health: Mapping[str, bool]

    def to_dict(self, origin: float = 0.0) -> dict[str, Any]:
        return {
            "seconds": round(self.at - origin, 1),
            "answer": self.answer,
            "target": self.target,
            "health": dict(sorted(self.health.items())),
        }


# -- evaluation ----------------------------------------------------------------------------------------------
_STATISTICS: dict[str, Callable[[Sequence[float]], float]] = {
    "Maximum": max,
    "Minimum": min,
    "Sum": sum,
    "Average": lambda values: sum(values) / len(values),
    "SampleCount": lambda values: float(len(values)),
}


@dataclass
class _Stream:
    """An alarm's datapoints grouped by period."""

    alarm: Alarm
    periods: dict[int, list[float]] = field(default_factory=dict)

    @classmethod
    def of(cls, alarm: Alarm, points: Iterable[tuple[float, float]]) -> _Stream:
        grouped: dict[int, list[float]] = defaultdict(list)
        for timestamp, value in points:
            grouped[math.floor(timestamp / alarm.period)].append(float(value))
        return cls(alarm, dict(grouped))

    def breaching(self, at: float) -> bool | None:
        """The stream over the evaluation periods that ended at or before ``at``."""
        alarm = self.alarm
        last = math.floor(at / alarm.period) - 1  # the newest complete period
        values = []
        for index in range(last - alarm.evaluation_periods + 1, last + 1):
            found = self.periods.get(index)
            values.append(_STATISTICS[alarm.statistic](found) if found else None)
        return rules.alarm_stream(
            values,
            threshold=alarm.threshold,
            comparison=alarm.comparison,
            datapoints_to_alarm=alarm.datapoints_to_alarm,
        )


class Model:
    """Route 53 over time for one topology and world; ``at`` must not go backwards."""

    def __init__(self, topology: Topology, world: World, start: float) -> None:
        self.topology = topology
        self.world = world
        self.now = start
        self._streams = {
            check.id: _Stream.of(check.alarm, world.datapoints(check.alarm))
            for check in topology.checks.values()
            if check.alarm is not None
        }
        self._last_known: dict[str, bool] = {}
        self._status = {c.id: True for c in topology.checks.values() if c.type in ENDPOINT_TYPES}  # new checks pass
        self._results: dict[str, list[bool]] = defaultdict(list)
        self._probed: dict[str, float] = {}

    def at(self, moment: float) -> Moment:
        """Advance to ``moment`` (probing endpoints on their intervals) and answer."""
        if moment < self.now:
            raise ValueError("the model only moves forward in time")
        while self.now + STEP_SECONDS <= moment:
            self.now += STEP_SECONDS
            self._tick(self.now)
        self.now = moment
        self._tick(moment)
        health = {check_id: self._healthy(check_id, moment) for check_id in self.topology.checks}
        records = self.topology.records
        healthy = {
            role: rules.record_healthy(
                None if record.check is None else health[record.check],
                evaluate_target_health=record.evaluate_target_health,
                target=self.world.target_healthy(record.target, moment),
            )
            for role, record in records.items()
        }
        answer = rules.failover_answer(healthy[rules.PRIMARY], healthy[rules.SECONDARY])
        return Moment(moment, answer, records[answer].target, health)

    def _tick(self, moment: float) -> None:
        """Each endpoint check's result when its interval comes round; metric checks remember their status."""
        for check in self.topology.checks.values():
            if check.type in ENDPOINT_TYPES and moment - self._probed.get(check.id, -math.inf) >= check.interval:
                self._probed[check.id] = moment
                results = self._results[check.id]
                results.append(self.world.endpoint_up(check.endpoint, moment))
                del results[: -check.failure_threshold]
                self._status[check.id] = rules.endpoint_status(self._status[check.id], results, check.failure_threshold)
            elif check.alarm is not None:
                self._metric(check, moment)

    def _metric(self, check: Check, moment: float) -> bool:
        breaching = self._streams[check.id].breaching(moment)
        healthy = rules.metric_check_healthy(
            breaching, insufficient=check.insufficient, last_known=self._last_known.get(check.id)
        )
        if breaching is not None:
            self._last_known[check.id] = healthy
        return healthy

    def _healthy(self, check_id: str, moment: float) -> bool:
        """The status the check reports (after Inverted)."""
        check = self.topology.checks[check_id]
        if check.type in ENDPOINT_TYPES:
            status = self._status[check.id]
        elif check.type == "CLOUDWATCH_METRIC":
            status = self._metric(check, moment)
        elif check.type == "CALCULATED":
            children = [self._healthy(child, moment) for child in check.children]
            status = rules.calculated_healthy(children, check.threshold)
        else:
            raise ValueError(f"health check {check.id}: type {check.type} is not modelled")
        return rules.reported(status, inverted=check.inverted, disabled=check.disabled)


def timeline(topology: Topology, world: World, start: float, offsets: Sequence[float]) -> list[Moment]:
    """The answer at each offset (seconds after ``start``, ascending)."""
    model = Model(topology, world, start)
    return [model.at(start + offset) for offset in offsets]


# -- topologies ----------------------------------------------------------------------------------------------
def alarm_from(name: str, region: str, properties: Mapping[str, Any]) -> Alarm:
    """An alarm from its template properties or its DescribeAlarms entry (the same field names)."""
    periods = int(properties.get("EvaluationPeriods", 1))
    return Alarm(
        name=name,
        region=region,
        namespace=str(properties["Namespace"]),
        metric=str(properties["MetricName"]),
        statistic=str(properties["Statistic"]),
        period=int(properties["Period"]),
        evaluation_periods=periods,
        datapoints_to_alarm=int(properties.get("DatapointsToAlarm", periods)),
        threshold=float(properties["Threshold"]),
        comparison=str(properties["ComparisonOperator"]),
    )


def bundle_alarms(bundle: RenderedBundle) -> dict[tuple[str, str], Alarm]:
    """Every single-metric alarm with a plain statistic by (name, region), as each stack of the bundle creates
    it."""
    found: dict[tuple[str, str], Alarm] = {}
    for entry in bundle.stacks:
        env = Env(bundle.document(entry), entry)
        for resource in env.resources("AWS::CloudWatch::Alarm").values():
            properties = resource.get("Properties", {})
            if "Statistic" not in properties:
                continue  # metric math and percentile alarms: Route 53 evaluates neither
            name = literal_name(env, properties["AlarmName"])
            literal = {key: value for key, value in properties.items() if not isinstance(value, dict | list)}
            found[(name, entry.region)] = alarm_from(name, entry.region, literal)
    return found


def literal_name(env: Env, value: Any) -> str:
    """A name as its stack spells it (a literal, or a Sub of the stack's region and parameters)."""
    name = env.known(value)
    if name is None or "${" in name:
        raise ValueError(f"cannot work out the alarm name {value!r} outside CloudFormation")
    return name


def _check_from(
    check_id: str, config: Mapping[str, Any], resolve: Callable[[Any], str], alarm: Callable[[str, str], Alarm]
) -> Check:
    kind = str(config["Type"])
    common: dict[str, Any] = {
        "inverted": bool(config.get("Inverted", False)),
        "disabled": bool(config.get("Disabled", False)),
    }
    if kind == "CALCULATED":
        children = tuple(resolve(child) for child in config.get("ChildHealthChecks", []))
        return Check(check_id, kind, children=children, threshold=int(config.get("HealthThreshold", 1)), **common)
    if kind == "CLOUDWATCH_METRIC":
        identifier = config["AlarmIdentifier"]
        return Check(
            check_id,
            kind,
            alarm=alarm(resolve(identifier["Name"]), resolve(identifier["Region"])),
            insufficient=str(config.get("InsufficientDataHealthStatus", rules.LAST_KNOWN)),
            **common,
        )
    return Check(
        check_id,
        kind,
        endpoint=resolve(config.get("FullyQualifiedDomainName") or config.get("IPAddress", "")),
        interval=int(config.get("RequestInterval", 30)),
        failure_threshold=int(config.get("FailureThreshold", 3)),
        **common,
    )


def from_template(
    global_template: Mapping[str, Any], values: Mapping[str, str], alarms: Mapping[tuple[str, str], Alarm]
) -> Topology:
    """The topology a rendered global template describes; ``values`` give its parameters (endpoint names),
    ``alarms`` the regional templates' alarms by (name, region). Checks are named by logical id."""
    resources = global_template["Resources"]

    def resolve(value: Any) -> str:
        if isinstance(value, dict) and "Ref" in value:
            return str(values.get(value["Ref"], value["Ref"]))
        return str(value)

    def alarm(name: str, region: str) -> Alarm:
        if (name, region) not in alarms:
            raise LookupError(f"no alarm {name} in {region}: Route 53 would find nothing to evaluate")
        return alarms[(name, region)]

    checks = {
        name: _check_from(name, resource["Properties"]["HealthCheckConfig"], resolve, alarm)
        for name, resource in resources.items()
        if resource["Type"] == "AWS::Route53::HealthCheck"
    }
    records = {}
    for resource in resources.values():
        properties = resource.get("Properties", {})
        if resource["Type"] != "AWS::Route53::RecordSet" or "Failover" not in properties:
            continue
        records[properties["Failover"]] = _record(properties, resolve)
    return Topology(checks, records)


def _record(properties: Mapping[str, Any], resolve: Callable[[Any], str]) -> Record:
    alias = properties.get("AliasTarget")
    check = properties.get("HealthCheckId")
    if alias:
        return Record(
            str(properties["Failover"]),
            resolve(check) if check else None,
            resolve(alias["DNSName"]).rstrip("."),
            bool(alias.get("EvaluateTargetHealth", False)),
        )
    values = properties.get("ResourceRecords") or [{"Value": ""}]
    first = values[0]
    value = first.get("Value", "") if isinstance(first, dict) else first
    return Record(str(properties["Failover"]), resolve(check) if check else None, resolve(value).rstrip("."))


def overlay(topology: Topology, route53: Any, physical: Mapping[str, str] | None = None) -> Topology:
    """``topology`` with each check's HealthThreshold, Inverted and Disabled as Route 53 holds them now: the
    settings the failover's control-plane step changes or repairs. ``physical`` maps the topology's check ids
    (logical ids of the template) to Route 53's; without it the ids are Route 53's already. The rest comes from
    the template, which is what was deployed (the local sandbox does not even keep an alarm check's
    AlarmIdentifier)."""
    checks = {}
    for check_id, check in topology.checks.items():
        live = route53.get_health_check(HealthCheckId=(physical or {}).get(check_id, check_id))
        config = live["HealthCheck"]["HealthCheckConfig"]
        threshold = int(config.get("HealthThreshold", check.threshold) or 0) if check.type == "CALCULATED" else 0
        inverted, disabled = bool(config.get("Inverted", False)), bool(config.get("Disabled", False))
        checks[check_id] = replace(check, threshold=threshold, inverted=inverted, disabled=disabled)
    return Topology(checks, topology.records)
