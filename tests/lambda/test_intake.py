"""app/intake.py: an order is acknowledged (202) only once the order ledger holds it, then it is queued.

moto has no multi-Region strong consistency (MRSC), so the ledger is a plain moto table per Region and
``MrscLedger`` below models MRSC's rules over them, as documented:

- a write returns only after it is replicated to a second Region, a replica or the witness; a Region that
  reaches neither accepts no write and no strongly consistent read (only eventually consistent reads)
  (https://docs.aws.amazon.com/prescriptive-guidance/latest/dynamodb-global-tables/overview.html);
- a conditional write is evaluated against the latest version of the item, whichever Region wrote it; MRSC
  supports no transactions and no TTL
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/V2globaltables_HowItWorks.html);
- a write that conflicts with a concurrent write from another Region fails with ReplicatedWriteConflictException
  (HTTP 400), which is retryable (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html).

The model replicates synchronously: a write goes to the local replica table, to the other replica's table when
that Region is up and to the witness (a log of the items) when it is up, before it returns; a Region about to
serve a write or a strongly consistent read first takes what it lacks from the members it reaches (ledger items
are written once, so the items it lacks are all there is to take). Every assertion reads what the moto tables,
the moto queues and CloudWatch actually hold, with clients of the test's own.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from app import intake
from botocore.exceptions import ClientError

from .conftest import DR, NAMESPACE, metric_values

US_EAST_1, US_EAST_2, US_WEST_2 = "us-east-1", "us-east-2", "us-west-2"  # replicas and witness, one region set
LEDGER = "order-ledger-test"
NO_SLEEP: Callable[[float], None] = lambda _seconds: None  # noqa: E731 - retries without waiting
ORDER = {"order_id": "ord-1", "symbol": "ACME", "side": "buy", "quantity": 10, "price": "101.25"}


def client_error(code: str, status: int, operation: str, message: str = "") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message or code}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation
    )


def create_ledger(cloud: Callable[..., Any], region: str, table: str = LEDGER) -> None:
    """One replica's table as the data layer defines it: partition key order_id only, no TTL."""
    cloud("dynamodb", region).create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


def table_items(cloud: Callable[..., Any], region: str, table: str = LEDGER) -> dict[str, dict[str, Any]]:
    """What a Region's table physically holds, by order_id (a plain moto client, no model in between)."""
    items = cloud("dynamodb", region).scan(TableName=table, ConsistentRead=True)["Items"]
    return {item["order_id"]["S"]: item for item in items}


class MrscLedger:
    """An MRSC global table over plain moto tables: replicas in ``replicas``, a witness in ``witness`` (see the
    module's docstring for the rules and their sources). ``client(region)`` stands for that Region's DynamoDB
    client; ``lose``/``restore`` take a Region off the network and back."""

    def __init__(
        self,
        cloud: Callable[..., Any],
        replicas: tuple[str, str] = (US_EAST_1, US_EAST_2),
        witness: str = US_WEST_2,
        table: str = LEDGER,
    ) -> None:
        self.cloud, self.replicas, self.witness, self.table = cloud, replicas, witness, table
        self.up = dict.fromkeys((*replicas, witness), True)
        self.witness_log: dict[str, dict[str, Any]] = {}  # the witness's copy of the replicated writes
        self.conflicts: dict[str, list[dict[str, Any] | None]] = {region: [] for region in replicas}
        for region in replicas:
            create_ledger(cloud, region, table)

    def client(self, region: str) -> MrscClient:
        return MrscClient(self, region)

    def lose(self, region: str) -> None:
        self.up[region] = False

    def restore(self, region: str) -> None:
        self.up[region] = True

    def conflict_once(self, region: str, other_regions_write: dict[str, Any] | None = None) -> None:
        """The next write in ``region`` collides with a concurrent write from the other Region; when given,
        that write (an item) wins and is committed everywhere first."""
        self.conflicts[region].append(other_regions_write)

    def other(self, region: str) -> str:
        return next(r for r in self.replicas if r != region)

    def quorum(self, region: str, operation: str) -> None:
        """The local Region plus a second member (the other replica or the witness), else the request fails."""
        if not self.up[region] or not (self.up[self.other(region)] or self.up[self.witness]):
            raise client_error(
                "InternalServerError",
                500,
                operation,
                f"{region} reaches neither {self.other(region)} nor the witness {self.witness}",
            )

    def catch_up(self, region: str) -> None:
        """Take the items this replica lacks from the members it reaches (ledger items are written once)."""
        have = table_items(self.cloud, region, self.table)
        sources = [self.witness_log] if self.up[self.witness] else []
        if self.up[self.other(region)]:
            sources.append(table_items(self.cloud, self.other(region), self.table))
        for source in sources:
            for key, item in source.items():
                if key not in have:
                    self.cloud("dynamodb", region).put_item(TableName=self.table, Item=item)
                    have[key] = item

    def replicate(self, region: str, item: dict[str, Any]) -> None:
        """Synchronously, before the write returns: to the other replica (if up) and the witness (if up)."""
        if self.up[self.other(region)]:
            self.cloud("dynamodb", self.other(region)).put_item(TableName=self.table, Item=item)
        if self.up[self.witness]:
            self.witness_log[item["order_id"]["S"]] = item


class MrscClient:
    """The few DynamoDB calls the ledger's code makes, in one Region of an ``MrscLedger``."""

    def __init__(self, ledger: MrscLedger, region: str) -> None:
        self.ledger, self.region = ledger, region
        self.local = ledger.cloud("dynamodb", region)

    def put_item(self, **request: Any) -> dict[str, Any]:
        self.ledger.quorum(self.region, "PutItem")
        self.ledger.catch_up(self.region)  # so the condition sees the latest version
        if self.ledger.conflicts[self.region]:
            winner = self.ledger.conflicts[self.region].pop(0)
            if winner is not None:
                other = self.ledger.other(self.region)
                self.ledger.cloud("dynamodb", other).put_item(TableName=self.ledger.table, Item=winner)
                self.ledger.replicate(other, winner)
            raise client_error("ReplicatedWriteConflictException", 400, "PutItem")
        response = self.local.put_item(**request)  # moto evaluates the ConditionExpression on the local replica
        self.ledger.replicate(self.region, request["Item"])
        return response

    def get_item(self, **request: Any) -> dict[str, Any]:
        self._read("GetItem", request)
        return self.local.get_item(**request)

    def scan(self, **request: Any) -> dict[str, Any]:
        self._read("Scan", request)
        return self.local.scan(**request)

    def _read(self, operation: str, request: dict[str, Any]) -> None:
        if request.get("ConsistentRead"):
            self.ledger.quorum(self.region, operation)
            self.ledger.catch_up(self.region)
        elif not self.ledger.up[self.region]:
            raise client_error("InternalServerError", 500, operation, f"{self.region} is down")


def api_event(order: Any, *, base64_encoded: bool = False) -> dict[str, Any]:
    """An API Gateway REST proxy integration event for POST /trades."""
    body = order if isinstance(order, str) else json.dumps(order)
    if base64_encoded:
        body = base64.b64encode(body.encode()).decode()
    return {
        "resource": "/trades",
        "path": "/trades",
        "httpMethod": "POST",
        "body": body,
        "isBase64Encoded": base64_encoded,
        "requestContext": {"stage": "prod", "httpMethod": "POST"},
    }


def answer(response: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message in the queue now, as parsed JSON bodies (deleted once read)."""
    bodies = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=600).get(
        "Messages", []
    ):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def submit(
    ledger: MrscLedger,
    cloud: Callable[..., Any],
    region: str,
    queue_url: str,
    order: dict[str, Any],
    now: float = 1_767_225_600.0,
) -> tuple[int, dict[str, Any]]:
    """POST the order to the intake of ``region``, whose ledger client is the model's."""
    return answer(
        intake.accept(
            api_event(order),
            dynamodb=ledger.client(region),
            sqs=cloud("sqs", region),
            cloudwatch=cloud("cloudwatch", region),
            table=LEDGER,
            queue_url=queue_url,
            namespace=NAMESPACE,
            region=region,
            now=now,
            sleep=NO_SLEEP,
        )
    )


# -- through the handler, against one plain table (the HTTP contract) ------------------------------------------
@pytest.fixture
def intake_env(cloud, monkeypatch) -> dict[str, Any]:
    """The intake's environment in the DR test region: the ledger table and the trade queue exist."""
    create_ledger(cloud, DR)
    sqs = cloud("sqs", DR)
    queue_url = sqs.create_queue(QueueName="trades")["QueueUrl"]
    monkeypatch.setenv("LEDGER_TABLE", LEDGER)
    monkeypatch.setenv("QUEUE_URL", queue_url)
    return {"sqs": sqs, "queue_url": queue_url}


def test_a_new_order_is_committed_to_the_ledger_then_queued(cloud, intake_env):
    status, body = answer(intake.handler(api_event(ORDER), None))
    assert (status, body) == (202, {"order_id": "ord-1", "status": "accepted"})
    item = table_items(cloud, DR)["ord-1"]
    accepted_at = float(item.pop("accepted_at")["N"])
    assert item == {
        "order_id": {"S": "ord-1"},
        "symbol": {"S": "ACME"},
        "side": {"S": "buy"},
        "quantity": {"N": "10"},
        "price": {"N": "101.25"},
        "accepted_in": {"S": DR},
    }
    assert accepted_at > 1_700_000_000  # epoch seconds
    assert drain(intake_env["sqs"], intake_env["queue_url"]) == [
        {"order_id": "ord-1", "price": "101.25", "quantity": "10", "side": "buy", "symbol": "ACME"}
    ]


def test_a_base64_encoded_body_is_decoded(cloud, intake_env):
    status, body = answer(intake.handler(api_event(ORDER, base64_encoded=True), None))
    assert (status, body["status"]) == (202, "accepted") and set(table_items(cloud, DR)) == {"ord-1"}


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (api_event("not json"), "body is not JSON"),
        (api_event({**ORDER, "side": "hold"}), "side must be buy or sell"),
        (api_event({**ORDER, "quantity": -5}), "quantity must be positive"),
        (api_event({**ORDER, "order_id": "bad id!"}), "bad order_id"),
        (api_event({**ORDER, "price": "1e200"}), "out of range"),  # beyond what a DynamoDB number holds
        (api_event({**ORDER, "quantity": "1." + "1" * 40}), "significant digits"),
        ({**api_event(ORDER), "body": "%%%", "isBase64Encoded": True}, "not base64"),
        ({**api_event(ORDER), "body": None}, "body is not JSON"),
    ],
)
def test_a_bad_order_gets_400_and_is_neither_committed_nor_queued(cloud, intake_env, event, reason):
    status, body = answer(intake.handler(event, None))
    assert status == 400 and reason in body["error"] and "\n" not in body["error"]
    assert table_items(cloud, DR) == {} and drain(intake_env["sqs"], intake_env["queue_url"]) == []


def test_the_same_order_again_is_already_accepted_and_queued_again(cloud, intake_env):
    assert answer(intake.handler(api_event(ORDER), None))[0] == 202
    first = table_items(cloud, DR)["ord-1"]
    again = {**ORDER, "quantity": "10.0"}  # the same quantity, written differently
    assert answer(intake.handler(api_event(again), None)) == (202, {"order_id": "ord-1", "status": "already accepted"})
    assert table_items(cloud, DR)["ord-1"] == first  # the committed order is untouched
    assert [m["order_id"] for m in drain(intake_env["sqs"], intake_env["queue_url"])] == ["ord-1", "ord-1"]


def test_a_different_order_under_a_committed_order_id_gets_409(cloud, intake_env):
    assert answer(intake.handler(api_event(ORDER), None))[0] == 202
    first = table_items(cloud, DR)["ord-1"]
    status, body = answer(intake.handler(api_event({**ORDER, "price": "99"}), None))
    assert status == 409 and "ord-1" in body["error"]
    assert table_items(cloud, DR)["ord-1"] == first
    assert len(drain(intake_env["sqs"], intake_env["queue_url"])) == 1  # only the first was queued


def test_a_ledger_that_does_not_take_the_order_gets_503_and_nothing_is_queued(cloud, intake_env, monkeypatch):
    monkeypatch.setenv("LEDGER_TABLE", "no-such-ledger")
    status, body = answer(intake.handler(api_event(ORDER), None))
    assert status == 503 and "retry with the same order_id" in body["error"]
    assert drain(intake_env["sqs"], intake_env["queue_url"]) == []


def test_an_order_committed_but_not_queued_is_still_accepted_and_reported(cloud, intake_env, monkeypatch):
    gone = intake_env["queue_url"].rsplit("/", 1)[0] + "/no-such-queue"
    monkeypatch.setenv("QUEUE_URL", gone)
    assert answer(intake.handler(api_event(ORDER), None)) == (202, {"order_id": "ord-1", "status": "accepted"})
    assert set(table_items(cloud, DR)) == {"ord-1"}
    assert metric_values(cloud, "OrdersNotQueued", DR) == [1.0]
    # The client's retry (or the failover's replay) queues it: the send that failed is repaired.
    monkeypatch.setenv("QUEUE_URL", intake_env["queue_url"])
    assert answer(intake.handler(api_event(ORDER), None))[1]["status"] == "already accepted"
    assert [m["order_id"] for m in drain(intake_env["sqs"], intake_env["queue_url"])] == ["ord-1"]
    assert metric_values(cloud, "OrdersNotQueued", DR) == [1.0]  # nothing new to report


# -- against the MRSC model: what a Region's loss does to acknowledged orders ----------------------------------
@pytest.fixture
def mrsc(cloud) -> tuple[MrscLedger, dict[str, str]]:
    """The ledger across us-east-1/us-east-2 (witness us-west-2), and a trade queue in each replica Region."""
    queues = {
        region: cloud("sqs", region).create_queue(QueueName="trades")["QueueUrl"] for region in (US_EAST_1, US_EAST_2)
    }
    return MrscLedger(cloud), queues


def test_every_acknowledged_order_survives_the_loss_of_the_region_that_took_it(cloud, mrsc):
    ledger, queues = mrsc
    orders = {f"ord-{n}": {**ORDER, "order_id": f"ord-{n}", "quantity": str(n)} for n in range(1, 5)}
    acknowledged = []
    for order_id in ("ord-1", "ord-2"):  # all three Regions up
        assert submit(ledger, cloud, US_EAST_1, queues[US_EAST_1], orders[order_id])[0] == 202
        acknowledged.append(order_id)
    ledger.lose(US_EAST_2)  # us-east-1 still reaches the witness: a quorum of two
    assert submit(ledger, cloud, US_EAST_1, queues[US_EAST_1], orders["ord-3"])[0] == 202
    acknowledged.append("ord-3")
    assert "ord-3" not in table_items(cloud, US_EAST_2)  # only us-east-1 and the witness have it now
    ledger.lose(US_WEST_2)  # us-east-1 reaches no second Region: no write is accepted
    status, body = submit(ledger, cloud, US_EAST_1, queues[US_EAST_1], orders["ord-4"])
    assert status == 503 and "retry with the same order_id" in body["error"]
    assert "ord-4" not in table_items(cloud, US_EAST_1)

    ledger.lose(US_EAST_1)  # the region is lost; us-east-2 and the witness come back
    ledger.restore(US_EAST_2)
    ledger.restore(US_WEST_2)
    survivor = ledger.client(US_EAST_2)
    for order_id in acknowledged:
        item = survivor.get_item(TableName=LEDGER, Key={"order_id": {"S": order_id}}, ConsistentRead=True)["Item"]
        sent = orders[order_id]
        assert (item["symbol"]["S"], item["side"]["S"], item["quantity"]["N"], item["price"]["N"]) == (
            sent["symbol"],
            sent["side"],
            sent["quantity"],
            sent["price"],
        )
        assert item["accepted_in"]["S"] == US_EAST_1
    assert set(table_items(cloud, US_EAST_2)) == set(acknowledged)  # what us-east-2's replica holds now
    # The order that was never acknowledged is retried by its client, against us-east-2 now.
    assert submit(ledger, cloud, US_EAST_2, queues[US_EAST_2], orders["ord-4"]) == (
        202,
        {"order_id": "ord-4", "status": "accepted"},
    )


def test_an_order_id_taken_in_one_region_is_refused_for_another_order_in_the_other(cloud, mrsc):
    """Conditional writes see the latest version across Regions: insert-once holds globally."""
    ledger, queues = mrsc
    assert submit(ledger, cloud, US_EAST_2, queues[US_EAST_2], ORDER)[0] == 202
    status, _ = submit(ledger, cloud, US_EAST_1, queues[US_EAST_1], {**ORDER, "side": "sell"})
    assert status == 409
    assert submit(ledger, cloud, US_EAST_1, queues[US_EAST_1], ORDER)[1]["status"] == "already accepted"
    assert {r: table_items(cloud, r)["ord-1"]["side"]["S"] for r in (US_EAST_1, US_EAST_2)} == {
        US_EAST_1: "buy",
        US_EAST_2: "buy",
    }


def test_a_replicated_write_conflict_is_retried(cloud, mrsc):
    ledger, queues = mrsc
    ledger.conflict_once(US_EAST_1)  # a concurrent write elsewhere that does not commit this item
    assert submit(ledger, cloud, US_EAST_1, queues[US_EAST_1], ORDER) == (
        202,
        {"order_id": "ord-1", "status": "accepted"},
    )
    winner = intake.ledger_item(
        intake.trades.parse_order(json.dumps({**ORDER, "order_id": "ord-2", "side": "sell"})),
        accepted_at=1.0,
        region=US_EAST_2,
    )
    ledger.conflict_once(US_EAST_1, winner)  # the other Region's write of ord-2 wins the race
    assert submit(ledger, cloud, US_EAST_1, queues[US_EAST_1], {**ORDER, "order_id": "ord-2"})[0] == 409
    assert table_items(cloud, US_EAST_1)["ord-2"]["side"]["S"] == "sell"
    assert [m["order_id"] for m in drain(cloud("sqs", US_EAST_1), queues[US_EAST_1])] == ["ord-1"]


def test_the_model_refuses_what_mrsc_refuses(cloud, mrsc):
    """The stand-in itself: no quorum, no write and no strongly consistent read; an eventually consistent one
    is still served locally."""
    ledger, _ = mrsc
    ledger.lose(US_EAST_2)
    ledger.lose(US_WEST_2)
    isolated = ledger.client(US_EAST_1)
    item = {"order_id": {"S": "x"}}
    with pytest.raises(ClientError):
        isolated.put_item(TableName=LEDGER, Item=item)
    with pytest.raises(ClientError):
        isolated.get_item(TableName=LEDGER, Key=item, ConsistentRead=True)
    assert "Item" not in isolated.get_item(TableName=LEDGER, Key=item)
