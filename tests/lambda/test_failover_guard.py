"""failover/guard.py: one failover at a time, the start recorded once, no failback while replication lags."""

from __future__ import annotations

import json

import pytest
from drgen_common import metrics
from drgen_common.failover import ConcurrentFailoverError, ReplicationLagError, Request
from failover import guard

from .conftest import PRIMARY

PARAMETER = "/drgen/test/failover-state"
DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


@pytest.fixture
def state_machine(cloud, monkeypatch):
    arn = cloud("stepfunctions").create_state_machine(
        name="failover", definition=DEFINITION, roleArn="arn:aws:iam::123456789012:role/failover"
    )["stateMachineArn"]
    monkeypatch.setenv("STATE_MACHINE_ARN", arn)
    monkeypatch.setenv("STATE_PARAMETER", PARAMETER)
    return arn


def _start(cloud, state_machine, name):
    return cloud("stepfunctions").start_execution(stateMachineArn=state_machine, name=name)["executionArn"]


def _recorded(cloud):
    parameter = cloud("ssm").get_parameter(Name=PARAMETER)["Parameter"]
    return json.loads(parameter["Value"]), parameter["Version"]


def test_guard_records_the_start_once(cloud, state_machine):
    execution = _start(cloud, state_machine, "first")
    event = {"execution_id": execution, "started_at": "2024-05-01T10:00:00.000Z"}
    result = guard.handler(event, None)
    assert result["execution_id"] == execution and result["status"] == "running"
    recorded, version = _recorded(cloud)
    assert recorded == {
        "execution_id": execution,
        "mode": "failover",
        "planned": False,
        "started_at": "2024-05-01T10:00:00.000Z",
        "status": "running",
    }
    assert guard.handler(event, None) == result  # a retried step changes nothing
    assert _recorded(cloud) == (recorded, version)


def test_guard_refuses_a_second_concurrent_run(cloud, state_machine):
    first = _start(cloud, state_machine, "first")
    second = _start(cloud, state_machine, "second")
    with pytest.raises(ConcurrentFailoverError, match="first"):
        guard.handler({"execution_id": second}, None)
    assert guard.handler({"execution_id": first}, None)["execution_id"] == first  # the older run goes on
    assert _recorded(cloud)[0]["execution_id"] == first


def _failback(cloud, state_machine, *, lag: float | None, **extra):
    if lag is not None:
        cloud("cloudwatch", PRIMARY).put_metric_data(
            Namespace="drgen/test", MetricData=[{"MetricName": metrics.REPLICATION_LAG, "Value": lag}]
        )
    execution = _start(cloud, state_machine, "failback")
    return guard.handler({"execution_id": execution, "mode": "failback", "lag_threshold_seconds": 5, **extra}, None)


def test_failback_is_refused_while_the_primary_lags(cloud, state_machine):
    with pytest.raises(ReplicationLagError, match="45 s exceeds 5 s"):
        _failback(cloud, state_machine, lag=45)
    ssm = cloud("ssm")
    with pytest.raises(ssm.exceptions.ParameterNotFound):  # nothing was recorded
        ssm.get_parameter(Name=PARAMETER)


def test_failback_is_refused_without_lag_data_and_forced_through_with_force(cloud, state_machine):
    with pytest.raises(ReplicationLagError, match="no ReplicationLagSeconds"):
        _failback(cloud, state_machine, lag=None)
    refused = cloud("stepfunctions").list_executions(stateMachineArn=state_machine)["executions"][0]
    cloud("stepfunctions").stop_execution(executionArn=refused["executionArn"])  # the refused run ended
    forced = guard.handler(
        {"execution_id": _start(cloud, state_machine, "forced"), "mode": "failback", "force": True}, None
    )
    assert forced["mode"] == "failback" and forced["planned"] is True and forced["lag_seconds"] is None


def test_failback_proceeds_once_replication_caught_up(cloud, state_machine):
    result = _failback(cloud, state_machine, lag=2)
    assert result["lag_seconds"] == 2 and _recorded(cloud)[0]["mode"] == "failback"


def test_request_defaults_follow_the_trigger():
    alarm_event = {"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change"}
    assert Request.from_event(alarm_event) == Request(mode="failover", planned=False)
    assert Request.from_event({"mode": "failback"}).planned is True
    with pytest.raises(ValueError, match="mode"):
        Request.from_event({"mode": "sideways"})
