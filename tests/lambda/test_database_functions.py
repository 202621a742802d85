"""The functions that talk to PostgreSQL: connectivity test, lag monitor, health endpoint, trade processor.

A real PostgreSQL (TLS on) stands for Aurora; a role whose transactions are read-only stands for the DR
region's replica (writes fail with SQLSTATE 25006, as on an Aurora global secondary).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from app import health, trades
from connectivity import app as connectivity
from drgen_common import contract, db
from drgen_common.metrics import Metric
from lag_monitor import app as lag_monitor

from .conftest import PRIMARY, metric_values, read_only, store_secret, unreachable

FAST = lag_monitor.Schedule(samples=2, interval=0.05, beat=0.01, overlap=0.05)


@pytest.fixture
def secret_env(cloud, monkeypatch):
    """Point DB_SECRET_NAME at a secret for ``target`` (the endpoint comes from the secret, as in the primary)."""

    def use(target: db.Target) -> None:
        monkeypatch.setenv("DB_SECRET_NAME", store_secret(cloud, f"db-{target.user}-{target.port}", target))

    return use


def test_connectivity_publishes_1_against_the_database(cloud, database, secret_env):
    secret_env(database)
    result = connectivity.handler({}, None)
    assert result["connected"] is True and result["error"] == ""
    assert metric_values(cloud, contract.DATABASE_CONNECTIVITY) == [1.0]


def test_connectivity_publishes_0_against_a_closed_port_without_raising(cloud, database, secret_env):
    secret_env(unreachable(database))
    result = connectivity.handler({}, None)
    assert result["connected"] is False and "InterfaceError" in result["error"]
    assert metric_values(cloud, contract.DATABASE_CONNECTIVITY) == [0.0]


def _age(target: db.Target, region: str) -> float | None:
    connection = db.connect(target)
    try:
        return lag_monitor.heartbeat_age(connection, region)
    finally:
        connection.close()


def test_lag_monitor_beats_in_the_writer_region(database):
    published: list[Metric] = []
    connection = db.connect(database)
    try:
        result = lag_monitor.monitor(connection, region=PRIMARY, schedule=FAST, publish=published.append)
        rows = connection.run("SELECT region, now() - beat < interval '5 seconds' FROM drgen_heartbeat")
    finally:
        connection.close()
    assert result["role"] == "writer" and result["beats"] >= 2  # kept beating through the window
    assert rows == [[PRIMARY, True]] and published == []


def test_lag_monitor_measures_the_heartbeat_age_in_the_replica_region(cloud, database, secret_env, monkeypatch):
    writer = db.connect(database)
    try:
        lag_monitor.monitor(writer, region=PRIMARY, schedule=FAST, publish=pytest.fail)
        writer.run("UPDATE drgen_heartbeat SET beat = beat - interval '42 seconds'")  # replication fell behind
    finally:
        writer.close()
    secret_env(read_only(database))
    monkeypatch.setenv("SAMPLES", "2")
    monkeypatch.setenv("SAMPLE_INTERVAL_SECONDS", "0.05")
    result = lag_monitor.handler({}, None)  # runs in the DR region (AWS_REGION), as the replica
    assert result["role"] == "replica"
    assert len(result["lag_seconds"]) == 2 and all(42 <= lag < 47 for lag in result["lag_seconds"])
    assert 42 <= max(metric_values(cloud, contract.REPLICATION_LAG)) < 47


def test_lag_monitor_schedule_fits_the_invocation_budget():
    # the writer beats through the next minute's invocation: a late schedule leaves no gap in the heartbeat
    assert lag_monitor.Schedule(samples=6, interval=10).window == 60 + lag_monitor.OVERLAP_SECONDS
    tight = lag_monitor.Schedule(samples=4, interval=30, budget=85)  # a 90 s timeout minus the margin
    assert tight.window == 85 and tight.sample_count == 3


def test_lag_monitor_on_a_replica_without_heartbeats_publishes_nothing(database):
    published: list[Metric] = []
    connection = db.connect(read_only(database))
    try:
        result = lag_monitor.monitor(connection, region="eu-west-2", schedule=FAST, publish=published.append)
    finally:
        connection.close()
    assert result == {"role": "replica", "region": "eu-west-2", "lag_seconds": [None, None]} and published == []


ALB_EVENT = {"requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:..."}}, "path": "/health"}
API_EVENT = {"requestContext": {"stage": "prod", "httpMethod": "GET"}, "path": "/health", "resource": "/health"}


def _orders(*bodies: object) -> dict:
    return {
        "Records": [
            {"messageId": f"m{i}", "body": body if isinstance(body, str) else json.dumps(body)}
            for i, body in enumerate(bodies)
        ]
    }


ORDER = {"order_id": "ord-1", "symbol": "ACME", "side": "buy", "quantity": 10, "price": "101.25"}


def test_trades_are_stored_once_per_order_and_bad_records_are_reported(database):
    cache = db.ConnectionCache(lambda: db.connect(database))
    batch = _orders(ORDER, "not json", {**ORDER, "order_id": "ord-2", "side": "hold"}, {**ORDER, "order_id": "ord-3"})
    assert trades.process(batch["Records"], cache, region=PRIMARY) == {
        "batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]
    }
    redelivered = _orders({**ORDER, "price": 999}, {**ORDER, "order_id": "ord-3"})  # SQS delivers at least once
    assert trades.process(redelivered["Records"], cache, region=PRIMARY) == {"batchItemFailures": []}
    rows = cache.run(
        lambda c: c.run("SELECT order_id, symbol, side, quantity::text, price::text FROM trades ORDER BY 1")
    )
    assert rows == [["ord-1", "ACME", "buy", "10", "101.25"], ["ord-3", "ACME", "buy", "10", "101.25"]]
    cache.discard()


def _bus_feeding_a_queue(cloud) -> tuple[Any, str]:
    """An application bus whose rule delivers every trade event to a queue the test reads."""
    events, sqs = cloud("events", region=PRIMARY), cloud("sqs", region=PRIMARY)
    events.create_event_bus(Name="app-events")
    queue_url = sqs.create_queue(QueueName="seen")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all-trades", EventBusName="app-events", EventPattern=json.dumps({"source": ["t.trades"]}))
    events.put_targets(Rule="all-trades", EventBusName="app-events", Targets=[{"Id": "q", "Arn": queue_arn}])
    return sqs, queue_url


def _seen(sqs: Any, queue_url: str) -> list[dict]:
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_stored_trades_are_announced_on_the_bus_at_least_once(cloud, database):
    sqs, queue_url = _bus_feeding_a_queue(cloud)
    events = cloud("events", region=PRIMARY)

    def announce(orders):
        trades.publish(events, "app-events", "t.trades", orders, region=PRIMARY)

    cache = db.ConnectionCache(lambda: db.connect(database))
    batch = _orders(ORDER, "not json", {**ORDER, "order_id": "ord-2"})
    assert trades.process(batch["Records"], cache, region=PRIMARY, announce=announce) == {
        "batchItemFailures": [{"itemIdentifier": "m1"}]
    }
    seen = _seen(sqs, queue_url)
    assert sorted(e["detail"]["order_id"] for e in seen) == ["ord-1", "ord-2"]  # the bad record is not announced
    assert {(e["detail-type"], e["source"], e["detail"]["region"]) for e in seen} == {
        ("Trade Recorded", "t.trades", PRIMARY)
    }
    assert seen[0]["detail"]["price"] == "101.25" and seen[0]["detail"]["symbol"] == "ACME"
    # A batch whose events were refused fails as a whole: SQS redelivers it, the orders are no-ops in the
    # database and their events go out again.
    with pytest.raises(Exception, match="app-gone"):
        trades.process(
            _orders({**ORDER, "order_id": "ord-3"})["Records"],
            cache,
            region=PRIMARY,
            announce=lambda orders: trades.publish(events, "app-gone", "t.trades", orders, region=PRIMARY),
        )
    trades.process(_orders({**ORDER, "order_id": "ord-3"})["Records"], cache, region=PRIMARY, announce=announce)
    assert [e["detail"]["order_id"] for e in _seen(sqs, queue_url)] == ["ord-3"]
    cache.discard()


def test_trades_in_the_replica_region_fail_the_whole_batch(database):
    cache = db.ConnectionCache(lambda: db.connect(read_only(database)))
    with pytest.raises(Exception) as raised:
        trades.process(_orders(ORDER)["Records"], cache, region="eu-west-2")
    assert db.is_read_only(raised.value)  # the messages stay queued until this region is promoted


def test_trade_handler_reads_its_database_from_the_secret(cloud, database, secret_env, monkeypatch):
    secret_env(database)
    monkeypatch.setattr(trades, "CONNECTIONS", db.ConnectionCache(trades._connect))
    assert trades.handler(_orders(ORDER), None) == {"batchItemFailures": []}
    trades.CONNECTIONS.discard()


@pytest.mark.parametrize("event", [ALB_EVENT, API_EVENT], ids=["alb", "api-gateway"])
def test_health_answers_200_with_real_data(cloud, database, secret_env, monkeypatch, event):
    cache = db.ConnectionCache(lambda: db.connect(database))
    trades.process(_orders(ORDER)["Records"], cache, region=PRIMARY)
    lag_monitor.monitor(cache.get(), region=PRIMARY, schedule=FAST, publish=pytest.fail)
    cache.discard()
    secret_env(database)
    monkeypatch.setattr(health, "CONNECTIONS", db.ConnectionCache(health._connect))
    response = health.handler(event, None)
    health.CONNECTIONS.discard()
    assert response["statusCode"] == 200
    assert '"status":"ok"' in response["body"]  # what Route 53's HTTPS_STR_MATCH check searches for
    body = json.loads(response["body"])
    assert body["database"]["writer"] is True and body["database"]["trades"]["count"] == 1
    assert set(body["database"]["heartbeats"]) == {PRIMARY}
    assert ("statusDescription" in response) is (event is ALB_EVENT)


def test_health_answers_503_when_the_database_does_not(database):
    cache = db.ConnectionCache(lambda: db.connect(unreachable(database), timeout=2))
    response = health.health(ALB_EVENT, cache, region="eu-west-2")
    assert response["statusCode"] == 503 and response["statusDescription"] == "503 Service Unavailable"
    assert json.loads(response["body"]) == {"status": "unavailable", "region": "eu-west-2"}


def test_health_on_the_replica_reports_it_is_not_the_writer(database):
    cache = db.ConnectionCache(lambda: db.connect(read_only(database)))
    response = health.health(API_EVENT, cache, region="eu-west-2")
    cache.discard()
    body = json.loads(response["body"])
    assert response["statusCode"] == 200 and body["database"]["writer"] is False and body["database"]["trades"] is None


def test_after_a_failover_the_old_primary_measures_the_lag_through_its_reader_endpoint(cloud, database, monkeypatch):
    """Defect 5: the old primary's cluster is now a secondary, its writer endpoint inactive. Without the reader
    endpoint no lag would be published there, and the guard would refuse every failback."""
    writer = db.connect(database)
    try:
        lag_monitor.monitor(writer, region="eu-west-2", schedule=FAST, publish=pytest.fail)  # the DR region writes
    finally:
        writer.close()
    monkeypatch.setenv("DB_SECRET_NAME", store_secret(cloud, "db-replica", read_only(database), region=PRIMARY))
    monkeypatch.setenv("AWS_REGION", PRIMARY)
    monkeypatch.setenv("DB_ENDPOINT", "inactive-writer-endpoint.invalid")  # resolves nowhere, as an inactive one
    monkeypatch.setenv("DB_READER_ENDPOINT", database.host)
    monkeypatch.setenv("SAMPLES", "1")
    result = lag_monitor.handler({}, None)
    assert result["role"] == "replica" and result["region"] == PRIMARY
    assert len(metric_values(cloud, contract.REPLICATION_LAG, region=PRIMARY)) == 1  # where the guard reads it


class _GlobalCluster:
    """DescribeGlobalClusters answering ``endpoint`` as the global writer endpoint (moto names it by a host that
    does not resolve, so the path through it is shown with a real host here)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def describe_global_clusters(self, **_: Any) -> dict[str, Any]:
        return {"GlobalClusters": [{"GlobalClusterIdentifier": "global-db", "Endpoint": self.endpoint}]}


def test_a_writer_connects_through_the_global_writer_endpoint_first(database):
    """After a promotion this region's own endpoint may lead nowhere useful; the global writer endpoint leads to
    the current primary's writer (Aurora moves it): the processor connects there, and stores the order."""
    regional = db.Target("writer.invalid", database.port, database.database, database.user, database.password)
    targets = db.writer_targets(_GlobalCluster(database.host), regional, "global-db")
    assert [t.host for t in targets] == [database.host]
    cache = db.ConnectionCache(lambda: db.connect_first(targets))
    assert trades.process(_orders(ORDER)["Records"], cache, region="eu-west-2") == {"batchItemFailures": []}
    assert cache.run(
        lambda connection: connection.run("SELECT region FROM trades WHERE order_id = :id", id=ORDER["order_id"])
    ) == [["eu-west-2"]]
    cache.discard()


def test_a_known_global_endpoint_out_of_reach_fails_the_write_instead_of_using_this_regions(cloud, database):
    """Split brain: after an unplanned failover Aurora's write fencing of the old primary is best effort, so a
    writer that cannot reach the global writer endpoint must not fall back to this region's (possibly the old
    primary's) endpoint, which answers here (``database``)."""
    unreachable = db.writer_targets(_GlobalCluster("global-db.global-0000.invalid"), database, "global-db")
    assert [t.host for t in unreachable] == ["global-db.global-0000.invalid"]
    with pytest.raises(Exception) as raised:
        db.connect_first(unreachable, timeout=2)
    assert db.is_connection_error(raised.value)  # the batch fails and SQS delivers it again
    rds = cloud("rds")
    rds.create_global_cluster(GlobalClusterIdentifier="global-db", Engine="aurora-postgresql")
    [from_moto] = db.writer_targets(rds, database, "global-db")  # the real response's Endpoint key
    assert from_moto.host.startswith("global-db.") and from_moto.port == database.port


def test_without_a_global_endpoint_to_read_the_writer_uses_this_regions(cloud, database):
    rds = cloud("rds")
    assert db.writer_targets(rds, database, "no-such-cluster") == [database]  # a failed lookup never stops writes
    assert db.writer_targets(rds, database, None) == [database]
