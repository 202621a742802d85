"""failover/replay.py: the ledger's recent orders queued again where the writer now is; the idempotent processor
(app/trades.py) then stores each acknowledged order exactly once, in the real PostgreSQL.

The ledger across Regions is the MRSC model of test_intake.py (moto has no multi-Region strong consistency); the
handler's own tests use one plain moto table. What counts is what the queues and PostgreSQL actually hold.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from app import trades
from botocore.exceptions import ClientError
from drgen_common import clock, db
from failover import replay

from .conftest import DR, PRIMARY, metric_values
from .test_intake import (
    LEDGER,
    NO_SLEEP,
    ORDER,
    US_EAST_1,
    US_EAST_2,
    US_WEST_2,
    MrscLedger,
    create_ledger,
    submit,
)

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z
WINDOW = 3600  # REPLAY_SECONDS in these tests


def receive_all(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message in the queue now, as the SQS event's records the processor gets (deleted once read)."""
    records = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=600).get(
        "Messages", []
    ):
        for message in messages:
            records.append({"messageId": message["MessageId"], "body": message["Body"]})
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return records


def stored_trades(cache: db.ConnectionCache) -> list[list[Any]]:
    return cache.run(
        lambda c: c.run(
            "SELECT order_id, symbol, side, quantity::text, price::text, region FROM trades ORDER BY order_id"
        )
    )


# -- (b) the zero-loss path: acknowledged in us-east-1, us-east-1 lost, replayed and processed in us-east-2 ------
def test_after_the_loss_of_a_region_every_acknowledged_order_is_stored_exactly_once(cloud, database):
    ledger = MrscLedger(cloud)
    queues = {
        region: cloud("sqs", region).create_queue(QueueName="trades")["QueueUrl"] for region in (US_EAST_1, US_EAST_2)
    }
    cache = db.ConnectionCache(lambda: db.connect(database))
    sent = {
        f"ord-{n}": {**ORDER, "order_id": f"ord-{n}", "quantity": str(n), "price": f"{100 + n}.5"} for n in range(1, 9)
    }

    for order_id in ("ord-1", "ord-2", "ord-3", "ord-4", "ord-5"):
        assert submit(ledger, cloud, US_EAST_1, queues[US_EAST_1], sent[order_id], now=NOW - 60)[0] == 202
    # Committed but not queued (the send failed): 202 all the same, reported by OrdersNotQueued.
    gone = queues[US_EAST_1].rsplit("/", 1)[0] + "/no-such-queue"
    assert submit(ledger, cloud, US_EAST_1, gone, sent["ord-6"], now=NOW - 50)[0] == 202
    assert metric_values(cloud, "OrdersNotQueued", US_EAST_1) == [1.0]
    ledger.lose(US_EAST_2)  # acknowledged with the witness as the second Region
    assert submit(ledger, cloud, US_EAST_1, queues[US_EAST_1], sent["ord-7"], now=NOW - 40)[0] == 202
    ledger.lose(US_WEST_2)  # no quorum: not acknowledged
    assert submit(ledger, cloud, US_EAST_1, queues[US_EAST_1], sent["ord-8"], now=NOW - 30)[0] == 503
    acknowledged = ["ord-1", "ord-2", "ord-3", "ord-4", "ord-5", "ord-6", "ord-7"]

    # us-east-1's processor took ord-1 and ord-2 before the region was lost; the rest of its queue is lost with it.
    waiting = receive_all(cloud("sqs", US_EAST_1), queues[US_EAST_1])
    assert sorted(json.loads(r["body"])["order_id"] for r in waiting) == [
        "ord-1",
        "ord-2",
        "ord-3",
        "ord-4",
        "ord-5",
        "ord-7",
    ]
    taken = [r for r in waiting if json.loads(r["body"])["order_id"] in ("ord-1", "ord-2")]
    assert trades.process(taken, cache, region=US_EAST_1) == {"batchItemFailures": []}

    ledger.lose(US_EAST_1)
    ledger.restore(US_EAST_2)
    ledger.restore(US_WEST_2)
    sqs = cloud("sqs", US_EAST_2)
    for attempt in range(2):  # the step retried as a whole: everything is sent again
        result = replay.replay(
            dynamodb=ledger.client(US_EAST_2),
            sqs=sqs,
            table=LEDGER,
            queue_url=queues[US_EAST_2],
            since=NOW - WINDOW,
            page_items=3,
            sleep=NO_SLEEP,
        )
        records = receive_all(sqs, queues[US_EAST_2])
        assert sorted(json.loads(r["body"])["order_id"] for r in records) == acknowledged, attempt
        assert result["replayed"] == len(records) == len(acknowledged)
        assert trades.process(records, cache, region=US_EAST_2) == {"batchItemFailures": []}

    expected = [
        [
            order_id,
            "ACME",
            "buy",
            sent[order_id]["quantity"],
            sent[order_id]["price"],
            US_EAST_1 if order_id in ("ord-1", "ord-2") else US_EAST_2,
        ]
        for order_id in acknowledged
    ]
    assert stored_trades(cache) == expected  # each once; ord-8 (503) never; ord-1/2 kept from us-east-1
    assert cache.run(lambda c: c.run("SELECT count(*), count(DISTINCT order_id) FROM trades")) == [[7, 7]]
    cache.discard()


# -- the handler, against one plain table ---------------------------------------------------------------------
def _item(order_id: str, accepted_at: float, **fields: str) -> dict[str, Any]:
    order = {**ORDER, "order_id": order_id, "quantity": "3", **fields}
    return {
        "order_id": {"S": order_id},
        "symbol": {"S": order["symbol"]},
        "side": {"S": order["side"]},
        "quantity": {"N": order["quantity"]},
        "price": {"N": order["price"]},
        "accepted_at": {"N": f"{accepted_at:.3f}"},
        "accepted_in": {"S": PRIMARY},
    }


@pytest.fixture
def replay_env(cloud, monkeypatch) -> dict[str, str]:
    """The DR region's ledger replica with orders around the window's edge, a trade queue of the same name in
    both regions (so a client in the wrong region would fill the wrong one), and the clock at NOW."""
    create_ledger(cloud, DR)
    inside = [_item(f"in-{n:02d}", NOW - n * 100) for n in range(12)]
    edge = _item("in-edge", NOW - WINDOW)  # accepted_at >= since: replayed
    outside = [_item("out-1", NOW - WINDOW - 0.001), _item("out-2", NOW - 10 * WINDOW)]
    for item in (*inside, edge, *outside):
        cloud("dynamodb", DR).put_item(TableName=LEDGER, Item=item)
    queues = {region: cloud("sqs", region).create_queue(QueueName="trades")["QueueUrl"] for region in (PRIMARY, DR)}
    monkeypatch.setenv("LEDGER_TABLE", LEDGER)
    monkeypatch.setenv("QUEUE_URL", queues[DR])
    monkeypatch.setenv("PRIMARY_QUEUE_URL", queues[PRIMARY])
    monkeypatch.setenv("REPLAY_SECONDS", str(WINDOW))
    monkeypatch.setattr(clock, "source", lambda: NOW)
    return queues


REPLAYED = sorted([f"in-{n:02d}" for n in range(12)] + ["in-edge"])


def _queued(cloud, region: str, queue_url: str) -> list[dict[str, Any]]:
    return sorted(
        (json.loads(r["body"]) for r in receive_all(cloud("sqs", region), queue_url)), key=lambda body: body["order_id"]
    )


def test_a_failover_replays_the_window_into_this_regions_queue(cloud, replay_env):
    result = replay.handler({"mode": "failover", "execution_id": "exec-1"}, None)
    assert result == {"replayed": 13, "skipped": 0, "queue": replay_env[DR], "since": "2025-12-31T23:00:00.000+00:00"}
    queued = _queued(cloud, DR, replay_env[DR])
    assert [body["order_id"] for body in queued] == REPLAYED
    assert queued[0] == {"order_id": "in-00", "price": "101.25", "quantity": "3", "side": "buy", "symbol": "ACME"}
    assert trades.parse_order(json.dumps(queued[0])).quantity == 3  # the processor's own reading of it
    assert _queued(cloud, PRIMARY, replay_env[PRIMARY]) == []


def test_a_failback_replays_into_the_primary_regions_queue(cloud, replay_env):
    result = replay.handler({"mode": "failback", "execution_id": "exec-2"}, None)
    assert result["queue"] == replay_env[PRIMARY] and result["replayed"] == 13
    assert [body["order_id"] for body in _queued(cloud, PRIMARY, replay_env[PRIMARY])] == REPLAYED
    assert _queued(cloud, DR, replay_env[DR]) == []


def test_a_replay_that_cannot_queue_fails_the_step(cloud, replay_env, monkeypatch):
    monkeypatch.setenv("QUEUE_URL", replay_env[DR].rsplit("/", 1)[0] + "/no-such-queue")
    with pytest.raises(ClientError) as raised:
        replay.handler({"mode": "failover"}, None)
    assert "NonExistentQueue" in raised.value.response["Error"]["Code"]


def test_a_window_that_is_not_positive_is_a_configuration_error(replay_env, monkeypatch):
    monkeypatch.setenv("REPLAY_SECONDS", "0")
    with pytest.raises(replay.config.ConfigError, match="REPLAY_SECONDS"):
        replay.handler({"mode": "failover"}, None)


def test_an_item_that_is_not_an_order_is_skipped_not_fatal(cloud, replay_env):
    cloud("dynamodb", DR).put_item(TableName=LEDGER, Item={"order_id": {"S": "junk"}, "accepted_at": {"N": str(NOW)}})
    result = replay.handler({"mode": "failover"}, None)
    assert (result["replayed"], result["skipped"]) == (13, 1)
    assert [body["order_id"] for body in _queued(cloud, DR, replay_env[DR])] == REPLAYED


class FlakySqs:
    """SendMessageBatch that reports entries as failed (SQS answers 200 with a ``Failed`` list), then works."""

    def __init__(self, failures: list[dict[str, Any]]) -> None:
        self.failures, self.calls = failures, []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.calls.append([entry["Id"] for entry in Entries])
        failed = [{**self.failures.pop(0), "Id": entry["Id"]} for entry in Entries[:1]] if self.failures else []
        return {
            "Successful": [{"Id": e["Id"]} for e in Entries if e["Id"] not in {f["Id"] for f in failed}],
            "Failed": failed,
        }


def test_failed_batch_entries_are_sent_again_and_a_sender_fault_raises():
    sqs = FlakySqs([{"SenderFault": False, "Code": "InternalError"}])
    assert replay.send_batch(sqs, "q", ["a", "b", "c"], sleep=NO_SLEEP) == 3
    assert sqs.calls == [["0", "1", "2"], ["0"]]  # only the failed entry again
    sqs = FlakySqs([{"SenderFault": True, "Code": "InvalidMessageContents", "Message": "bad"}])
    with pytest.raises(replay.NotQueuedError, match="1 of 2 order"):
        replay.send_batch(sqs, "q", ["a", "b"], sleep=NO_SLEEP)
    assert sqs.calls == [["0", "1"]]


def test_the_primary_queue_region_is_read_from_its_url():
    assert replay.queue_region("https://sqs.us-east-1.amazonaws.com/123456789012/trades") == "us-east-1"
    assert replay.queue_region("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/trades") == "cn-north-1"
    assert replay.queue_region("https://eu-west-1.queue.amazonaws.com/123456789012/trades") == "eu-west-1"
    assert replay.queue_region("http://127.0.0.1:5000/123456789012/trades") == ""  # then PRIMARY_REGION


def test_the_ledger_is_read_in_parallel_segments_that_together_cover_it():
    """Every segment is scanned to its end, and each item comes back once, whichever segment holds it."""
    pages = {0: [["a"], ["b"]], 1: [], 2: [["c"]]}
    asked: list[tuple[int, int]] = []

    class _Table:
        def scan(self, **request):
            segment, start = request["Segment"], int((request.get("ExclusiveStartKey") or {}).get("n", 0))
            asked.append((segment, request["TotalSegments"]))
            found = pages[segment][start] if pages[segment] else []
            more = start + 1 < len(pages[segment])
            return {"Items": found, **({"LastEvaluatedKey": {"n": str(start + 1)}} if more else {})}

    items = list(replay.recent_items(_Table(), "ledger", 0.0, segments=3))
    assert sorted(items) == ["a", "b", "c"]
    assert sorted(asked) == [(0, 3), (0, 3), (1, 3), (2, 3)]
