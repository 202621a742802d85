"""Route 53's rules (lambda/drgen_common/route53_rules.py) and drgen's model of the answer (drgen/route53_model.py).

The rule cases come from the AWS pages each rule cites, not from drgen's output. The model cases run the
rendered global templates of every preset through time, with the data streams the design relies on, and with
the defects the design must not have (an inverted CALCULATED parent, a single engaged datapoint).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from drgen import route53_model as model
from drgen.bundle.reader import from_files
from drgen.render import render
from drgen.scenario.loader import resolve_suffix
from drgen.scenario.presets import PRESETS

rules = model.rules
MINUTE = 60.0


# -- the rules, from the AWS pages -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("successes", "checkers", "healthy"),
    [
        (3, 16, True),  # 18.75 %: "more than 18% of health checkers report healthy"
        (9, 50, False),  # exactly 18 %: "18% of health checkers or fewer" is unhealthy
        (0, 16, False),
        (16, 16, True),
    ],
)
def test_checkers_more_than_18_percent_healthy(successes: int, checkers: int, healthy: bool) -> None:
    statuses = ["Success: HTTP Status Code 200"] * successes
    statuses += ["Failure: Connection timed out"] * (checkers - successes)
    assert rules.checkers_healthy(statuses) is healthy


def test_no_checker_reports_says_nothing() -> None:
    assert rules.checkers_healthy([]) is None


@pytest.mark.parametrize(
    ("children", "threshold", "healthy"),
    [
        ([True, True, False], 2, True),
        ([True, False, False], 2, False),
        ([False, False], 0, True),  # "If you specify 0, Route 53 always considers this health check to be healthy"
        ([True, True], 3, False),  # more than the children: "always considers this health check to be unhealthy"
    ],
)
def test_calculated_counts_healthy_children_against_the_threshold(
    children: list[bool], threshold: int, healthy: bool
) -> None:
    assert rules.calculated_healthy(children, threshold) is healthy


def test_inverted_reports_the_opposite_of_the_combined_status() -> None:
    assert rules.reported(True, inverted=True) is False
    assert rules.reported(False, inverted=True) is True
    assert rules.reported(False, inverted=False) is False


@pytest.mark.parametrize(
    ("insufficient", "last_known", "healthy"),
    [
        ("Healthy", False, True),
        ("Unhealthy", True, False),
        ("LastKnownStatus", False, False),
        ("LastKnownStatus", True, True),
        ("LastKnownStatus", None, True),  # "For new health checks that have no last known status ... healthy"
    ],
)
def test_insufficient_data_health_status(insufficient: str, last_known: bool | None, healthy: bool) -> None:
    assert rules.metric_check_healthy(None, insufficient=insufficient, last_known=last_known) is healthy


def test_a_metric_check_follows_the_stream_whatever_the_insufficient_setting() -> None:
    for insufficient in rules.INSUFFICIENT_STATUSES:
        assert rules.metric_check_healthy(True, insufficient=insufficient, last_known=True) is False
        assert rules.metric_check_healthy(False, insufficient=insufficient, last_known=False) is True


@pytest.mark.parametrize(
    ("values", "to_alarm", "breaching"),
    [
        ([None, None, None], 2, None),  # no data in any evaluation period: insufficient
        ([5.0, None, 7.0], 2, True),
        ([5.0, 0.0, 0.0], 2, False),
        ([None, None, 1.0], 1, True),
    ],
)
def test_the_stream_breaches_on_m_of_n_periods(values: list[float | None], to_alarm: int, breaching: bool) -> None:
    found = rules.alarm_stream(
        values, threshold=1.0, comparison="GreaterThanOrEqualToThreshold", datapoints_to_alarm=to_alarm
    )
    assert found is breaching


@pytest.mark.parametrize(
    ("primary", "secondary", "answer"),
    [(True, True, "PRIMARY"), (True, False, "PRIMARY"), (False, True, "SECONDARY"), (False, False, "PRIMARY")],
)
def test_failover_answers(primary: bool, secondary: bool, answer: str) -> None:
    assert rules.failover_answer(primary, secondary) == answer


def test_records_without_a_check_are_healthy_and_alias_targets_count_when_evaluated() -> None:
    assert rules.record_healthy(None) is True
    assert rules.record_healthy(True, evaluate_target_health=True, target=False) is False
    assert rules.record_healthy(True, evaluate_target_health=False, target=False) is True


def test_an_endpoint_changes_status_only_after_failure_threshold_consecutive_results() -> None:
    assert rules.endpoint_status(True, [False, False], 3) is True
    assert rules.endpoint_status(True, [True, False, False], 3) is True
    assert rules.endpoint_status(True, [False, False, False], 3) is False
    assert rules.endpoint_status(False, [True, True, True], 3) is True


# -- the model over the rendered templates ----------------------------------------------------------------------
@dataclasses.dataclass
class ScriptedWorld:
    """Endpoints down from ``down_from`` (by key), alias targets like their endpoints, datapoints as given."""

    down: dict[str, float] = dataclasses.field(default_factory=dict)
    points: dict[str, list[tuple[float, float]]] = dataclasses.field(default_factory=dict)  # metric -> points
    healthy_targets: bool = False  # alias targets healthy whatever the endpoints do

    def endpoint_up(self, endpoint: str, at: float) -> bool:
        return at < self.down.get(endpoint, float("inf"))

    def target_healthy(self, target: str, at: float) -> bool:
        return self.healthy_targets or self.endpoint_up(target, at)

    def datapoints(self, alarm: model.Alarm) -> list[tuple[float, float]]:
        return self.points.get(f"{alarm.region}/{alarm.metric}", [])


START = 1_800_000_000.0  # a whole minute
OFFSETS = [0, MINUTE, 2 * MINUTE, 5 * MINUTE, 30 * MINUTE, 24 * 60 * MINUTE]


@pytest.fixture(scope="module", params=sorted(PRESETS))
def rendered(request: pytest.FixtureRequest) -> Any:
    return render(resolve_suffix(PRESETS[request.param], "dev"))


def _topology(bundle: Any) -> model.Topology:
    files = bundle.files
    global_template = json.loads(files["templates/global.json"])
    values = {name: name for name in global_template.get("Parameters", {})}  # each endpoint named by its parameter
    return model.from_template(global_template, values, model.bundle_alarms(from_files(files, "test")))


def _endpoints(topology: model.Topology) -> dict[str, str]:
    """role -> the endpoint key of that region's record (and its HTTPS check, which probes the same region)."""
    return {record.failover: record.target for record in topology.records.values()}


def _every_minute(metric_region: str, metric: str, value: float, start: float, minutes: int) -> dict[str, Any]:
    return {f"{metric_region}/{metric}": [(start + 30 + m * MINUTE, value) for m in range(-5, minutes)]}


def _world(
    bundle: Any, topology: model.Topology, *, primary_down: bool, engaged_points: list[tuple[float, float]]
) -> ScriptedWorld:
    regions = bundle.scenario.regions
    points = {f"{regions.secondary}/FailoverEngaged": engaged_points}
    # database-dr: the connectivity tests publish 1 every minute where the database answers.
    for region, up in ((regions.primary, not primary_down), (regions.secondary, True)):
        points.update(_every_minute(region, "DatabaseConnectivity", 1.0 if up else 0.0, START, 24 * 60 + 5))
    down: dict[str, float] = {}
    if primary_down:
        fqdn = "PrimaryHealthCheckFqdn"
        down = {fqdn: START - 5 * MINUTE, _endpoints(topology)["PRIMARY"]: START - 5 * MINUTE}
    return ScriptedWorld(down=down, points=points)


def _answers(topology: model.Topology, world: ScriptedWorld, offsets: list[float]) -> list[str]:
    """The answers at START + each offset, from a model started ten minutes earlier (history counts)."""
    lead = 10 * MINUTE
    return [m.answer for m in model.timeline(topology, world, START - lead, [lead + o for o in offsets])]


def _engaged_every_minute(minutes: int) -> list[tuple[float, float]]:
    """What the DR region's engaged signal publishes: 0 before the DNS step, 1 every minute after it."""
    before = [(START - m * MINUTE + 30, 0.0) for m in range(1, 10)]
    return before + [(START + 1 + m * MINUTE, 1.0) for m in range(minutes)]


@pytest.mark.parametrize("primary_down", [True, False], ids=["unplanned", "planned"])
def test_the_rendered_design_answers_dr_from_the_dns_step_for_a_day(rendered: Any, primary_down: bool) -> None:
    topology = _topology(rendered)
    world = _world(rendered, topology, primary_down=primary_down, engaged_points=_engaged_every_minute(24 * 60 + 5))
    # The first datapoint lands in the minute after the DNS step; the stream needs that minute to be complete.
    assert _answers(topology, world, [o + MINUTE for o in OFFSETS]) == ["SECONDARY"] * len(OFFSETS)


def test_before_any_failover_the_primary_is_answered(rendered: Any) -> None:
    topology = _topology(rendered)
    world = _world(rendered, topology, primary_down=False, engaged_points=[(START - m * MINUTE, 0.0) for m in range(9)])
    assert set(_answers(topology, world, [0, MINUTE, 5 * MINUTE])) == {"PRIMARY"}


def test_an_inverted_calculated_parent_answers_the_failed_primary(rendered: Any) -> None:
    """Defect 1: NOT(primary AND not-engaged) is healthy when the primary is down, so PRIMARY is answered."""
    topology = _topology(rendered)
    gate = topology.records["PRIMARY"].check
    assert gate is not None and topology.checks[gate].type == "CALCULATED"
    inverted = dataclasses.replace(topology.checks[gate], inverted=True)
    broken = model.Topology({**topology.checks, gate: inverted}, topology.records)
    world = _world(rendered, topology, primary_down=True, engaged_points=_engaged_every_minute(60))
    # The load balancer's own target checks may still pass (the database behind it failed): only the record's
    # health check can move the traffic, and inverted it keeps the failed primary answered.
    world.healthy_targets = True
    assert _answers(broken, world, [2 * MINUTE]) == ["PRIMARY"]
    assert _answers(topology, world, [2 * MINUTE]) == ["SECONDARY"]


def test_one_engaged_datapoint_with_insufficient_data_healthy_reopens_the_primary(rendered: Any) -> None:
    """Defect 2: Route 53 follows the data stream; after the one datapoint, no data and Healthy -> PRIMARY."""
    topology = _topology(rendered)
    engaged = next(c for c in topology.checks.values() if c.alarm and c.alarm.metric == "FailoverEngaged")
    healthy_when_silent = dataclasses.replace(engaged, insufficient="Healthy")
    broken = model.Topology({**topology.checks, engaged.id: healthy_when_silent}, topology.records)
    world = _world(rendered, topology, primary_down=False, engaged_points=[(START + 1, 1.0)])
    assert _answers(broken, world, [MINUTE, 3 * MINUTE]) == ["SECONDARY", "PRIMARY"]


def test_the_secondary_record_does_not_depend_on_replication_lag(rendered: Any) -> None:
    """Defect 3: a SECONDARY record gated on lag sends clients to the failed primary when lag data stops."""
    topology = _topology(rendered)
    secondary = topology.records["SECONDARY"].check
    followed: set[str] = set()
    pending = [secondary] if secondary else []
    while pending:
        check = topology.checks[pending.pop()]
        followed.add(check.alarm.metric if check.alarm else check.type)
        pending.extend(check.children)
    assert not {"AuroraGlobalDBReplicationLag", "ReplicationLagSeconds"} & followed


def test_once_engaged_a_failing_dr_check_never_sends_clients_back_to_the_primary(rendered: Any) -> None:
    """Defect 4 (stop 24): the DR region failing its own check (its endpoint, its target health, or database-dr's
    connectivity metric, which stops when the DR region's CloudWatch does) while the gate is closed. With a health
    check on SECONDARY too, no record was healthy, and "If no record is healthy, all records are healthy": Route 53
    answered PRIMARY, the region without the writer, though it had recovered."""
    topology = _topology(rendered)
    regions = rendered.scenario.regions
    world = _world(rendered, topology, primary_down=False, engaged_points=_engaged_every_minute(60))
    world.points.update(_every_minute(regions.secondary, "DatabaseConnectivity", 0.0, START, 65))
    secondary = _endpoints(topology)["SECONDARY"]
    world.down.update({"SecondaryHealthCheckFqdn": START - 5 * MINUTE, secondary: START - 5 * MINUTE})
    world.healthy_targets = False
    assert _answers(topology, world, [2 * MINUTE, 10 * MINUTE]) == ["SECONDARY", "SECONDARY"]


def test_a_disabled_check_is_healthy_whatever_it_would_report() -> None:
    """UpdateHealthCheck, Disabled: "After you disable a health check, Route 53 considers the status of the health
    check to always be healthy"."""
    assert rules.reported(False, inverted=False, disabled=True) is True
    assert rules.reported(True, inverted=True, disabled=True) is True
