"""Sessions: the DynamoDB global table (primary stack only), PITR and per-replica KMS.

A global table is owned by exactly one stack in one region, so only the primary's data stack declares it,
with a replica in its own region and one in the DR region, each encrypted with that region's key.
"""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Ref, Sub, Tags, dynamodb

from drgen.builders.context import IS_PRIMARY, StackContext
from drgen.builders.inputs import FoundationInputs
from drgen.builders.tags import make_tags, tag_list, tag_values
from drgen.bundle.names import SESSION_PARTITION_KEY

# What the DR replica's tags say instead of the primary stack's own region and role.
_PEER_PLACEHOLDERS = {"${AWS::Region}": "${PeerRegion}", "${Role}": "secondary"}


def global_table(ctx: StackContext, foundation: FoundationInputs) -> None:
    """The sessions table replicated to both regions, when the scenario keeps sessions."""
    sessions = ctx.scenario.sessions
    if not sessions.enabled:
        return
    name = ctx.names.fixed("table", sessions.table)
    table = ctx.add(
        dynamodb.GlobalTable(
            "SessionsTable",
            Condition=IS_PRIMARY,
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[dynamodb.AttributeDefinition(AttributeName=SESSION_PARTITION_KEY, AttributeType="S")],
            KeySchema=[dynamodb.KeySchema(AttributeName=SESSION_PARTITION_KEY, KeyType="HASH")],
            TimeToLiveSpecification=dynamodb.TimeToLiveSpecification(
                AttributeName=sessions.ttl_attribute, Enabled=True
            ),
            # Required with more than one replica.
            StreamSpecification=dynamodb.StreamSpecification(StreamViewType="NEW_AND_OLD_IMAGES"),
            SSESpecification=dynamodb.GlobalTableSSESpecification(SSEEnabled=True, SSEType="KMS"),
            Replicas=[
                replica(Ref("AWS::Region"), foundation.kms_key_arn, tag_list(ctx)),
                replica(Ref("PeerRegion"), foundation.peer_kms_key_arn, peer_tags(ctx)),
            ],
            DeletionPolicy="Delete",
            UpdateReplacePolicy="Delete",
        )
    )
    ctx.output("SessionsTableName", name, "The sessions global table (same name in both regions).")
    ctx.output("SessionsTableArn", GetAtt(table, "Arn"), "The sessions table ARN (primary replica).", IS_PRIMARY)


def replica(region: Ref, key_arn: Ref, tags: Tags) -> dynamodb.ReplicaSpecification:
    """One region's replica: its own KMS key, point-in-time recovery, destroyable."""
    return dynamodb.ReplicaSpecification(
        Region=region,
        SSESpecification=dynamodb.ReplicaSSESpecification(KMSMasterKeyId=key_arn),
        PointInTimeRecoverySpecification=dynamodb.PointInTimeRecoverySpecification(PointInTimeRecoveryEnabled=True),
        DeletionProtectionEnabled=False,
        Tags=tags,
    )


def peer_tags(ctx: StackContext) -> Tags:
    """The scenario's tags as the DR replica should carry them: its region, the secondary role."""
    return make_tags([(key, _as_peer(value)) for key, value in tag_values(ctx)])


def _as_peer(value: Any) -> Any:
    """A tag value resolved for the DR replica; a Sub left without variables becomes plain text."""
    if not isinstance(value, Sub):
        return value
    text = value.data["Fn::Sub"]
    for own, peer in _PEER_PLACEHOLDERS.items():
        text = text.replace(own, peer)
    return Sub(text) if "${" in text else text
