"""backup_export/app.py: the newest automated Aurora snapshot exported to the backups bucket, once per snapshot.

Against moto's server: moto 5.2.5 takes an *automated* cluster snapshot (``rds:<cluster>-<time>``,
SnapshotType "automated") when a cluster is created, exactly one per cluster, and implements StartExportTask and
DescribeExportTasks (a task is "complete" at once; SourceArn is accepted but not used as a filter). Choosing the
newest of several automated snapshots, and pagination, use a describe-result stand-in, since the API can only
create manual ones.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from backup_export import app
from botocore.exceptions import ClientError

from .conftest import PRIMARY, metric_values

CLUSTER = "dbdr-aurora-eu-central-1-dev"
BUCKET = "dbdr-backups-eu-central-1-dev"
ROLE_ARN = "arn:aws:iam::123456789012:role/backup-export-rds"
VALID_TASK = re.compile(r"^[a-z](?!.*--)[a-z0-9-]*[a-z0-9]$")


@pytest.fixture
def primary(cloud, monkeypatch):
    """The primary's cluster (with moto's automated snapshot), the backups bucket, the key, the environment."""
    rds = cloud("rds", PRIMARY)
    rds.create_db_cluster(
        DBClusterIdentifier=CLUSTER,
        Engine="aurora-postgresql",
        EngineVersion="16.8",
        MasterUsername="dbadmin",
        MasterUserPassword="not-a-real-password",
    )
    cloud("s3", PRIMARY).create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": PRIMARY})
    key = cloud("kms", PRIMARY).create_key(Description="backups")["KeyMetadata"]["Arn"]
    env = {
        "AWS_REGION": PRIMARY,
        "CLUSTER_ID": CLUSTER,
        "BACKUP_BUCKET": BUCKET,
        "EXPORT_ROLE_ARN": ROLE_ARN,
        "KMS_KEY_ARN": key,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return rds, key


def _automated(rds):
    (snapshot,) = rds.describe_db_cluster_snapshots(DBClusterIdentifier=CLUSTER, SnapshotType="automated")[
        "DBClusterSnapshots"
    ]
    return snapshot


def test_exports_the_automated_snapshot_once_and_a_second_run_reports_already_exported(cloud, primary):
    rds, key = primary
    automated = _automated(rds)
    # A manual snapshot taken later is newer, but not a backup of the schedule: it is not exported.
    rds.create_db_cluster_snapshot(DBClusterIdentifier=CLUSTER, DBClusterSnapshotIdentifier="manual-later")

    first = app.handler({}, None)

    task = app.task_identifier(automated["DBClusterSnapshotIdentifier"])
    assert first["action"] == "started" and first["task"] == task
    assert first["snapshot"] == automated["DBClusterSnapshotIdentifier"]
    assert first["destination"] == f"s3://{BUCKET}/aurora-exports/{CLUSTER}/"
    (exported,) = rds.describe_export_tasks()["ExportTasks"]
    assert exported["ExportTaskIdentifier"] == task
    assert exported["SourceArn"] == automated["DBClusterSnapshotArn"]
    assert (exported["S3Bucket"], exported["S3Prefix"]) == (BUCKET, f"aurora-exports/{CLUSTER}")
    assert (exported["IamRoleArn"], exported["KmsKeyId"]) == (ROLE_ARN, key)

    second = app.handler({}, None)

    assert second["action"] == "already-exported" and second["task"] == task
    assert second["status"] == exported["Status"]
    assert len(rds.describe_export_tasks()["ExportTasks"]) == 1
    # One 1 (started) and one 0 (nothing new), in one minute or across a minute boundary.
    assert sum(metric_values(cloud, app.BACKUP_EXPORT_STARTED, region=PRIMARY, stat="Sum")) == 1.0
    assert sum(metric_values(cloud, app.BACKUP_EXPORT_STARTED, region=PRIMARY, stat="SampleCount")) == 2.0


class _Racing:
    """The RDS client as a run sees it when another run started the same export between its describe and its
    start: DescribeExportTasks finds nothing yet, StartExportTask (moto's) answers ExportTaskAlreadyExists."""

    def __init__(self, rds):
        self.rds = rds

    def __getattr__(self, name):
        return getattr(self.rds, name)

    def describe_export_tasks(self, **_):
        return {"ExportTasks": []}


def test_a_concurrent_run_that_started_the_export_first_is_reported_not_raised(cloud, primary):
    rds, key = primary
    automated = _automated(rds)
    task = app.task_identifier(automated["DBClusterSnapshotIdentifier"])
    rds.start_export_task(
        ExportTaskIdentifier=task,
        SourceArn=automated["DBClusterSnapshotArn"],
        S3BucketName=BUCKET,
        IamRoleArn=ROLE_ARN,
        KmsKeyId=key,
    )
    published = []
    target = app.Target(CLUSTER, BUCKET, ROLE_ARN, key)

    result = app.export_newest(target, rds=_Racing(rds), publish=lambda *m: published.extend(m))

    assert result["action"] == "already-exported"
    assert [(m.name, m.value) for m in published] == [(app.BACKUP_EXPORT_STARTED, 0.0)]


def test_other_export_failures_propagate_so_the_run_fails(primary):
    rds, key = primary

    class Refusing(_Racing):
        def start_export_task(self, **_):
            raise ClientError({"Error": {"Code": "IamRoleMissingPermissions", "Message": "no"}}, "StartExportTask")

    with pytest.raises(ClientError, match="IamRoleMissingPermissions"):
        app.export_newest(app.Target(CLUSTER, BUCKET, ROLE_ARN, key), rds=Refusing(rds), publish=lambda *m: None)


def test_no_automated_snapshot_exports_nothing_and_publishes_0(cloud, primary):
    rds, _ = primary
    # Real RDS does not let anyone delete an automated snapshot; moto does, which stands for "none taken yet".
    rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=_automated(rds)["DBClusterSnapshotIdentifier"])
    rds.create_db_cluster_snapshot(DBClusterIdentifier=CLUSTER, DBClusterSnapshotIdentifier="manual-only")

    result = app.handler({}, None)

    assert result == {"action": "no-snapshot", "cluster": CLUSTER}
    assert rds.describe_export_tasks()["ExportTasks"] == []
    assert metric_values(cloud, app.BACKUP_EXPORT_STARTED, region=PRIMARY) == [0.0]


class _Pages:
    """DescribeDBClusterSnapshots in pages of two (the API pages by Marker), for choosing among several."""

    def __init__(self, snapshots):
        self.snapshots = snapshots
        self.calls = []

    def describe_db_cluster_snapshots(self, **kwargs):
        self.calls.append(kwargs)
        start = int(kwargs.get("Marker", "0"))
        page = {"DBClusterSnapshots": self.snapshots[start : start + 2]}
        if start + 2 < len(self.snapshots):
            page["Marker"] = str(start + 2)
        return page


def _snapshot(identifier, hours_ago, status="available"):
    return {
        "DBClusterSnapshotIdentifier": identifier,
        "SnapshotCreateTime": datetime(2025, 1, 10, 5, tzinfo=UTC) - timedelta(hours=hours_ago),
        "Status": status,
        "SnapshotType": "automated",
    }


def test_the_newest_available_automated_snapshot_is_chosen_across_pages():
    rds = _Pages(
        [
            _snapshot("rds:c-2025-01-08", 48),
            _snapshot("rds:c-2025-01-10", 0, status="creating"),  # still being taken: not exportable yet
            _snapshot("rds:c-2025-01-09", 24),
            _snapshot("rds:c-2025-01-07", 72),
        ]
    )
    assert app.newest_automated_snapshot(rds, "c")["DBClusterSnapshotIdentifier"] == "rds:c-2025-01-09"
    assert [c.get("Marker") for c in rds.calls] == [None, "2"]
    assert all(c["DBClusterIdentifier"] == "c" and c["SnapshotType"] == "automated" for c in rds.calls)


def test_task_identifiers_are_deterministic_and_valid_for_rds_even_for_long_snapshot_names():
    short = "rds:dbdr-aurora-us-east-1-dev-2025-01-10-03-12"
    assert app.task_identifier(short) == "export-rds-dbdr-aurora-us-east-1-dev-2025-01-10-03-12"
    long_one = "rds:" + "x" * 50 + "-aurora-ap-southeast-2-some-long-suffix-2025-01-10-03-12"
    other = long_one.replace("x" * 50, "y" * 50)
    for identifier in (short, long_one, other):
        task = app.task_identifier(identifier)
        assert len(task) <= app.TASK_MAX and VALID_TASK.match(task), task
        assert app.task_identifier(identifier) == task
    assert app.task_identifier(long_one).endswith("2025-01-10-03-12")
    assert app.task_identifier(long_one) != app.task_identifier(other)
