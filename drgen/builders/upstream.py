"""The values the app and orchestration layers read from earlier stacks, declared as inputs on first use.

Each function declares one parameter fed from another stack's output (``ctx.input``) and returns its Ref, so
a template only carries the parameters it reads (an unused parameter is a lint finding). Output names are the
publishing builder's constants; the manifest records which stack feeds which parameter.
"""

from __future__ import annotations

from typing import Any

from awacs import rds as rds_actions
from awacs.aws import Allow, Statement
from troposphere import If, Ref, Split, Sub

from drgen.builders import inputs
from drgen.builders.context import IS_SECONDARY, OutputRef, StackContext
from drgen.builders.database import GLOBAL_CLUSTER_IDENTIFIER
from drgen.builders.security import DATABASE_SECRET_NAME
from drgen.bundle import names
from drgen.bundle.manifest import LayerName
from drgen.scenario.model import Role

REGIONAL = (Role.PRIMARY, Role.SECONDARY)
# Data-layer outputs (database.py publishes them).
CLUSTER_ENDPOINT = "ClusterEndpoint"
READER_ENDPOINT = "ReaderEndpoint"
CLUSTER_ARN = "ClusterArn"
DR_CLUSTER_ARN = "DrClusterArn"


# -- render-time values -------------------------------------------------------------------------------------
def region_of(ctx: StackContext, role: Role) -> Ref:
    """The region playing ``role``, as a parameter with the same value in both stacks: a value that does not
    depend on the stack's own role needs no Fn::If (an If inside a one-role resource is dead code to cfn-lint)."""
    region = ctx.scenario.region(role)
    return ctx.parameter(
        f"{role.value.capitalize()}Region",
        f"The {role.value} region of the DR pair.",
        values={Role.PRIMARY: region, Role.SECONDARY: region},
    )


# -- foundation, same region --------------------------------------------------------------------------------
def key_arn(ctx: StackContext) -> Ref:
    return ctx.same_region(LayerName.FOUNDATION, inputs.KMS_KEY_ARN, "This region's KMS key ARN.")


def alert_topic(ctx: StackContext) -> Ref:
    return ctx.same_region(LayerName.FOUNDATION, names.ALERT_TOPIC_ARN, "This region's alert topic.")


def vpc_id(ctx: StackContext) -> Ref:
    return ctx.same_region(LayerName.FOUNDATION, inputs.VPC_ID, "This region's VPC.")


def private_subnets(ctx: StackContext) -> Split:
    return Split(
        ",", ctx.same_region(LayerName.FOUNDATION, inputs.PRIVATE_SUBNET_IDS, "Private subnet IDs, comma-separated.")
    )


def public_subnets(ctx: StackContext) -> Split:
    return Split(
        ",", ctx.same_region(LayerName.FOUNDATION, inputs.PUBLIC_SUBNET_IDS, "Public subnet IDs, comma-separated.")
    )


# -- data ---------------------------------------------------------------------------------------------------
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


def database_secret_name(ctx: StackContext) -> Ref:
    return ctx.same_region(
        LayerName.DATA, DATABASE_SECRET_NAME, "Name of the database secret (a replica in the DR region)."
    )


def global_cluster_id(ctx: StackContext) -> Ref:
    """The global cluster's identifier, published by the primary's data stack (fed to both roles)."""
    source = OutputRef(LayerName.DATA, Role.PRIMARY, GLOBAL_CLUSTER_IDENTIFIER)
    return ctx.input(GLOBAL_CLUSTER_IDENTIFIER, "The Aurora global cluster.", {r: source for r in REGIONAL})


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


# -- app, same region ---------------------------------------------------------------------------------------
def app_output(ctx: StackContext, output: str, description: str) -> Ref:
    return ctx.same_region(LayerName.APP, output, description)


def dr_app_output(ctx: StackContext, output: str, description: str) -> Any:
    """An output of the DR region's app stack, read by the DR-only failover functions."""
    source = {Role.SECONDARY: OutputRef(LayerName.APP, Role.SECONDARY, output)}
    return ctx.input(output, f"{description} (DR region; empty in the primary's stack).", source)
