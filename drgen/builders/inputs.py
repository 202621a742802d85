"""Every value a stack reads from another stack: the output names layers publish, and the inputs that read them.

CloudFormation exports do not cross regions, so a value from another stack enters as a parameter declared with
``ctx.input`` (the manifest records which stack's output feeds it and the deployer passes it in). This module is
the one place that declares them: each function declares its parameter on first use and returns the Ref, so a
template carries only the parameters it reads (an unused parameter is a lint finding). Publishers take their
output names from here; the names deploy and operate read as well are in drgen/bundle/names.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from awacs import rds as rds_actions
from awacs.aws import Allow, Statement
from troposphere import If, Ref, Split, Sub

from drgen.builders.context import IS_SECONDARY, OutputRef, StackContext
from drgen.bundle import names
from drgen.bundle.manifest import LayerName
from drgen.bundle.names import camel
from drgen.scenario.model import ComputeKind, Role

REGIONAL = (Role.PRIMARY, Role.SECONDARY)

# -- what each layer publishes for the others ---------------------------------------------------------------------
# foundation
KMS_KEY_ARN = "KmsKeyArn"
VPC_ID = "VpcId"
PRIVATE_SUBNET_IDS = "PrivateSubnetIds"
PUBLIC_SUBNET_IDS = "PublicSubnetIds"
PRIVATE_ROUTE_TABLE_IDS = "PrivateRouteTableIds"
DATABASE_SECURITY_GROUP_ID = "DatabaseSecurityGroupId"
PEERING_CONNECTION_ID = "PeeringConnectionId"
REPOSITORY_URI = "AppRepositoryUri"
# data
CLUSTER_ENDPOINT = "ClusterEndpoint"
READER_ENDPOINT = "ReaderEndpoint"
CLUSTER_ARN = "ClusterArn"
GLOBAL_CLUSTER_IDENTIFIER = "GlobalClusterIdentifier"
DATABASE_SECRET_ARN = "DatabaseSecretArn"
DATABASE_SECRET_NAME = "DatabaseSecretName"
# app
ENDPOINT_HOSTED_ZONE_ID = "EndpointHostedZoneId"
HEALTH_CHECK_FQDN = "HealthCheckFqdn"
# global
PRIMARY_RECORD_CHECK_OUTPUT = "PrimaryRecordHealthCheckId"

# Parameters named apart from the output that feeds them (the stack also reads its own region's one).
PEER_KMS_KEY_ARN = "PeerKmsKeyArn"
PEER_VPC_ID = "PeerVpcId"
DR_CLUSTER_ARN = "DrClusterArn"


def bucket_output(purpose: str) -> str:
    """The foundation output naming a scenario bucket (``audit-logs`` -> ``AuditLogsBucketName``)."""
    return f"{camel(purpose)}BucketName"


# -- render-time values -------------------------------------------------------------------------------------------
def region_of(ctx: StackContext, role: Role) -> Ref:
    """The region playing ``role``, as a parameter with the same value in both stacks: a value that does not
    depend on the stack's own role needs no Fn::If (an If inside a one-role resource is dead code to cfn-lint)."""
    region = ctx.scenario.region(role)
    return ctx.parameter(
        f"{role.value.capitalize()}Region",
        f"The {role.value} region of the DR pair.",
        values={Role.PRIMARY: region, Role.SECONDARY: region},
    )


def zone_id(ctx: StackContext) -> Ref:
    """The hosted zone's id in a regional or global stack.

    A created zone comes from the zone stack's output; an existing zone named by id is a render-time value; an
    existing zone named by its domain has no value in the manifest: deploy finds the zone and fills it in.
    """
    roles = REGIONAL if ctx.regional else (Role.GLOBAL,)
    routing = ctx.scenario.routing
    if routing.create_zone:
        source = OutputRef(LayerName.ZONE, Role.GLOBAL, names.HOSTED_ZONE_ID)
        return ctx.input(names.HOSTED_ZONE_ID, "The hosted zone of the scenario's domain.", {r: source for r in roles})
    description = f"The account's public hosted zone of {routing.domain}."
    if routing.zone_id is None:
        return ctx.parameter(names.HOSTED_ZONE_ID, description + " drgen deploy finds it by name.")
    return ctx.parameter(names.HOSTED_ZONE_ID, description, values={r: routing.zone_id for r in roles})


# -- foundation ---------------------------------------------------------------------------------------------------
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
        kms_key_arn=key_arn(ctx),
        peer_kms_key_arn=peer_kms_key_arn(ctx),
        private_subnet_ids=private_subnets(ctx),
        private_route_table_ids=route_tables,
        database_security_group_id=ctx.same_region(
            LayerName.FOUNDATION, DATABASE_SECURITY_GROUP_ID, "Security group of the database."
        ),
        alert_topic_arn=alert_topic(ctx),
        peering_connection_id=peering,
    )


def key_arn(ctx: StackContext) -> Ref:
    return ctx.same_region(LayerName.FOUNDATION, KMS_KEY_ARN, "This region's KMS key ARN.")


def peer_kms_key_arn(ctx: StackContext) -> Ref:
    """The DR region's KMS key ARN, fed to the primary's stacks (replicas are encrypted with it)."""
    return ctx.input(
        PEER_KMS_KEY_ARN,
        "KMS key ARN in the DR region (for replicas there); empty in the DR region's own stack.",
        {Role.PRIMARY: OutputRef(LayerName.FOUNDATION, Role.SECONDARY, KMS_KEY_ARN)},
    )


def primary_kms_key_arn(ctx: StackContext) -> Ref:
    """The primary region's KMS key, fed to the DR stack (what a failover step writes there is encrypted with it)."""
    return ctx.input(
        "PrimaryKmsKeyArn",
        "The primary region's KMS key ARN (replicas and queued orders written there); empty in the primary's stack.",
        {Role.SECONDARY: OutputRef(LayerName.FOUNDATION, Role.PRIMARY, KMS_KEY_ARN)},
    )


def alert_topic(ctx: StackContext) -> Ref:
    return ctx.same_region(LayerName.FOUNDATION, names.ALERT_TOPIC_ARN, "This region's alert topic.")


def vpc_id(ctx: StackContext) -> Ref:
    return ctx.same_region(LayerName.FOUNDATION, VPC_ID, "This region's VPC.")


def peer_vpc_id(ctx: StackContext) -> Ref:
    """The DR region's VPC, fed to the primary's foundation (the peering connection's target)."""
    return ctx.input(
        PEER_VPC_ID,
        "VPC ID of the DR region's VPC (peering target); empty in the DR region's own stack.",
        {Role.PRIMARY: OutputRef(LayerName.FOUNDATION, Role.SECONDARY, VPC_ID)},
    )


def private_subnets(ctx: StackContext) -> Split:
    return Split(",", ctx.same_region(LayerName.FOUNDATION, PRIVATE_SUBNET_IDS, "Private subnet IDs, comma-separated."))


def public_subnets(ctx: StackContext) -> Split:
    return Split(",", ctx.same_region(LayerName.FOUNDATION, PUBLIC_SUBNET_IDS, "Public subnet IDs, comma-separated."))


def repository_uri(ctx: StackContext) -> Ref:
    return ctx.same_region(LayerName.FOUNDATION, REPOSITORY_URI, "This region's application image repository.")


# -- data ---------------------------------------------------------------------------------------------------------
def writer_endpoint(ctx: StackContext) -> Ref:
    """This region's cluster writer endpoint (inactive while the cluster is a secondary)."""
    return ctx.same_region(LayerName.DATA, CLUSTER_ENDPOINT, "This region's cluster writer endpoint.")


def reader_endpoint(ctx: StackContext) -> Ref:
    """This region's cluster reader endpoint (active whether the cluster is the primary or a secondary)."""
    return ctx.same_region(LayerName.DATA, READER_ENDPOINT, "This region's cluster reader endpoint.")


def database_endpoint(ctx: StackContext) -> If:
    """The endpoint this region's functions use: the writer in the primary; in the DR region the reader endpoint,
    because a secondary cluster's writer endpoint is inactive until promotion, while its reader endpoint reaches
    the cluster's instance before and after (a cluster without replicas routes reader connections to its writer).
    """
    return If(IS_SECONDARY, reader_endpoint(ctx), writer_endpoint(ctx))


def primary_cluster_endpoint(ctx: StackContext) -> Ref:
    """The primary cluster's writer endpoint, fed to the DR stack (its probe connects to it)."""
    return ctx.input(
        "PrimaryClusterEndpoint",
        "Writer endpoint of the primary's cluster (the probe connects to it); empty in the primary's stack.",
        {Role.SECONDARY: OutputRef(LayerName.DATA, Role.PRIMARY, CLUSTER_ENDPOINT)},
    )


def database_secret_name(ctx: StackContext) -> Ref:
    return ctx.same_region(
        LayerName.DATA, DATABASE_SECRET_NAME, "Name of the database secret (a replica in the DR region)."
    )


def global_cluster_id(ctx: StackContext) -> Ref:
    """The global cluster's identifier, published by the primary's data stack (fed to both roles)."""
    source = OutputRef(LayerName.DATA, Role.PRIMARY, GLOBAL_CLUSTER_IDENTIFIER)
    return ctx.input(GLOBAL_CLUSTER_IDENTIFIER, "The Aurora global cluster.", {r: source for r in REGIONAL})


def global_cluster_to_join(ctx: StackContext) -> Ref:
    """The global cluster the DR region's data stack joins its cluster to."""
    return ctx.input(
        GLOBAL_CLUSTER_IDENTIFIER,
        "The global cluster the DR cluster joins (created by the primary's data stack).",
        {Role.SECONDARY: OutputRef(LayerName.DATA, Role.PRIMARY, GLOBAL_CLUSTER_IDENTIFIER)},
    )


def describe_global_cluster(ctx: StackContext) -> Statement:
    """Reading the global cluster (its members, its writer endpoint): on its ARN, which names no region."""
    arn = Sub("arn:${AWS::Partition}:rds::${AWS::AccountId}:global-cluster:${Id}", Id=global_cluster_id(ctx))
    return Statement(Effect=Allow, Action=[rds_actions.DescribeGlobalClusters], Resource=[arn])


def dr_cluster_arn(ctx: StackContext) -> Ref:
    """The DR region's cluster ARN (the failover target); only the DR stack reads it."""
    return ctx.input(
        DR_CLUSTER_ARN,
        "ARN of the DR region's Aurora cluster; empty in the primary's stack.",
        {Role.SECONDARY: OutputRef(LayerName.DATA, Role.SECONDARY, CLUSTER_ARN)},
    )


# -- app ----------------------------------------------------------------------------------------------------------
def app_output(ctx: StackContext, output: str, description: str) -> Ref:
    return ctx.same_region(LayerName.APP, output, description)


def dr_app_output(ctx: StackContext, output: str, description: str) -> Ref:
    """An output of the DR region's app stack, read by the DR-only failover functions."""
    source = {Role.SECONDARY: OutputRef(LayerName.APP, Role.SECONDARY, output)}
    return ctx.input(output, f"{description} (DR region; empty in the primary's stack).", source)


def primary_app_output(ctx: StackContext, output: str, what: str) -> Ref:
    """An output of the primary's app stack, fed to the DR stack as ``Primary<output>``."""
    source = {Role.SECONDARY: OutputRef(LayerName.APP, Role.PRIMARY, output)}
    return ctx.input(f"Primary{output}", f"The primary's {what}; empty in the primary's stack.", source)


def primary_health_check_fqdn(ctx: StackContext) -> Ref:
    """The primary's own name, fed to the DR stack (its probe fetches what Route 53's check fetches)."""
    return ctx.input(
        "PrimaryHealthCheckFqdn",
        "The primary's own name its Route 53 health check probes; empty in the primary's stack.",
        {Role.SECONDARY: OutputRef(LayerName.APP, Role.PRIMARY, HEALTH_CHECK_FQDN)},
    )


def record_target(ctx: StackContext, role: Role) -> Ref:
    """What the failover record answers for ``role``, fed to the DR stack: its public endpoint, or its cluster's
    writer endpoint (the validation resolves both when Route 53's API does not answer)."""
    if ctx.scenario.compute.kind is ComputeKind.CONNECTIVITY:
        source, what = OutputRef(LayerName.DATA, role, CLUSTER_ENDPOINT), "cluster's writer endpoint"
    else:
        source, what = OutputRef(LayerName.APP, role, names.ENDPOINT_DNS_NAME), "public endpoint"
    return ctx.input(
        f"{role.value.capitalize()}RecordTarget",
        f"The {role.value} region's {what} (the failover record's target); empty in the primary's stack.",
        {Role.SECONDARY: source},
    )


# -- global -------------------------------------------------------------------------------------------------------
def record_health_check_id(ctx: StackContext) -> Ref:
    """The health check gating the PRIMARY record (global stack), fed to the DR stack: the DNS step raises its
    threshold as its second way."""
    return ctx.input(
        PRIMARY_RECORD_CHECK_OUTPUT,
        "Route 53 health check gating the PRIMARY record; empty in the primary's stack.",
        {Role.SECONDARY: OutputRef(LayerName.GLOBAL, Role.GLOBAL, PRIMARY_RECORD_CHECK_OUTPUT)},
    )


def into_global(ctx: StackContext, parameter: str, layer: LayerName, role: Role, output: str, description: str) -> Ref:
    """An output of ``role``'s ``layer`` stack, fed into the global stack as ``parameter`` (the failover records,
    the dashboard and the summary read both regions' values)."""
    return ctx.input(parameter, description, {Role.GLOBAL: OutputRef(layer, role, output)})
