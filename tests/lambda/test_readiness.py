"""readiness/app.py: the hourly check that the DR region could take over; FailoverReadiness 1/0 and an alert."""

from __future__ import annotations

import json
import os

import pytest
from drgen_common import contract, control
from readiness import app as readiness

from .conftest import DR, NAMESPACE, PRIMARY, control_item, metric_values

DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


@pytest.fixture
def ready_env(cloud, global_database, health_endpoint, monkeypatch):
    """Everything ready: endpoint up, DR replica in the global cluster, lag reported low, state machine there."""
    machine = cloud("stepfunctions", DR).create_state_machine(
        name="failover", definition=DEFINITION, roleArn="arn:aws:iam::123456789012:role/failover"
    )["stateMachineArn"]
    topic = cloud("sns", PRIMARY).create_topic(Name="alerts")["TopicArn"]
    queue = cloud("sqs", PRIMARY).create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = cloud("sqs", PRIMARY).get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    cloud("sns", PRIMARY).subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
    _report_lag(cloud, 1.5)
    env = {
        "AWS_REGION": PRIMARY,  # the primary's readiness function looks across at the DR region
        "GLOBAL_CLUSTER_ID": global_database.identifier,
        "HEALTH_URL": f"{health_endpoint}/ok",
        "STATE_MACHINE_ARN": machine,
        "LAG_THRESHOLD_SECONDS": "30",
        "ALERT_TOPIC_ARN": topic,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    def alerts():
        received = cloud("sqs", PRIMARY).receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
        return [json.loads(m["Body"])["Subject"] for m in received.get("Messages", [])]

    return alerts


def _report_lag(cloud, seconds):
    """What the DR region's lag monitor publishes there."""
    cloud("cloudwatch", DR).put_metric_data(
        Namespace=NAMESPACE, MetricData=[{"MetricName": contract.REPLICATION_LAG, "Value": seconds}]
    )


def _checks(result):
    return {check["name"]: check["ok"] for check in result["checks"]}


def test_readiness_passes_and_publishes_1(cloud, ready_env):
    result = readiness.handler({}, None)
    assert result["ready"] is True
    assert _checks(result) == {"endpoint": True, "standby": True, "replication lag": True, "state machine": True}
    assert metric_values(cloud, contract.FAILOVER_READINESS, region=PRIMARY) == [1.0]
    assert ready_env() == []


def test_readiness_fails_on_lag_and_a_missing_state_machine_and_alerts(cloud, ready_env, monkeypatch):
    _report_lag(cloud, 45)
    monkeypatch.setenv("STATE_MACHINE_ARN", "arn:aws:states:eu-west-2:123456789012:stateMachine:gone")
    result = readiness.handler({}, None)
    assert result["ready"] is False
    assert _checks(result) == {"endpoint": True, "standby": True, "replication lag": False, "state machine": False}
    assert metric_values(cloud, contract.FAILOVER_READINESS, region=PRIMARY) == [0.0]
    assert ready_env() == [f"drgen: failover not ready in {PRIMARY} (replication lag, state machine)"]


def test_readiness_fails_without_a_replica_to_fail_over_to(cloud, ready_env, global_database, monkeypatch):
    monkeypatch.setenv("HEALTH_URL", "")
    cloud("rds", PRIMARY).create_global_cluster(GlobalClusterIdentifier="lonely", Engine="aurora-postgresql")
    cloud("rds", PRIMARY).create_db_cluster(
        DBClusterIdentifier="lonely-primary",
        Engine="aurora-postgresql",
        EngineVersion="16.8",
        MasterUsername="dbadmin",
        MasterUserPassword="not-a-real-password",
        GlobalClusterIdentifier="lonely",
    )
    monkeypatch.setenv("GLOBAL_CLUSTER_ID", "lonely")
    result = readiness.handler({}, None)
    standby = next(check for check in result["checks"] if check["name"] == "standby")
    assert result["ready"] is False and "no replica outside" in standby["detail"]
    assert "endpoint" not in _checks(result)


def test_the_first_passing_test_in_the_dr_region_arms_the_failover_triggers(
    cloud, ready_env, control_table, monkeypatch
):
    """Defect 8: until the environment has passed readiness once, the guard stands every trigger down."""
    monkeypatch.setenv("AWS_REGION", DR)  # the DR region's readiness function has the control table
    monkeypatch.setenv("HEALTH_URL", "")
    dynamodb = cloud("dynamodb")
    monkeypatch.setenv("CONTROL_TABLE", "")
    assert readiness.handler({}, None)["armed_now"] is False  # the primary region's: no table to arm
    monkeypatch.setenv("CONTROL_TABLE", control_table)
    machine = os.environ["STATE_MACHINE_ARN"]
    monkeypatch.setenv("STATE_MACHINE_ARN", machine.replace(":failover", ":gone"))
    assert readiness.handler({}, None)["armed_now"] is False and control.armed(dynamodb, control_table) == {}
    monkeypatch.setenv("STATE_MACHINE_ARN", machine)  # not ready above; ready now
    first = readiness.handler({}, None)
    assert first["ready"] is True and first["armed_now"] is True
    assert control_item(cloud, "armed")["by"] == "readiness"
    assert readiness.handler({}, None)["armed_now"] is False  # armed once; later passes change nothing
