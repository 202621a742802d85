"""Daily backup export: the newest automated snapshot of this region's Aurora cluster, as Parquet, into S3.

Aurora's automated backups stay inside RDS; seed 004 wants the database's backups in the backups bucket,
which S3 replicates to the DR region and keeps 30 days. Once a day (after the backup window) this function
finds the newest *automated* cluster snapshot and starts an RDS export task (``StartExportTask``) writing it
under ``aurora-exports/<cluster>/`` in the bucket, encrypted with the region's KMS key.

Idempotent: the export task identifier is derived from the snapshot identifier, so a second run for the same
snapshot finds the task (DescribeExportTasks, or StartExportTask's ExportTaskAlreadyExists when two runs race)
and reports ``already-exported`` instead of failing. Each run publishes BackupExportStarted (1 when it started
an export, else 0); the template's alarm fires when no export started for a day and more.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from drgen_common import aws, config, logs, metrics
from drgen_common.contract import (
    BACKUP_BUCKET,
    BACKUP_EXPORT_STARTED,
    CLUSTER_ID,
    EXPORT_PREFIX,
    EXPORT_ROLE_ARN,
    KMS_KEY_ARN,
    METRICS_NAMESPACE,
)
from drgen_common.metrics import Metric
from drgen_common.retry import error_code, retry

AUTOMATED = "automated"
ALREADY_EXISTS = "ExportTaskAlreadyExists"
# RDS export task identifiers: letters, digits and single hyphens, starting with a letter, at most 60 here.
TASK_PREFIX = "export"
TASK_MAX = 60
DIGEST_CHARS = 8


@dataclass(frozen=True)
class Target:
    """Where the export goes and with what: from the function's environment."""

    cluster: str
    bucket: str
    role_arn: str
    kms_key: str

    @property
    def prefix(self) -> str:
        return f"{EXPORT_PREFIX}/{self.cluster}"


def handler(_event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """The schedule's event carries nothing the export needs: everything comes from the environment."""
    cloudwatch = aws.client("cloudwatch")
    namespace = config.required(METRICS_NAMESPACE)
    target = Target(
        cluster=config.required(CLUSTER_ID),
        bucket=config.required(BACKUP_BUCKET),
        role_arn=config.required(EXPORT_ROLE_ARN),
        kms_key=config.required(KMS_KEY_ARN),
    )
    return export_newest(
        target, rds=aws.client("rds"), publish=lambda *values: metrics.publish(cloudwatch, namespace, *values)
    )


def export_newest(target: Target, *, rds: Any, publish: Callable[..., None]) -> dict[str, Any]:
    """Export the newest automated snapshot unless it already is; ``action`` says which it was."""
    snapshot = newest_automated_snapshot(rds, target.cluster)
    if snapshot is None:
        logs.error("no available automated snapshot", cluster=target.cluster)
        publish(Metric(BACKUP_EXPORT_STARTED, 0.0))
        return {"action": "no-snapshot", "cluster": target.cluster}
    identifier = snapshot["DBClusterSnapshotIdentifier"]
    result = {
        "cluster": target.cluster,
        "snapshot": identifier,
        "snapshot_time": snapshot["SnapshotCreateTime"].isoformat(),
        "task": task_identifier(identifier),
        "destination": f"s3://{target.bucket}/{target.prefix}/",
    }
    existing = _existing_task(rds, snapshot["DBClusterSnapshotArn"], result["task"])
    action = "already-exported" if existing else _start(rds, target, snapshot["DBClusterSnapshotArn"], result["task"])
    publish(Metric(BACKUP_EXPORT_STARTED, 1.0 if action == "started" else 0.0))
    status = existing.get("Status", "") if existing else ""
    logs.info("backup export", **result, action=action, status=status)
    return {**result, "action": action, "status": status}


def newest_automated_snapshot(rds: Any, cluster: str) -> dict[str, Any] | None:
    """The cluster's newest automated snapshot that is available (an export needs a finished snapshot)."""
    snapshots: list[dict[str, Any]] = []
    marker = ""
    while True:
        page = retry(
            rds.describe_db_cluster_snapshots,
            DBClusterIdentifier=cluster,
            SnapshotType=AUTOMATED,
            **({"Marker": marker} if marker else {}),
        )
        snapshots += page.get("DBClusterSnapshots", [])
        marker = page.get("Marker", "")
        if not marker:
            break
    available = [s for s in snapshots if s.get("Status") == "available" and s.get("SnapshotType") == AUTOMATED]
    return max(available, key=lambda s: s["SnapshotCreateTime"], default=None)


def task_identifier(snapshot_identifier: str) -> str:
    """A deterministic, valid export task identifier for a snapshot.

    ``rds:dbdr-aurora-us-east-1-dev-2025-01-02-03-10`` -> ``export-rds-dbdr-aurora-us-east-1-dev-2025-01-02-03-10``;
    one longer than TASK_MAX keeps its end (the snapshot's timestamp) behind a digest of the whole identifier.
    """
    words = re.sub(r"[^a-z0-9]+", "-", snapshot_identifier.lower()).strip("-")
    name = f"{TASK_PREFIX}-{words}"
    if len(name) <= TASK_MAX:
        return name
    digest = hashlib.sha256(snapshot_identifier.encode()).hexdigest()[:DIGEST_CHARS]
    head = f"{TASK_PREFIX}-{digest}-"
    return head + words[-(TASK_MAX - len(head)) :].strip("-")


def _existing_task(rds: Any, snapshot_arn: str, task: str) -> dict[str, Any] | None:
    """The export task of this snapshot with our identifier, if one was started before."""
    try:
        page = retry(rds.describe_export_tasks, SourceArn=snapshot_arn, ExportTaskIdentifier=task)
    except ClientError as error:
        if error_code(error) == "ExportTaskNotFound":
            return None
        raise
    return next((t for t in page.get("ExportTasks", []) if t.get("ExportTaskIdentifier") == task), None)


def _start(rds: Any, target: Target, snapshot_arn: str, task: str) -> str:
    """Start the export; a task that appeared since the describe (a concurrent run) counts as exported."""
    try:
        retry(
            rds.start_export_task,
            ExportTaskIdentifier=task,
            SourceArn=snapshot_arn,
            S3BucketName=target.bucket,
            S3Prefix=target.prefix,
            IamRoleArn=target.role_arn,
            KmsKeyId=target.kms_key,
        )
    except ClientError as error:
        if error_code(error) != ALREADY_EXISTS:
            raise
        return "already-exported"
    return "started"
