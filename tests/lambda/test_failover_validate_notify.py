"""failover/validate.py (never raises, says what it saw) and failover/notify.py (SNS + metrics, once per run)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from drgen_common import contract, control
from drgen_common.notify import subject_line
from failover import dns, notify, promote, validate

from .conftest import CONTROL_TABLE, control_item, metric_values

PARAMETER = "/drgen/test/failover-state"
EXECUTION = "arn:aws:states:eu-west-2:123456789012:execution:failover:run-1"


@pytest.fixture
def env(global_database, health_endpoint, control_table, failover_records, monkeypatch):
    monkeypatch.setenv("GLOBAL_CLUSTER_ID", global_database.identifier)
    monkeypatch.setenv("DR_CLUSTER_ARN", global_database.dr_arn)
    monkeypatch.setenv("HEALTH_URL", f"{health_endpoint}/writer")
    monkeypatch.setenv("PRIMARY_HEALTH_URL", f"{health_endpoint}/writer")
    return global_database


def _failed_over(event=None):
    """The steps before validation: promotion (the stand-in makes the DR cluster the writer) and the DNS shift."""
    promote.handler(event or {}, None)
    dns.handler({"execution_id": EXECUTION, **(event or {})}, None)


def test_validate_passes_when_the_dr_cluster_writes_answers_as_writer_and_route53_answers_dr(env, promotion_calls):
    _failed_over()
    result = validate.handler({}, None)
    assert result["valid"] is True, result
    assert [check["name"] for check in result["checks"]] == ["writer", "endpoint", "dns"]
    assert "database is the writer" in result["checks"][1]["detail"]
    assert result["checks"][2]["detail"].startswith("Route 53 answers SECONDARY")


def test_validate_fails_without_raising_while_the_primary_still_writes_and_is_answered(env):
    result = validate.handler({}, None)
    assert result["valid"] is False
    writer, _, dns_check = result["checks"]
    assert writer["ok"] is False and f"writer {env.primary_arn}" in writer["detail"]
    assert dns_check["ok"] is False and "answers PRIMARY (wanted SECONDARY)" in dns_check["detail"]


def test_validate_does_not_take_the_dns_steps_word_for_it(env, promotion_calls, failover_records, monkeypatch):
    """Defect 6: the DNS step reported success but its gate is another check: Route 53 still answers PRIMARY."""
    promote.handler({}, None)
    monkeypatch.setenv("PRIMARY_HEALTH_CHECK_ID", failover_records.checks["SECONDARY"])
    assert dns.handler({"execution_id": EXECUTION}, None)["traffic_to"] == "dr"
    dns_check = validate.handler({}, None)["checks"][2]
    assert dns_check["ok"] is False and "answers PRIMARY" in dns_check["detail"]


@pytest.mark.parametrize(
    ("path", "detail"),
    [("/empty", "HTTP 200, 0 characters"), ("/down", "HTTP 503"), ("/reader", "not the writer yet")],
)
def test_validate_fails_on_an_endpoint_without_a_good_answer(
    env, promotion_calls, health_endpoint, monkeypatch, path, detail
):
    _failed_over()
    monkeypatch.setenv("HEALTH_URL", f"{health_endpoint}{path}")
    result = validate.handler({}, None)
    writer, endpoint, _ = result["checks"]
    assert result["valid"] is False and writer["ok"] is True
    assert endpoint["ok"] is False and detail in endpoint["detail"]


def test_a_failback_is_validated_against_the_primary(env, promotion_calls, health_endpoint, monkeypatch):
    _failed_over()
    _failed_over({"mode": "failback"})
    monkeypatch.setenv("HEALTH_URL", f"{health_endpoint}/down")  # the DR endpoint no longer matters
    result = validate.handler({"mode": "failback"}, None)
    assert result["valid"] is True, result
    assert result["checks"][2]["detail"].startswith("Route 53 answers PRIMARY (wanted PRIMARY)")


@pytest.mark.parametrize(("answered", "ok"), [({"10.0.0.9"}, True), ({"10.1.0.1"}, False)])
def test_without_route53_the_name_must_resolve_to_the_dr_endpoint(cloud, answered, ok):
    """Route 53's API is served from us-east-1; when it does not answer, the data plane decides."""
    addresses = {"app.example.com.": answered, "dr.example.net": {"10.0.0.9", "10.0.0.10"}}
    result = validate.dns_check(
        cloud("route53"),
        "/hostedzone/NOSUCHZONE",
        "app.example.com.",
        "SECONDARY",
        "dr.example.net",
        lambda name: addresses[name],
    )
    assert result["ok"] is ok and "Route 53 API" in result["detail"]


def test_validate_reports_a_missing_global_cluster_as_a_failed_check(env, monkeypatch):
    monkeypatch.setenv("GLOBAL_CLUSTER_ID", "no-such-global-cluster")
    result = validate.handler({}, None)
    assert result["valid"] is False and "not found" in result["checks"][0]["detail"]


@pytest.fixture
def inbox(cloud, control_table, monkeypatch):
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
    """What the guard leaves behind: the run's record and its lock."""
    started = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    state = {
        "execution_id": EXECUTION,
        "mode": "failover",
        "planned": False,
        "started_at": started.isoformat(),
        "status": "running",
    }
    cloud("ssm").put_parameter(Name=PARAMETER, Value=json.dumps(state), Type="String")
    control.acquire(cloud("dynamodb"), CONTROL_TABLE, EXECUTION, started.timestamp(), 3600)


def _state(cloud):
    return json.loads(cloud("ssm").get_parameter(Name=PARAMETER)["Parameter"]["Value"])


def test_notify_records_success_and_duration_once_and_releases_the_lock(cloud, inbox):
    _record_start(cloud, seconds_ago=95)
    event = {"execution_id": EXECUTION, "validation": {"valid": True, "checks": []}}
    first = notify.handler(event, None)
    assert first["outcome"] == "succeeded" and first["published"] is True and 95 <= first["duration_seconds"] < 120
    assert first["lock_released"] is True and control_item(cloud, "lock") == {}
    [message] = inbox()
    assert message["Subject"] == "drgen trading-ecs: failover succeeded"
    assert json.loads(message["Message"])["outcome"] == "succeeded"
    assert metric_values(cloud, contract.SUCCESS["failover"]) == [1.0]
    [duration] = metric_values(cloud, contract.DURATION["failover"])
    assert 95 <= duration < 120
    state = _state(cloud)
    assert state["status"] == "succeeded" and state["finished_at"]

    again = notify.handler(event, None)
    assert again == {"outcome": "succeeded", "duration_seconds": first["duration_seconds"], "published": False}
    assert inbox() == [] and metric_values(cloud, contract.SUCCESS["failover"], stat="SampleCount") == [1.0]


def test_a_notice_that_cannot_be_published_loses_nothing(cloud, inbox, monkeypatch):
    """Defect 4: publishing to an SSE-KMS topic without kms:GenerateDataKey fails; the outcome is recorded first
    and the run does not fail because of the notice (its alarms still page)."""
    _record_start(cloud, seconds_ago=30)
    monkeypatch.setenv("ALERT_TOPIC_ARN", "arn:aws:sns:eu-west-2:123456789012:no-such-topic")
    result = notify.handler({"execution_id": EXECUTION, "validation": {"valid": True}}, None)
    assert result["outcome"] == "succeeded" and result["published"] is False and result["lock_released"] is True
    assert metric_values(cloud, contract.SUCCESS["failover"]) == [1.0]
    assert _state(cloud)["status"] == "succeeded"


def test_a_failure_after_promotion_without_traffic_is_announced_as_critical(cloud, inbox):
    """Defect 10: NotifyFailure is told what was already done; a promoted writer with DNS not moved is the worst
    state to leave unannounced."""
    _record_start(cloud, seconds_ago=10)
    error = {"Error": "States.TaskFailed", "Cause": "ShiftDns: the control table did not answer"}
    progress = {
        "promotion": {"action": "failover", "target": "arn:aws:rds:eu-west-2:1:cluster:dr", "changed": True},
        "scale": {"changed": True},
        "error": error,
    }
    result = notify.handler({"execution_id": EXECUTION, "error": error, "progress": progress}, None)
    assert result["outcome"] == "failed"
    [message] = inbox()
    assert message["Subject"].startswith("CRITICAL drgen trading-ecs: failover failed after promoting the writer")
    done = json.loads(message["Message"])["done"]
    assert done == {
        "promotion_started": True,
        "promotion_target": "arn:aws:rds:eu-west-2:1:cluster:dr",
        "traffic_moved_to": None,
        "capacity_raised": True,
        "writer_promoted_without_traffic": True,
    }
    assert metric_values(cloud, contract.SUCCESS["failover"]) == [0.0]
    assert metric_values(cloud, contract.DURATION["failover"]) == []  # a failed run achieved no recovery time


def test_a_stand_down_publishes_no_outcome_metric(cloud, inbox):
    _record_start(cloud, seconds_ago=10)
    confirmation = {"confirmed": False, "waiting": False, "reason": "no signal fires any more: standing down"}
    assert notify.handler({"execution_id": EXECUTION, "confirmation": confirmation}, None)["outcome"] == "stood-down"
    assert [m["Subject"] for m in inbox()] == ["drgen trading-ecs: failover stood-down"]
    assert metric_values(cloud, contract.SUCCESS["failover"]) == [] and control_item(cloud, "lock") == {}


def test_notify_reports_a_refused_failback_without_metrics_or_touching_the_running_one(cloud, inbox):
    _record_start(cloud, seconds_ago=10)
    refused = {
        "execution_id": EXECUTION.replace("run-1", "run-2"),
        "mode": "failback",
        "error": {"Error": "ReplicationLagError", "Cause": "replication lag 45 s exceeds 5 s"},
    }
    assert notify.handler(refused, None)["outcome"] == "refused"
    assert [m["Subject"] for m in inbox()] == ["drgen trading-ecs: failback refused"]
    assert metric_values(cloud, contract.SUCCESS["failback"]) == []
    state = _state(cloud)
    assert state["execution_id"] == EXECUTION and state["status"] == "running"
    assert control_item(cloud, "lock")["holder"] == EXECUTION  # not released: not the refused run's


def test_a_subject_is_one_ascii_line_of_fewer_than_100_characters():
    """SNS Publish: subjects "less than 100 characters long", no line breaks: the CRITICAL notice of a scenario
    with a long name would otherwise be refused, and the notify step only logs a refused notice."""
    long = "CRITICAL drgen " + "a-very-long-scenario-name-" * 4 + ": failover failed after promoting the writer\n"
    assert len(subject_line(long)) == 99 and "\n" not in subject_line(long)
    assert subject_line("drgen \u00e9t\u00e9: ok") == "drgen ?t?: ok"
