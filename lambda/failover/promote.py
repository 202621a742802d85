"""Failover step: make the target cluster the global database's writer, and report when it is.

Unplanned: FailoverGlobalCluster with AllowDataLoss (the primary region is gone; RPO is the replication lag),
unless the confirm step saw the primary writer's heartbeat still fresh on the replica (``writer_alive``): then
the primary's database is up and replicating, and a switchover loses nothing. Planned (and failback by
default): SwitchoverGlobalCluster, which waits for the replica to catch up and loses nothing. Both are
idempotent here: when the target already writes, or a failover to it is under way, nothing is called. The
state machine then polls ``status_handler`` until ``promoted`` is true.

Each call goes to the Region AWS's procedure names: a switchover to the current primary's ("--region – Specify
the AWS Region where the primary DB cluster of the Aurora global database is running"), a failover to the
target's ("--region – Specify the AWS Region where the secondary DB cluster that you want to be the new primary
for the Aurora global database is running"),
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database-disaster-recovery.html. So a
failover with data loss never touches the lost primary Region; a switchover needs it healthy anyway.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from drgen_common import aws, config, logs
from drgen_common.contract import DR_CLUSTER_ARN, GLOBAL_CLUSTER_ID, PROMOTED, WRITER_ALIVE
from drgen_common.failover import (
    Request,
    check_not_cancelled,
    describe_global_cluster,
    is_promoted,
    target_cluster,
    transition_to,
    writer_arn,
)
from drgen_common.retry import DEFAULT, Backoff, error_code, retry

BUSY = "InvalidGlobalClusterStateFault"  # a failover or switchover is already running (possibly ours)
# An unplanned run's switchover gets two attempts (with the clients' 5 s connect timeout, about 10 s when the
# primary region does not answer), so the failover it falls back to still fits in the step's timeout.
UNPLANNED_SWITCHOVER = Backoff(attempts=2)


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    return promote(
        Request.from_event(event),
        rds=aws.client("rds"),
        rds_in=functools.partial(aws.client, "rds"),
        global_cluster_id=config.required(GLOBAL_CLUSTER_ID),
        dr_cluster_arn=config.required(DR_CLUSTER_ARN),
        writer_alive=event.get(WRITER_ALIVE) is True,
    )


def status_handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    return promotion_status(
        Request.from_event(event),
        rds=aws.client("rds"),
        global_cluster_id=config.required(GLOBAL_CLUSTER_ID),
        dr_cluster_arn=config.required(DR_CLUSTER_ARN),
    )


def promote(
    request: Request,
    *,
    rds: Any,
    rds_in: Callable[[str], Any],
    global_cluster_id: str,
    dr_cluster_arn: str,
    writer_alive: bool = False,
) -> dict[str, Any]:
    """Start the promotion unless it is done or under way; ``action`` says which it was. ``rds`` is this
    Region's client, ``rds_in`` gives one for a Region (the switchover's or failover's, see above)."""
    cluster = describe_global_cluster(rds, global_cluster_id)
    target = target_cluster(cluster, dr_cluster_arn, request)
    lossless = request.planned or writer_alive
    result = {
        "target": target,
        "previous_writer": writer_arn(cluster),
        "planned": request.planned,
        "lossless": lossless,
    }
    check_not_cancelled(cluster, target)
    if writer_arn(cluster) == target or transition_to(cluster) == target:
        logs.info("promotion not needed", **result, failover_state=cluster.get("FailoverState"))
        return {**result, "action": "none", "changed": False}
    try:
        action = _start(rds_in, global_cluster_id, target, writer_arn(cluster), lossless, request.planned)
    except ClientError as error:
        if error_code(error) != BUSY or transition_to(describe_global_cluster(rds, global_cluster_id)) != target:
            raise
        action = "none"  # our own earlier attempt is still running (e.g. this step was retried)
    result["lossless"] = lossless and action != "failover"  # a switchover the primary did not answer failed over
    logs.info("promotion started", **result, action=action)
    return {**result, "action": action, "changed": action != "none"}


def _start(
    rds_in: Callable[[str], Any], global_cluster_id: str, target: str, writer: str, lossless: bool, planned: bool
) -> str:
    if lossless:
        try:
            retry(
                rds_in(aws.arn_region(writer or target)).switchover_global_cluster,
                GlobalClusterIdentifier=global_cluster_id,
                TargetDbClusterIdentifier=target,
                backoff=DEFAULT if planned else UNPLANNED_SWITCHOVER,
            )
            return "switchover"
        except (BotoConnectionError, HTTPClientError, ClientError) as error:
            # An unplanned run chose the switchover only because the writer still replicates; when the primary
            # region's API does not answer (after retries), that region is not healthy, which a switchover
            # needs ("designed to be used on an Aurora global database where all the Aurora clusters and other
            # services they interact with are in a healthy state", aurora-global-database-disaster-recovery.html):
            # it fails over as any unplanned run would. A planned run never loses data: it fails instead.
            if planned or not _unanswered(error):
                raise
            logs.warning("switchover unanswered in the primary region; failing over", error=repr(error))
    retry(
        rds_in(aws.arn_region(target)).failover_global_cluster,
        GlobalClusterIdentifier=global_cluster_id,
        TargetDbClusterIdentifier=target,
        AllowDataLoss=True,
    )
    return "failover"


def _unanswered(error: Exception) -> bool:
    """No connection, or the service failing (5xx): not a refusal of the request."""
    if isinstance(error, ClientError):
        return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)) >= 500
    return True


def promotion_status(request: Request, *, rds: Any, global_cluster_id: str, dr_cluster_arn: str) -> dict[str, Any]:
    """``promoted`` is true once the target writes and no failover or switchover is still under way."""
    cluster = describe_global_cluster(rds, global_cluster_id)
    target = target_cluster(cluster, dr_cluster_arn, request)
    check_not_cancelled(cluster, target)
    state = cluster.get("FailoverState") or {}
    return {
        PROMOTED: is_promoted(cluster, target),
        "target": target,
        "writer": writer_arn(cluster),
        "failover_status": state.get("Status", ""),
    }
