"""The backup export (seed 004): in the primary's app stack only, daily after the backup window, writing through an
export role that only RDS's export service assumes and that reaches only the backups bucket's export prefix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from drgen.builders.snapshot_export import OVERDUE_HOURS, daily_schedule
from drgen.lambda_code import contract
from drgen.lambda_functions import has_backups_bucket
from drgen.scenario import PRESETS

from ..conftest import REPO, resources, template

BACKED_UP = sorted(n for n in PRESETS if has_backups_bucket(PRESETS[n]))
OTHERS = sorted(set(PRESETS) - set(BACKED_UP))
BUCKET = "arn:${AWS::Partition}:s3:::dbdr-backups-${AWS::AccountId}-${AWS::Region}-dev"


def _statements(role):
    (policy,) = role["Properties"]["Policies"]
    return policy["PolicyDocument"]["Statement"]


def test_only_database_dr_keeps_backups_in_a_bucket():
    assert BACKED_UP == ["database-dr"]


@pytest.mark.parametrize("name", BACKED_UP)
def test_the_export_function_runs_only_in_the_primary_once_a_day_after_the_backup_window(name, bundles):
    doc = template(bundles[name], "app")
    backup = {k: v for k, v in doc["Resources"].items() if k.startswith("BackupExport")}
    assert sorted(backup) == [
        "BackupExportErrorsAlarm",
        "BackupExportFunction",
        "BackupExportLogGroup",
        "BackupExportOverdueAlarm",
        "BackupExportRdsRole",
        "BackupExportRole",
        "BackupExportSchedule",
        "BackupExportSchedulePermission",
    ]
    assert all(r["Condition"] == "IsPrimary" for r in backup.values())
    schedule = backup["BackupExportSchedule"]["Properties"]
    assert schedule["ScheduleExpression"] == "cron(0 5 * * ? *)"  # the cluster's backup window is 03:00-04:00
    assert schedule["Targets"] == [{"Id": "function", "Arn": {"Fn::GetAtt": ["BackupExportFunction", "Arn"]}}]
    variables = backup["BackupExportFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["CLUSTER_ID"] == {"Fn::Sub": "dbdr-aurora-${AWS::Region}-dev"}
    assert (
        variables["BACKUP_BUCKET"]
        == template(bundles[name], "foundation")["Resources"]["BackupsBucket"]["Properties"]["BucketName"]
    )
    assert variables["EXPORT_ROLE_ARN"] == {"Fn::GetAtt": ["BackupExportRdsRole", "Arn"]}
    assert variables["KMS_KEY_ARN"] == {"Ref": "KmsKeyArn"}


@pytest.mark.parametrize("name", BACKED_UP)
def test_the_export_role_is_for_rds_exports_and_reaches_only_the_backups_prefix(name, bundles):
    role = template(bundles[name], "app")["Resources"]["BackupExportRdsRole"]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": ["export.rds.amazonaws.com"]} and trust["Action"] == ["sts:AssumeRole"]
    statements = _statements(role)
    by_action = {action: s for s in statements for action in s["Action"]}
    assert by_action["s3:ListBucket"]["Resource"] == [{"Fn::Sub": BUCKET}]
    assert by_action["s3:GetBucketLocation"]["Resource"] == [{"Fn::Sub": BUCKET}]
    objects = {a for s in statements for a in s["Action"] if re.match(r"s3:(Put|Get|Delete)Object", a)}
    # The three documented wildcards, spelled out: writing, reading back and cleaning up under the prefix.
    assert {"s3:PutObject", "s3:GetObject", "s3:DeleteObject"} <= objects
    for action in objects:
        assert by_action[action]["Resource"] == [{"Fn::Sub": f"{BUCKET}/{contract.EXPORT_PREFIX}/*"}]
    kms = by_action["kms:GenerateDataKey"]
    assert kms["Resource"] == [{"Ref": "KmsKeyArn"}]
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}}}
    assert {a for s in statements for a in s["Action"]} - objects == {
        "s3:ListBucket",
        "s3:GetBucketLocation",
        "kms:GenerateDataKey",
        "kms:Decrypt",
    }


@pytest.mark.parametrize("name", BACKED_UP)
def test_the_function_may_export_only_this_clusters_automated_snapshots_with_this_role_and_key(name, bundles):
    doc = template(bundles[name], "app")
    by_action = {a: s for s in _statements(doc["Resources"]["BackupExportRole"]) for a in s["Action"]}
    snapshots = {
        "Fn::Sub": "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:cluster-snapshot:"
        "rds:dbdr-aurora-${AWS::Region}-dev-*"
    }
    assert by_action["rds:StartExportTask"]["Resource"] == [snapshots]
    assert by_action["rds:DescribeExportTasks"]["Resource"] == [snapshots]
    assert snapshots in by_action["rds:DescribeDBClusterSnapshots"]["Resource"]
    assert by_action["iam:PassRole"]["Resource"] == [{"Fn::GetAtt": ["BackupExportRdsRole", "Arn"]}]
    grant = by_action["kms:CreateGrant"]
    assert grant["Resource"] == [{"Ref": "KmsKeyArn"}]
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert by_action["kms:DescribeKey"]["Resource"] == [{"Ref": "KmsKeyArn"}]


@pytest.mark.parametrize("name", BACKED_UP)
def test_a_day_without_an_export_pages_the_primarys_alert_topic(name, bundles):
    doc = template(bundles[name], "app")
    alarm = doc["Resources"]["BackupExportOverdueAlarm"]["Properties"]
    function = doc["Resources"]["BackupExportFunction"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == (
        function["Environment"]["Variables"]["METRICS_NAMESPACE"],
        contract.BACKUP_EXPORT_STARTED,
    )
    assert alarm["Period"] * alarm["EvaluationPeriods"] == OVERDUE_HOURS * 3600 > 24 * 3600
    assert alarm["DatapointsToAlarm"] == alarm["EvaluationPeriods"]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "LessThanThreshold")
    assert alarm["TreatMissingData"] == "breaching"  # a function that never runs is the failure to catch
    assert alarm["AlarmActions"] == [{"Ref": "AlertTopicArn"}]
    # The function publishes the metric under the name the alarm watches.
    source = (REPO / "lambda" / "backup_export" / "app.py").read_text()
    assert "publish(Metric(BACKUP_EXPORT_STARTED, " in source


@pytest.mark.parametrize("name", OTHERS)
def test_scenarios_without_a_backups_bucket_get_no_export(name, bundles):
    for layer in ("app", "orchestration"):
        assert not [k for k in template(bundles[name], layer)["Resources"] if k.startswith("BackupExport")]
    assert not any(Path(f).name.startswith("backup_export") for f in bundles[name].files)


def test_the_schedule_follows_the_backup_window():
    assert daily_schedule("03:00-04:00") == "cron(0 5 * * ? *)"
    assert daily_schedule("22:30-23:30") == "cron(30 0 * * ? *)"


def test_the_artifact_of_database_dr_carries_the_export_package(bundles):
    assert [f for f in bundles["database-dr"].files if Path(f).name.startswith("backup_export-")]
    assert not resources(template(bundles["database-dr"], "orchestration"), "AWS::IAM::Role").get("BackupExportRdsRole")
