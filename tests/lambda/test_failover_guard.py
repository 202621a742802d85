"""failover/guard.py: armed triggers only, one failover at a time by a conditional lock, no needless or lagging
failback, the start recorded once."""

from __future__ import annotations

import json
import threading
import time

import pytest
from drgen_common import contract, control
from drgen_common.failover import (
    ConcurrentFailoverError,
    NotArmedError,
    NothingToFailBackError,
    ReplicationLagError,
    Request,
)
from failover import guard

from .conftest import NAMESPACE, PRIMARY, control_item

PARAMETER = "/drgen/test/failover-state"
EXECUTION = "arn:aws:states:eu-west-2:123456789012:execution:failover:"
LOCK_SECONDS = 3600


@pytest.fixture
def armed(cloud, control_table, global_database, monkeypatch):
    """An environment whose readiness test has passed once."""
    for name, value in {
        "STATE_PARAMETER": PARAMETER,
        "GLOBAL_CLUSTER_ID": global_database.identifier,
        "DR_CLUSTER_ARN": global_database.dr_arn,
        "LOCK_SECONDS": str(LOCK_SECONDS),
    }.items():
        monkeypatch.setenv(name, value)
    control.arm(cloud("dynamodb"), control_table, "2024-05-01T09:00:00+00:00", "test")
    return control_table


def _recorded(cloud):
    parameter = cloud("ssm").get_parameter(Name=PARAMETER)["Parameter"]
    return json.loads(parameter["Value"]), parameter["Version"]


def _nothing_recorded(cloud):
    ssm = cloud("ssm")
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name=PARAMETER)


def test_guard_records_the_start_once_and_holds_the_lock(cloud, armed):
    event = {"execution_id": EXECUTION + "first", "started_at": "2024-05-01T10:00:00.000Z"}
    result = guard.handler(event, None)
    assert result["execution_id"] == EXECUTION + "first" and result["status"] == "running"
    recorded, version = _recorded(cloud)
    assert recorded == {
        "execution_id": EXECUTION + "first",
        "mode": "failover",
        "planned": False,
        "started_at": "2024-05-01T10:00:00.000Z",
        "status": "running",
    }
    assert control_item(cloud, "lock")["holder"] == EXECUTION + "first"
    assert guard.handler(event, None) == result  # a retried step changes nothing
    assert _recorded(cloud) == (recorded, version)


def test_a_trigger_before_the_first_passing_readiness_test_is_refused(
    cloud, control_table, global_database, monkeypatch
):
    """Defect 8: a fresh deploy's alarms pass through ALARM; nothing may fail it over before it is armed."""
    monkeypatch.setenv("STATE_PARAMETER", PARAMETER)
    monkeypatch.setenv("LOCK_SECONDS", str(LOCK_SECONDS))
    monkeypatch.setenv("GLOBAL_CLUSTER_ID", global_database.identifier)
    monkeypatch.setenv("DR_CLUSTER_ARN", global_database.dr_arn)
    with pytest.raises(NotArmedError, match="readiness"):
        guard.handler({"execution_id": EXECUTION + "early"}, None)
    _nothing_recorded(cloud)
    assert control_item(cloud, "lock") == {}
    forced = guard.handler({"execution_id": EXECUTION + "forced", "force": True}, None)  # an operator's choice
    assert forced["status"] == "running"


def test_a_second_run_is_refused_by_the_lock_until_the_first_releases_it(cloud, armed):
    """Defect 9: the lock is a conditional write, not an eventually consistent listing."""
    guard.handler({"execution_id": EXECUTION + "first"}, None)
    with pytest.raises(ConcurrentFailoverError, match="first"):
        guard.handler({"execution_id": EXECUTION + "second"}, None)
    assert _recorded(cloud)[0]["execution_id"] == EXECUTION + "first"
    assert control.release(cloud("dynamodb"), armed, EXECUTION + "second") is False  # not the holder's to give
    assert control.release(cloud("dynamodb"), armed, EXECUTION + "first") is True
    assert guard.handler({"execution_id": EXECUTION + "second"}, None)["execution_id"] == EXECUTION + "second"


def test_of_two_triggers_firing_together_exactly_one_proceeds(cloud, armed):
    outcomes: dict[str, str] = {}
    barrier = threading.Barrier(2)

    def run(name: str) -> None:
        barrier.wait()
        try:
            guard.handler({"execution_id": EXECUTION + name}, None)
            outcomes[name] = "proceeded"
        except ConcurrentFailoverError:
            outcomes[name] = "refused"

    threads = [threading.Thread(target=run, args=(name,)) for name in ("probe", "route53")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == ["proceeded", "refused"]
    winner = next(name for name, outcome in outcomes.items() if outcome == "proceeded")
    assert control_item(cloud, "lock")["holder"] == EXECUTION + winner


def test_a_lock_whose_holder_outlived_the_execution_timeout_is_taken_over(cloud, armed):
    dynamodb = cloud("dynamodb")
    assert control.acquire(dynamodb, armed, EXECUTION + "crashed", time.time() - LOCK_SECONDS - 1, LOCK_SECONDS) == ""
    assert guard.handler({"execution_id": EXECUTION + "next"}, None)["execution_id"] == EXECUTION + "next"


class _Executions:
    """DescribeExecution answering ``status`` for every execution (StopExecution leaves ABORTED, and no state runs
    after it: the stopped run's notify step never releases the lock)."""

    def __init__(self, status: str) -> None:
        self.status = status

    def describe_execution(self, executionArn: str) -> dict[str, str]:
        return {"executionArn": executionArn, "status": self.status}


@pytest.mark.parametrize(("status", "taken"), [("ABORTED", True), ("FAILED", True), ("RUNNING", False)])
def test_a_lock_held_by_an_execution_that_ended_is_taken_over_and_a_running_ones_is_not(
    cloud, armed, monkeypatch, status, taken
):
    """Stopping a stuck run and asking again must not be refused for the lock's hour; a run still going keeps it."""
    client = guard.aws.client
    monkeypatch.setattr(
        guard.aws, "client", lambda name, *a: _Executions(status) if name == "stepfunctions" else client(name, *a)
    )
    guard.handler({"execution_id": EXECUTION + "stopped"}, None)
    if taken:
        assert guard.handler({"execution_id": EXECUTION + "next"}, None)["execution_id"] == EXECUTION + "next"
        assert control_item(cloud, "lock")["holder"] == EXECUTION + "next"
    else:
        with pytest.raises(ConcurrentFailoverError, match="stopped"):
            guard.handler({"execution_id": EXECUTION + "next"}, None)
        assert control_item(cloud, "lock")["holder"] == EXECUTION + "stopped"


def _traffic_in_dr(cloud, table):
    control.set_traffic(
        cloud("dynamodb"), table, contract.TRAFFIC_DR, EXECUTION + "failover", "2024-05-01T10:05:00+00:00"
    )


def _failback(cloud, *, lag: float | None, **extra):
    if lag is not None:
        cloud("cloudwatch", PRIMARY).put_metric_data(
            Namespace=NAMESPACE, MetricData=[{"MetricName": contract.REPLICATION_LAG, "Value": lag}]
        )
    event = {"execution_id": EXECUTION + "failback", "mode": "failback", "lag_threshold_seconds": 5, **extra}
    return guard.handler(event, None)


def test_a_failback_with_traffic_and_writer_in_the_primary_has_nothing_to_do(cloud, armed):
    """The recovery rule fires on ALARM -> OK whether or not a failover happened."""
    with pytest.raises(NothingToFailBackError, match="primary region already"):
        _failback(cloud, lag=1)
    _nothing_recorded(cloud)


def test_failback_is_refused_while_the_primary_lags(cloud, armed):
    _traffic_in_dr(cloud, armed)
    with pytest.raises(ReplicationLagError, match="45 s exceeds 5 s"):
        _failback(cloud, lag=45)
    _nothing_recorded(cloud)
    assert control_item(cloud, "lock") == {}


def test_failback_is_refused_without_lag_data_and_forced_through_with_force(cloud, armed):
    _traffic_in_dr(cloud, armed)
    with pytest.raises(ReplicationLagError, match="no ReplicationLagSeconds"):
        _failback(cloud, lag=None)
    forced = _failback(cloud, lag=None, force=True)
    assert forced["mode"] == "failback" and forced["planned"] is True and forced["lag_seconds"] is None


def test_failback_proceeds_once_replication_caught_up(cloud, armed):
    _traffic_in_dr(cloud, armed)
    result = _failback(cloud, lag=2)
    assert result["lag_seconds"] == 2 and _recorded(cloud)[0]["mode"] == "failback"


def test_request_defaults_follow_the_trigger():
    alarm_event = {"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change"}
    assert Request.from_event(alarm_event) == Request(mode="failover", planned=False)
    assert Request.from_event({"mode": "failback"}).planned is True
    with pytest.raises(ValueError, match="mode"):
        Request.from_event({"mode": "sideways"})
