"""The contract between the foundation layer's outputs and the later layers' parameters.

Foundation builders publish these output names; ``foundation_inputs`` declares the matching parameters
in a later template (same region, plus the few values that come from the other region).
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import Ref, Split

from drgen.builders.context import OutputRef, StackContext
from drgen.bundle.manifest import LayerName
from drgen.bundle.names import ALERT_TOPIC_ARN
from drgen.scenario.model import Role

KMS_KEY_ARN = "KmsKeyArn"
VPC_ID = "VpcId"
PRIVATE_SUBNET_IDS = "PrivateSubnetIds"
PUBLIC_SUBNET_IDS = "PublicSubnetIds"
PRIVATE_ROUTE_TABLE_IDS = "PrivateRouteTableIds"
DATABASE_SECURITY_GROUP_ID = "DatabaseSecurityGroupId"
PEERING_CONNECTION_ID = "PeeringConnectionId"

PEER_KMS_KEY_ARN = "PeerKmsKeyArn"
PEER_VPC_ID = "PeerVpcId"


@dataclass(frozen=True)
class FoundationInputs:
    """Refs to the foundation values a later regional template needs."""

    kms_key_arn: Ref
    peer_kms_key_arn: Ref  # the DR region's key; only set for the primary (empty in the DR stack)
    private_subnet_ids: Split
    private_route_table_ids: Split | None  # only when the scenario peers (the DR side adds peering routes)
    database_security_group_id: Ref
    alert_topic_arn: Ref
    peering_connection_id: Ref | None  # only set for the DR stack, when the scenario peers


def peer_kms_key_arn(ctx: StackContext) -> Ref:
    """The DR region's KMS key ARN, fed to the primary's stacks (replicas are encrypted with it)."""
    return ctx.input(
        PEER_KMS_KEY_ARN,
        "KMS key ARN in the DR region (for replicas there); empty in the DR region's own stack.",
        {Role.PRIMARY: OutputRef(LayerName.FOUNDATION, Role.SECONDARY, KMS_KEY_ARN)},
    )


def foundation_inputs(ctx: StackContext) -> FoundationInputs:
    peering = route_tables = None
    if ctx.scenario.network.peering:
        route_tables = Split(
            ",",
            ctx.same_region(LayerName.FOUNDATION, PRIVATE_ROUTE_TABLE_IDS, "Private route table IDs, comma-separated."),
        )
        peering = ctx.input(
            PEERING_CONNECTION_ID,
            "The inter-region VPC peering connection (created by the primary's foundation).",
            {Role.SECONDARY: OutputRef(LayerName.FOUNDATION, Role.PRIMARY, PEERING_CONNECTION_ID)},
        )
    return FoundationInputs(
        kms_key_arn=ctx.same_region(LayerName.FOUNDATION, KMS_KEY_ARN, "This region's KMS key ARN."),
        peer_kms_key_arn=peer_kms_key_arn(ctx),
        private_subnet_ids=Split(
            ",", ctx.same_region(LayerName.FOUNDATION, PRIVATE_SUBNET_IDS, "Private subnet IDs, comma-separated.")
        ),
        private_route_table_ids=route_tables,
        database_security_group_id=ctx.same_region(
            LayerName.FOUNDATION, DATABASE_SECURITY_GROUP_ID, "Security group of the database."
        ),
        alert_topic_arn=ctx.same_region(LayerName.FOUNDATION, ALERT_TOPIC_ARN, "This region's alert topic."),
        peering_connection_id=peering,
    )
