"""failover/confirm.py: a failover that may lose data starts on agreeing signals, or on one that persisted.

The alarms are real moto alarms set to the states a failing primary would put them in; moto evaluates no alarm,
so the state and its timestamp are set, then read back by the step exactly as from CloudWatch.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from drgen_common import contract
from drgen_common.failover import Request
from failover import confirm

from .conftest import NAMESPACE

PROBE_ALARM = "trading-primary-probe-eu-west-2-test"
ROUTE53_ALARM = "trading-primary-health-test"
CONFIRM_SECONDS = 180.0
THRESHOLD = 10.0  # writer_silent_seconds
NOW = 1_800_000_000.0


def _signal(firing: bool, since: float | None = NOW - 10, known: bool = True) -> dict:
    return {"known": known, "firing": firing, "since": since, "detail": "test"}


def _confirm(probe, route53, lag, **request):
    return confirm.confirm(
        Request.from_event(request),
        probe=probe,
        route53=route53,
        lag_seconds=lag,
        confirm_seconds=CONFIRM_SECONDS,
        silent_seconds=THRESHOLD,
        now=NOW,
    )


@pytest.mark.parametrize(
    ("probe", "route53", "lag", "confirmed", "waiting"),
    [
        # two independent signals agree
        (_signal(True), _signal(True), 2.0, True, False),
        (_signal(True), _signal(False, known=False), 95.0, True, False),  # us-east-1 gone; the writer's heartbeat too
        # one signal alone: wait for agreement, or for it to persist
        (_signal(True), _signal(False), 2.0, False, True),
        (_signal(False), _signal(True), 2.0, False, True),
        (_signal(True, since=NOW - CONFIRM_SECONDS), _signal(False, known=False), None, True, False),
        (_signal(False), _signal(False), THRESHOLD + CONFIRM_SECONDS, True, False),  # the heartbeat stopped for long
        # every signal cleared: stand down
        (_signal(False), _signal(False), 2.0, False, False),
    ],
)
def test_an_unplanned_failover_needs_agreement_or_persistence(probe, route53, lag, confirmed, waiting):
    result = _confirm(probe, route53, lag)
    assert (result["confirmed"], result["waiting"]) == (confirmed, waiting), result["reason"]


def test_one_bad_minute_of_one_signal_never_starts_a_data_losing_failover():
    """Defect 7: the Route 53 alarm fired once (EvaluationPeriods 1) while the primary's database is healthy."""
    result = _confirm(_signal(False), _signal(True, since=NOW - 60), 1.5)
    assert result["confirmed"] is False and result["writer_alive"] is True


@pytest.mark.parametrize("request_", [{"planned": True}, {"mode": "failback"}, {"force": True}])
def test_an_operators_request_is_confirmed_by_itself(request_):
    assert _confirm(_signal(False), _signal(False), 1.0, **request_)["confirmed"] is True


def test_the_handler_reads_both_alarms_and_the_heartbeat_where_they_live(cloud, monkeypatch):
    for region, name in (("eu-west-2", PROBE_ALARM), ("us-east-1", ROUTE53_ALARM)):
        cloudwatch = cloud("cloudwatch", region)
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace=NAMESPACE,
            MetricName="x",
            Statistic="Minimum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="LessThanThreshold",
        )
        cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="test: primary down")
    cloud("cloudwatch").put_metric_data(
        Namespace=NAMESPACE, MetricData=[{"MetricName": contract.REPLICATION_LAG, "Value": 2.0}]
    )
    monkeypatch.setenv("PROBE_ALARM_NAME", PROBE_ALARM)
    monkeypatch.setenv("ROUTE53_ALARM_NAME", ROUTE53_ALARM)
    monkeypatch.setenv("CONFIRM_SECONDS", str(CONFIRM_SECONDS))
    with pytest.raises(ValueError, match="writer_silent_seconds"):
        confirm.handler({}, None)
    result = confirm.handler({"writer_silent_seconds": THRESHOLD}, None)
    assert result["confirmed"] is True and result["reason"] == "probe and route53 agree"
    assert result["writer_alive"] is True  # the primary's database still replicates: promote switches over
    assert abs(result["signals"]["probe"]["since"] - time.time()) < 60


def test_an_unreachable_route53_region_is_an_unknown_signal_not_an_error():
    def broken():
        raise ConnectionError("us-east-1 does not answer")

    signal = confirm.alarm_signal_once(broken, ROUTE53_ALARM)
    assert signal["known"] is False and signal["firing"] is False and "does not answer" in signal["detail"]


class _Alarms:
    """DescribeAlarms for one alarm in ALARM since 09:00, whose EvaluationState changed at 09:03."""

    def describe_alarms(self, **_: object) -> dict[str, object]:
        alarm = {
            "StateValue": "ALARM",
            "StateTransitionedTimestamp": datetime(2026, 1, 1, 9, 0, tzinfo=UTC),
            "StateUpdatedTimestamp": datetime(2026, 1, 1, 9, 3, tzinfo=UTC),
        }
        return {"MetricAlarms": [alarm]}


def test_an_alarm_fires_since_its_state_last_changed_not_since_its_last_update():
    """StateTransitionedTimestamp: "the date and time that the alarm's StateValue most recently changed";
    StateUpdatedTimestamp moves with the EvaluationState too, which would restart the persistence clock."""
    signal = confirm.alarm_signal(_Alarms(), "probe")
    assert signal["firing"] and signal["since"] == datetime(2026, 1, 1, 9, 0, tzinfo=UTC).timestamp()
