"""The order ledger: a DynamoDB global table with multi-Region strong consistency (primary stack only).

An order is acknowledged once the intake function has written it here. With MultiRegionConsistency STRONG a
write returns only after it is replicated to a second region (the other replica or the witness), so losing a
region loses no acknowledged order (RPO 0); the surviving replica keeps taking writes and strongly consistent
reads while it and the witness can reach each other
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/V2globaltables_HowItWorks.html). Such a table
has exactly two replicas and a witness in a third region of the same region set, chosen at creation; it supports
neither transactions nor TTL, so the ledger keeps every order (a ledger's job) and the intake writes one item
with a condition (idempotent by order id). Like the sessions table, one stack owns it: the primary's data stack.
"""

from __future__ import annotations

from typing import Any

from awacs import dynamodb, kms
from awacs.aws import Allow, Statement
from troposphere import GetAtt, Ref, Sub
from troposphere import dynamodb as tdynamodb

from drgen.builders import api, inputs
from drgen.builders.context import IS_PRIMARY, StackContext
from drgen.builders.iam import DESTROYABLE
from drgen.builders.inputs import FoundationInputs
from drgen.builders.sessions import peer_tags, replica
from drgen.builders.tags import tag_list
from drgen.lambda_code import contract
from drgen.scenario.model import Role

LEDGER_TABLE_NAME = "LedgerTableName"
STRONG = "STRONG"


def table_name(ctx: StackContext) -> str:
    return ctx.names.fixed("table", ctx.scenario.ledger.table)


def global_table(ctx: StackContext, foundation: FoundationInputs) -> None:
    """Both regions' replicas (each under its region's key, with point-in-time recovery) and the witness."""
    ledger = ctx.scenario.ledger
    if not ledger.enabled:
        return
    # A parameter, as PeerRegion: one template serves both regions (lint W9006); only the primary's stack uses it.
    witness = ctx.parameter(
        "LedgerWitnessRegion",
        "The third region of the order ledger's strongly consistent quorum (holds no data, takes no reads).",
        values={Role.PRIMARY: str(ledger.witness_region), Role.SECONDARY: str(ledger.witness_region)},
    )
    table = ctx.add(
        tdynamodb.GlobalTable(
            "LedgerTable",
            Condition=IS_PRIMARY,
            TableName=table_name(ctx),
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[tdynamodb.AttributeDefinition(AttributeName=contract.ORDER_ID, AttributeType="S")],
            KeySchema=[tdynamodb.KeySchema(AttributeName=contract.ORDER_ID, KeyType="HASH")],
            MultiRegionConsistency=STRONG,
            GlobalTableWitnesses=[tdynamodb.GlobalTableWitness(Region=witness)],
            SSESpecification=tdynamodb.GlobalTableSSESpecification(SSEEnabled=True, SSEType="KMS"),
            Replicas=[
                replica(Ref("AWS::Region"), foundation.kms_key_arn, tag_list(ctx)),
                replica(Ref("PeerRegion"), foundation.peer_kms_key_arn, peer_tags(ctx)),
            ],
            **DESTROYABLE,  # as every stateful resource of drgen's: `drgen destroy` is the explicit choice
        )
    )
    ctx.output(LEDGER_TABLE_NAME, table_name(ctx), "The order ledger (same name in both regions).")
    ctx.output("LedgerTableArn", GetAtt(table, "Arn"), "The order ledger's ARN (primary replica).", IS_PRIMARY)


def _table_arn(ctx: StackContext) -> Sub:
    """This region's replica (the intake and the replay use their own region's, never the other's)."""
    return Sub(f"arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/{table_name(ctx)}")


def _queue(ctx: StackContext, region: str) -> tuple[Sub, Sub]:
    """The trade queue's URL and ARN in ``region`` (AWS::Region or PeerRegion), by its name."""
    text = ctx.names.regional_text if region == "AWS::Region" else ctx.names.peer_text
    name = text("sqs", api.QUEUE_PURPOSE)
    url = Sub(f"https://sqs.${{{region}}}.${{AWS::URLSuffix}}/${{AWS::AccountId}}/{name}")
    return url, Sub(f"arn:${{AWS::Partition}}:sqs:${{{region}}}:${{AWS::AccountId}}:{name}")


def _items(ctx: StackContext, actions: list[Any]) -> list[Statement]:
    """Item access to this region's replica; the table is under this region's key (readers need kms:Decrypt)."""
    return [
        Statement(Effect=Allow, Action=actions, Resource=[_table_arn(ctx)]),
        Statement(Effect=Allow, Action=[kms.Decrypt], Resource=[inputs.key_arn(ctx)]),
    ]


def intake_env(ctx: StackContext) -> dict[str, Any]:
    return {contract.LEDGER_TABLE: table_name(ctx)}


def intake_grants(ctx: StackContext, queue: api.TradeQueue) -> list[Statement]:
    """Write (and read back, for a repeated order id) the order, then queue it."""
    return [*_items(ctx, [dynamodb.PutItem, dynamodb.GetItem]), *api.sender_grants(ctx, [queue.arn])]


def replay_env(ctx: StackContext) -> dict[str, Any]:
    """The DR region's replay step: this region's queue on a failover, the primary's on a failback."""
    return {
        contract.LEDGER_TABLE: table_name(ctx),
        contract.QUEUE_URL: _queue(ctx, "AWS::Region")[0],
        contract.PRIMARY_QUEUE_URL: _queue(ctx, "PeerRegion")[0],
        contract.REPLAY_SECONDS: str(ctx.scenario.ledger.replay_seconds),
    }


def replay_grants(ctx: StackContext, primary_key: Any) -> list[Statement]:
    """Scan this region's replica; send to both regions' queues (the primary's on a failback, under its key)."""
    queues = [_queue(ctx, "AWS::Region")[1], _queue(ctx, "PeerRegion")[1]]
    return [
        *_items(ctx, [dynamodb.Scan]),
        *api.sender_grants(ctx, queues),
        Statement(Effect=Allow, Action=[kms.GenerateDataKey, kms.Decrypt], Resource=[primary_key]),
    ]
