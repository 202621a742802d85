"""Database backups in S3 (seed 004): a daily export of Aurora's newest automated snapshot to the backups bucket.

Aurora's automated backups stay inside RDS, so the foundation's backups bucket (replicated to the DR region,
30-day retention) would otherwise stay empty. In the primary region only (the writer's), a function runs once
a day after the backup window and starts an RDS export task (lambda/backup_export) that writes the newest
automated cluster snapshot as Parquet under ``aurora-exports/<cluster>/``, encrypted with the region's key.
RDS writes through an export role that ``export.rds.amazonaws.com`` assumes, limited to that bucket and prefix.
The function publishes BackupExportStarted; an alarm pages when no export started for more than a day.

The key policy needs no statement of its own: it delegates to IAM (``AccountAdministersThroughIam``), so the
function's and the export role's IAM policies below are what let them use the key.
"""

from __future__ import annotations

from typing import Any

from awacs import iam, kms, rds, s3
from awacs.aws import Allow, Bool, Condition, PolicyDocument, Statement, StringEquals
from troposphere import GetAtt, Sub
from troposphere import cloudwatch as tcloudwatch
from troposphere import iam as tiam

from drgen.builders import functions, inputs, monitoring
from drgen.builders.alerting import connectivity_namespace
from drgen.builders.context import IS_PRIMARY, StackContext
from drgen.builders.database import BACKUP_WINDOW
from drgen.builders.iam import POLICY_VERSION, service_trust
from drgen.bundle.names import AURORA_CLUSTER
from drgen.lambda_code import contract
from drgen.lambda_functions import BACKUP_EXPORT, BACKUPS_PURPOSE, has_backups_bucket

EXPORT_SERVICE = "export.rds.amazonaws.com"
# A daily export, and a day plus two hours of slack before "no export started" pages someone.
OVERDUE_HOURS = 26
HOUR = 3600
# AWS documents s3:PutObject*, s3:GetObject* and s3:DeleteObject* for the export role; spelled out here (drgen
# writes no wildcard actions), without the features the backups bucket does not use (Object Lock, torrents,
# replication reads, annotations).
EXPORT_OBJECT_ACTIONS = [
    s3.PutObject,
    s3.PutObjectAcl,
    s3.PutObjectTagging,
    s3.PutObjectVersionAcl,
    s3.PutObjectVersionTagging,
    s3.GetObject,
    s3.GetObjectAcl,
    s3.GetObjectAttributes,
    s3.GetObjectTagging,
    s3.GetObjectVersion,
    s3.GetObjectVersionAcl,
    s3.GetObjectVersionAttributes,
    s3.GetObjectVersionTagging,
    s3.DeleteObject,
    s3.DeleteObjectTagging,
    s3.DeleteObjectVersion,
    s3.DeleteObjectVersionTagging,
]
# Metric statements need "*" as their resource (CloudWatch has no metric ARNs); a condition holds the namespace.
ANY_RESOURCE = ["*"]


def export(ctx: StackContext) -> None:
    """The export role, the function on its daily schedule and its alarms, for scenarios with a backups bucket."""
    if not has_backups_bucket(ctx.scenario):
        return
    role = _export_role(ctx)
    env = {
        contract.CLUSTER_ID: ctx.names.regional("rds", AURORA_CLUSTER),
        contract.BACKUP_BUCKET: ctx.names.regional("bucket", BACKUPS_PURPOSE),
        contract.EXPORT_ROLE_ARN: GetAtt(role, "Arn"),
        contract.KMS_KEY_ARN: inputs.key_arn(ctx),
    }
    deployed = functions.deploy(ctx, [BACKUP_EXPORT], env, {BACKUP_EXPORT.key: _function_grants(ctx, role)})
    function = deployed[BACKUP_EXPORT.key]
    functions.schedule(ctx, function, daily_schedule(), _schedule_description())
    monitoring.function_errors(ctx, [function])
    _overdue_alarm(ctx)


def daily_schedule(window: str = BACKUP_WINDOW) -> str:
    """Once a day, an hour after the automated backup window ends (``03:00-04:00`` -> 05:00 UTC)."""
    hour, minute = (int(part) for part in window.split("-")[1].split(":"))
    return f"cron({minute} {(hour + 1) % 24} * * ? *)"


def _schedule_description() -> str:
    return f"Daily export of the newest automated Aurora snapshot, an hour after the backup window {BACKUP_WINDOW}"


# -- IAM ------------------------------------------------------------------------------------------------------
def _bucket_arn(ctx: StackContext, objects: str = "") -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:s3:::{ctx.names.regional_text('bucket', BACKUPS_PURPOSE)}{objects}")


def _rds_arn(ctx: StackContext, kind: str, pattern: str) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:rds:${{AWS::Region}}:${{AWS::AccountId}}:{kind}:{pattern}")


def _export_role(ctx: StackContext) -> tiam.Role:
    """The role RDS assumes to write the export: the backups bucket and the export prefix only."""
    statements = [
        Statement(
            Effect=Allow,
            Action=[s3.ListBucket, s3.GetBucketLocation],
            Resource=[_bucket_arn(ctx)],
        ),
        Statement(
            Effect=Allow, Action=EXPORT_OBJECT_ACTIONS, Resource=[_bucket_arn(ctx, f"/{contract.EXPORT_PREFIX}/*")]
        ),
        # The bucket encrypts by default with the region's key (SSE-KMS), under the writer's permissions.
        Statement(
            Effect=Allow,
            Action=[kms.GenerateDataKey, kms.Decrypt],
            Resource=[inputs.key_arn(ctx)],
            Condition=Condition(StringEquals({"kms:ViaService": Sub("s3.${AWS::Region}.amazonaws.com")})),
        ),
    ]
    return ctx.add(
        tiam.Role(
            "BackupExportRdsRole",
            Condition=IS_PRIMARY,
            AssumeRolePolicyDocument=service_trust(EXPORT_SERVICE),
            Policies=[
                tiam.Policy(
                    PolicyName="export-to-backups-bucket",
                    PolicyDocument=PolicyDocument(Version=POLICY_VERSION, Statement=statements),
                )
            ],
        )
    )


def _function_grants(ctx: StackContext, role: tiam.Role) -> list[Statement]:
    """What lambda/backup_export calls: this cluster's automated snapshots, their export tasks, the role it
    hands RDS and the key grant the export task needs (its metric follows from its catalogue entry's calls)."""
    cluster = ctx.names.regional_text("rds", AURORA_CLUSTER)
    snapshots = _rds_arn(ctx, "cluster-snapshot", f"rds:{cluster}-*")  # automated: rds:<cluster>-<time>
    return [
        Statement(
            Effect=Allow,
            Action=[rds.DescribeDBClusterSnapshots],
            Resource=[_rds_arn(ctx, "cluster", cluster), snapshots],
        ),
        Statement(Effect=Allow, Action=[rds.DescribeExportTasks, rds.StartExportTask], Resource=[snapshots]),
        Statement(Effect=Allow, Action=[iam.PassRole], Resource=[GetAtt(role, "Arn")]),
        # StartExportTask has RDS create a grant on the key for the export, on the caller's behalf.
        Statement(
            Effect=Allow,
            Action=[kms.CreateGrant],
            Resource=[inputs.key_arn(ctx)],
            Condition=Condition(Bool("kms:GrantIsForAWSResource", "true")),
        ),
        Statement(Effect=Allow, Action=[kms.DescribeKey], Resource=[inputs.key_arn(ctx)]),
    ]


# -- alarm ----------------------------------------------------------------------------------------------------
def _overdue_alarm(ctx: StackContext) -> None:
    """No export started for OVERDUE_HOURS hours in a row: the backups bucket is falling behind the database.

    Hourly periods, each breaching unless an export started in it; silence (the function not running at all)
    counts as breaching, so a broken schedule pages too. A fresh environment alarms until its first export.
    """
    actions: list[Any] = [inputs.alert_topic(ctx)]
    ctx.add(
        tcloudwatch.Alarm(
            "BackupExportOverdueAlarm",
            Condition=IS_PRIMARY,
            AlarmName=ctx.names.regional("alarm", "backup-export-overdue"),
            AlarmDescription=(
                f"No Aurora snapshot export to the backups bucket started for {OVERDUE_HOURS} hours: "
                "check the backup-export function's log and the RDS export tasks."
            ),
            Namespace=connectivity_namespace(ctx.scenario),
            MetricName=contract.BACKUP_EXPORT_STARTED,
            Statistic="Maximum",
            Period=HOUR,
            EvaluationPeriods=OVERDUE_HOURS,
            DatapointsToAlarm=OVERDUE_HOURS,
            Threshold=1,
            ComparisonOperator="LessThanThreshold",
            TreatMissingData="breaching",
            AlarmActions=actions,
            OKActions=actions,
        )
    )
