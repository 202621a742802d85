"""Database: Aurora PostgreSQL Global Database, primary and secondary clusters.

One template serves both regions. The primary stack creates its cluster, turns it into a global cluster
(GlobalCluster with SourceDBClusterIdentifier) and attaches the master secret; the DR stack creates a
secondary cluster, without credentials of its own, that joins the global cluster by identifier. Both sides
encrypt with their own region's KMS key, force TLS, export PostgreSQL logs and run enhanced monitoring.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import GetAtt, If, Ref, Sub, iam, logs, rds, secretsmanager

from drgen.builders import inputs
from drgen.builders.context import IS_PRIMARY, IS_SECONDARY, StackContext
from drgen.builders.iam import (
    DESTROYABLE,
    service_trust,
)
from drgen.builders.inputs import FoundationInputs
from drgen.builders.security import SecretHandles
from drgen.bundle.names import AURORA_CLUSTER, GLOBAL_CLUSTER

ENGINE = "aurora-postgresql"
BACKUP_WINDOW = "03:00-04:00"
MONITORING_INTERVAL = 60
PERFORMANCE_INSIGHTS_DAYS = 7  # the retention that carries no extra charge
LOG_RETENTION_DAYS = 30
# Stateful resources are destroyable: no final snapshot (DBCluster defaults to Snapshot), nothing retained.


@dataclass(frozen=True)
class ClusterHandles:
    primary: Any  # AWS::RDS::DBCluster, Condition IsPrimary
    secondary: Any  # AWS::RDS::DBCluster, Condition IsSecondary
    global_cluster: Any  # AWS::RDS::GlobalCluster, Condition IsPrimary


def aurora(ctx: StackContext, foundation: FoundationInputs, secret: SecretHandles) -> ClusterHandles:
    """The role's Aurora cluster with its instances; in the primary also the global cluster."""
    deletion_protection = _deletion_protection(ctx)
    common = _cluster_properties(ctx, foundation, deletion_protection)
    primary = ctx.add(
        rds.DBCluster(
            "PrimaryCluster",
            Condition=IS_PRIMARY,
            DatabaseName=ctx.scenario.database.database_name,
            MasterUsername=_secret_field(secret, "username"),
            MasterUserPassword=_secret_field(secret, "password"),
            **common,
            **DESTROYABLE,
        )
    )
    secondary = ctx.add(
        rds.DBCluster(
            "SecondaryCluster",
            Condition=IS_SECONDARY,
            GlobalClusterIdentifier=inputs.global_cluster_to_join(ctx),
            # The source cluster is encrypted: RDS needs its region to set up the cross-region replica.
            SourceRegion=Ref("PeerRegion"),
            **common,
            **DESTROYABLE,
        )
    )
    monitoring_role = _monitoring_role(ctx)
    db = ctx.scenario.database
    primary_instances = _instances(ctx, primary, "Primary", db.primary_instances, foundation, monitoring_role)
    _instances(ctx, secondary, "Secondary", db.secondary_instances, foundation, monitoring_role)
    global_cluster = ctx.add(
        rds.GlobalCluster(
            "GlobalCluster",
            Condition=IS_PRIMARY,
            # Converting the cluster while its instances are still being created can fail on cluster state.
            DependsOn=[i.title for i in primary_instances],
            GlobalClusterIdentifier=ctx.names.fixed("rds", GLOBAL_CLUSTER),
            SourceDBClusterIdentifier=GetAtt(primary, "DBClusterArn"),
            DeletionProtection=deletion_protection,
            **DESTROYABLE,
        )
    )
    _attach_secret(ctx, secret, primary)
    _outputs(ctx, primary, secondary, global_cluster)
    return ClusterHandles(primary=primary, secondary=secondary, global_cluster=global_cluster)


def _deletion_protection(ctx: StackContext) -> Ref:
    """A parameter so destroy can switch protection off before deleting (delete fails while it is on)."""
    return ctx.parameter(
        "DeletionProtection",
        "Deletion protection on the Aurora clusters and the global cluster; destroy sets it to false first.",
        default="true" if ctx.scenario.database.deletion_protection else "false",
        allowed=["true", "false"],
    )


def _cluster_properties(ctx: StackContext, foundation: FoundationInputs, deletion_protection: Ref) -> dict[str, Any]:
    """Properties both clusters share: engine, encryption with the region's key, network, backups, TLS."""
    db = ctx.scenario.database
    props: dict[str, Any] = {
        "DBClusterIdentifier": ctx.names.regional("rds", AURORA_CLUSTER),
        "Engine": ENGINE,
        "EngineVersion": db.engine_version,
        "Port": db.port,
        "StorageEncrypted": True,
        "KmsKeyId": foundation.kms_key_arn,
        # Clients may sign in with IAM tokens instead of the shared master password (checkov CKV_AWS_162).
        "EnableIAMDatabaseAuthentication": True,
        "DBSubnetGroupName": Ref(_subnet_group(ctx, foundation)),
        "VpcSecurityGroupIds": [foundation.database_security_group_id],
        "DBClusterParameterGroupName": Ref(_parameter_group(ctx)),
        "BackupRetentionPeriod": db.backup_retention_days,
        "PreferredBackupWindow": BACKUP_WINDOW,
        "EnableCloudwatchLogsExports": ["postgresql"],
        "CopyTagsToSnapshot": True,
        "DeletionProtection": deletion_protection,
        "DependsOn": [_log_group(ctx, foundation).title],
    }
    if db.serverless:
        props["ServerlessV2ScalingConfiguration"] = rds.ServerlessV2ScalingConfiguration(
            MinCapacity=db.serverless_min_acu, MaxCapacity=db.serverless_max_acu
        )
    return props


def _log_group(ctx: StackContext, foundation: FoundationInputs) -> logs.LogGroup:
    """The group RDS exports PostgreSQL logs to, created first so it is encrypted, bounded and destroyed with
    the stack (RDS would otherwise create it unencrypted, keep it forever and leave it behind)."""
    cluster = ctx.names.regional_text("rds", AURORA_CLUSTER)
    return ctx.add(
        logs.LogGroup(
            "DatabaseLogGroup",
            LogGroupName=Sub(f"/aws/rds/cluster/{cluster}/postgresql"),
            KmsKeyId=foundation.kms_key_arn,
            RetentionInDays=LOG_RETENTION_DAYS,
            **DESTROYABLE,
        )
    )


def _subnet_group(ctx: StackContext, foundation: FoundationInputs) -> rds.DBSubnetGroup:
    """The cluster lives in the region's private subnets only."""
    return ctx.add(
        rds.DBSubnetGroup(
            "DatabaseSubnetGroup",
            DBSubnetGroupDescription="Private subnets of the Aurora cluster",
            SubnetIds=foundation.private_subnet_ids,
        )
    )


def _parameter_group(ctx: StackContext) -> rds.DBClusterParameterGroup:
    """Cluster parameters: refuse unencrypted connections. The family follows the engine's major version."""
    major = ctx.scenario.database.engine_version.split(".")[0]
    return ctx.add(
        rds.DBClusterParameterGroup(
            "DatabaseClusterParameterGroup",
            Description="Aurora PostgreSQL cluster parameters: TLS required",
            Family=f"{ENGINE}{major}",
            Parameters={"rds.force_ssl": "1"},
        )
    )


def _secret_field(secret: SecretHandles, field: str) -> Sub:
    """A dynamic reference into the generated secret, resolved by CloudFormation at deploy time."""
    return Sub(f"{{{{resolve:secretsmanager:${{SecretArn}}:SecretString:{field}}}}}", SecretArn=secret.arn)


def _monitoring_role(ctx: StackContext) -> iam.Role:
    """The role RDS enhanced monitoring assumes to publish OS metrics (AWS managed policy)."""
    return ctx.add(
        iam.Role(
            "DatabaseMonitoringRole",
            RoleName=ctx.names.regional("iam", "rds-monitoring"),
            AssumeRolePolicyDocument=service_trust("monitoring.rds.amazonaws.com"),
            ManagedPolicyArns=[
                Sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole")
            ],
        )
    )


def _instances(
    ctx: StackContext,
    cluster: rds.DBCluster,
    side: str,
    count: int,
    foundation: FoundationInputs,
    monitoring_role: iam.Role,
) -> list[rds.DBInstance]:
    """``count`` instances in ``cluster``, under the cluster's condition (the primary's first is the writer)."""
    db = ctx.scenario.database
    return [
        ctx.add(
            rds.DBInstance(
                f"{side}Instance{n}",
                Condition=cluster.Condition,
                DBInstanceIdentifier=ctx.names.regional("rds", f"{AURORA_CLUSTER}-{n}"),
                DBClusterIdentifier=Ref(cluster),
                Engine=ENGINE,
                DBInstanceClass=db.instance_class,
                PubliclyAccessible=False,
                # Global database members do not take automatic minor upgrades; upgrades are planned.
                AutoMinorVersionUpgrade=False,
                EnablePerformanceInsights=True,
                PerformanceInsightsKMSKeyId=foundation.kms_key_arn,
                PerformanceInsightsRetentionPeriod=PERFORMANCE_INSIGHTS_DAYS,
                MonitoringInterval=MONITORING_INTERVAL,
                MonitoringRoleArn=GetAtt(monitoring_role, "Arn"),
                **DESTROYABLE,
            )
        )
        for n in range(1, count + 1)
    ]


def _attach_secret(ctx: StackContext, secret: SecretHandles, primary: rds.DBCluster) -> None:
    """Write the primary's host, port and engine into the secret, so clients read one document."""
    ctx.add(
        secretsmanager.SecretTargetAttachment(
            "DatabaseSecretAttachment",
            Condition=IS_PRIMARY,
            SecretId=secret.arn,
            TargetId=Ref(primary),
            TargetType="AWS::RDS::DBCluster",
        )
    )


def _outputs(ctx: StackContext, primary: rds.DBCluster, secondary: rds.DBCluster, global_cluster: Any) -> None:
    """Stable outputs: the role's own cluster (via Fn::If) and, from the primary, the global cluster."""

    def either(attribute: str | None) -> If:
        if attribute is None:
            return If(IS_PRIMARY, Ref(primary), Ref(secondary))
        return If(IS_PRIMARY, GetAtt(primary, attribute), GetAtt(secondary, attribute))

    ctx.output("ClusterIdentifier", either(None), "This region's Aurora cluster identifier.")
    ctx.output(inputs.CLUSTER_ARN, either("DBClusterArn"), "This region's Aurora cluster ARN.")
    ctx.output(inputs.CLUSTER_ENDPOINT, either("Endpoint.Address"), "This region's cluster writer endpoint.")
    ctx.output(inputs.READER_ENDPOINT, either("ReadEndpoint.Address"), "This region's cluster reader endpoint.")
    ctx.output(
        inputs.GLOBAL_CLUSTER_IDENTIFIER,
        Ref(global_cluster),
        "The Aurora global cluster identifier (the DR data stack joins it).",
        condition=IS_PRIMARY,
    )
