"""failover/validate.py (never raises, says what it saw) and failover/notify.py (SNS + metrics, once per run)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from drgen_common import metrics
from failover import notify, promote, validate

from .conftest import metric_values

PARAMETER = "/drgen/test/failover-state"
EXECUTION = "arn:aws:states:eu-west-2:123456789012:execution:failover:run-1"


@pytest.fixture
def env(global_database, health_endpoint, monkeypatch):
    monkeypatch.setenv("GLOBAL_CLUSTER_ID", global_database.identifier)
    monkeypatch.setenv("DR_CLUSTER_ARN", global_database.dr_arn)
    monkeypatch.setenv("HEALTH_URL", f"{health_endpoint}/ok")
    return global_database


def test_validate_passes_when_the_dr_cluster_writes_and_the_endpoint_answers(env, promotion_calls):
    promote.handler({}, None)
    result = validate.handler({}, None)
    assert result["valid"] is True
    assert [check["name"] for check in result["checks"]] == ["writer", "endpoint"]
    assert "HTTP 200" in result["checks"][1]["detail"]


def test_validate_fails_without_raising_while_the_primary_still_writes(env):
    result = validate.handler({}, None)
    assert result["valid"] is False
    writer = result["checks"][0]
    assert writer["ok"] is False and f"writer {env.primary_arn}" in writer["detail"]


@pytest.mark.parametrize(("path", "detail"), [("/empty", "HTTP 200, 0 characters"), ("/down", "HTTP 503")])
def test_validate_fails_on_an_endpoint_without_a_good_answer(
    env, promotion_calls, health_endpoint, monkeypatch, path, detail
):
    promote.handler({}, None)
    monkeypatch.setenv("HEALTH_URL", f"{health_endpoint}{path}")
    result = validate.handler({}, None)
    writer, endpoint = result["checks"]
    assert result["valid"] is False and writer["ok"] is True
    assert endpoint["ok"] is False and detail in endpoint["detail"]


def test_validate_reports_a_missing_global_cluster_as_a_failed_check(cloud, monkeypatch, health_endpoint):
    monkeypatch.setenv("GLOBAL_CLUSTER_ID", "no-such-global-cluster")
    monkeypatch.setenv("DR_CLUSTER_ARN", "arn:aws:rds:eu-west-2:123456789012:cluster:aurora-dr")
    monkeypatch.setenv("HEALTH_URL", f"{health_endpoint}/ok")
    result = validate.handler({}, None)
    assert result["valid"] is False and "not found" in result["checks"][0]["detail"]


@pytest.fixture
def inbox(cloud, monkeypatch):
    """The alert topic with an SQS subscription, so a test can read what was published."""
    topic = cloud("sns").create_topic(Name="alerts")["TopicArn"]
    queue = cloud("sqs").create_queue(QueueName="alerts-inbox")["QueueUrl"]
    queue_arn = cloud("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    cloud("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["QueueArn"])
    monkeypatch.setenv("ALERT_TOPIC_ARN", topic)
    monkeypatch.setenv("STATE_PARAMETER", PARAMETER)
    monkeypatch.setenv("SCENARIO", "trading-ecs")

    def messages():
        received = cloud("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        return [json.loads(m["Body"]) for m in received.get("Messages", [])]

    return messages


def _record_start(cloud, seconds_ago):
    started = (datetime.now(UTC) - timedelta(seconds=seconds_ago)).isoformat()
    state = {
        "execution_id": EXECUTION,
        "mode": "failover",
        "planned": False,
        "started_at": started,
        "status": "running",
    }
    cloud("ssm").put_parameter(Name=PARAMETER, Value=json.dumps(state), Type="String")


def test_notify_publishes_success_and_duration_once(cloud, inbox):
    _record_start(cloud, seconds_ago=95)
    event = {"execution_id": EXECUTION, "validation": {"valid": True, "checks": []}}
    first = notify.handler(event, None)
    assert first["outcome"] == "succeeded" and first["published"] is True and 95 <= first["duration_seconds"] < 120
    [message] = inbox()
    assert message["Subject"] == "drgen trading-ecs: failover succeeded"
    assert json.loads(message["Message"])["outcome"] == "succeeded"
    assert metric_values(cloud, metrics.SUCCESS["failover"]) == [1.0]
    [duration] = metric_values(cloud, metrics.DURATION["failover"])
    assert 95 <= duration < 120
    state = json.loads(cloud("ssm").get_parameter(Name=PARAMETER)["Parameter"]["Value"])
    assert state["status"] == "succeeded" and state["finished_at"]

    again = notify.handler(event, None)
    assert again == {"outcome": "succeeded", "duration_seconds": first["duration_seconds"], "published": False}
    assert inbox() == [] and metric_values(cloud, metrics.SUCCESS["failover"], stat="SampleCount") == [1.0]


def test_notify_publishes_a_failure_after_a_caught_error(cloud, inbox):
    _record_start(cloud, seconds_ago=10)
    error = {"Error": "States.Timeout", "Cause": "promotion did not finish"}
    assert notify.handler({"execution_id": EXECUTION, "error": error}, None)["outcome"] == "failed"
    [message] = inbox()
    assert json.loads(message["Message"])["error"] == error
    assert metric_values(cloud, metrics.SUCCESS["failover"]) == [0.0]
    assert metric_values(cloud, metrics.DURATION["failover"]) == []  # a failed run achieved no recovery time


def test_notify_reports_a_refused_run_without_metrics_or_touching_the_running_one(cloud, inbox):
    _record_start(cloud, seconds_ago=10)
    refused = {
        "execution_id": EXECUTION.replace("run-1", "run-2"),
        "error": {"Error": "ConcurrentFailoverError", "Cause": "another failover is already running"},
    }
    assert notify.handler(refused, None)["outcome"] == "refused"
    assert [m["Subject"] for m in inbox()] == ["drgen trading-ecs: failover refused"]
    assert metric_values(cloud, metrics.SUCCESS["failover"]) == []
    state = json.loads(cloud("ssm").get_parameter(Name=PARAMETER)["Parameter"]["Value"])
    assert state["execution_id"] == EXECUTION and state["status"] == "running"
