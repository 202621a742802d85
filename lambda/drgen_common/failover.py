"""What the failover steps agree on: the request each receives, which cluster they promote, and refusals.

The state machine passes every step the same request: ``mode`` ("failover" or "failback"), ``planned``,
``force``, ``lag_threshold_seconds`` (failback only) and the execution's id and start time (the field names, the
modes and the refusals' names are in ``contract``: the state machine's definition uses them too). A failover makes
the DR region's cluster (DR_CLUSTER_ARN) the writer; a failback makes the other member, the primary region's
cluster, the writer again. Everything else about the steps is the same in both directions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drgen_common.contract import (
    EXECUTION_ID,
    FAILBACK,
    FAILBACK_LAG_THRESHOLD,
    FAILOVER,
    FORCE,
    MODE,
    PLANNED,
    STARTED_AT,
)
from drgen_common.retry import retry

MODES = (FAILOVER, FAILBACK)
# FailoverState.Status values while a managed failover or switchover is under way.
IN_PROGRESS = frozenset({"pending", "failing-over", "switching-over"})
# Not under way: "cancelling – The request to switch over or fail over the global cluster was cancelled and the
# primary Aurora DB cluster and the selected secondary Aurora DB cluster are returning to their previous states"
# (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_FailoverState.html).
CANCELLING = "cancelling"


class PromotionCancelledError(RuntimeError):
    """Aurora cancelled the switchover or failover to the target: waiting for it would only run out the clock."""


class RefusedError(Exception):
    """The guard refuses to start; the state machine's Catch reports it (it is not a failed failover). Each
    subclass is named as its refusal in ``contract.REFUSALS`` (the error name Lambda reports)."""


class ConcurrentFailoverError(RefusedError):
    """Another execution of the failover state machine is already running."""


class NotArmedError(RefusedError):
    """The environment has not passed its readiness test yet: its alarms may still be settling after a deploy."""


class NothingToFailBackError(RefusedError):
    """A failback with traffic and the writer already in the primary region (e.g. the recovery rule after an
    alarm that never led to a failover)."""


class ReplicationLagError(RefusedError):
    """A failback would lose data: the primary region's replica has not caught up (or reports no lag)."""


def _flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(f"{name} must be true or false, got {value!r}")


@dataclass(frozen=True)
class Request:
    """A step's input. A failback is planned unless told otherwise: the primary is healthy again."""

    mode: str = FAILOVER
    planned: bool = False
    force: bool = False
    lag_threshold_seconds: float | None = None
    execution_id: str = ""
    started_at: str = ""

    @property
    def failback(self) -> bool:
        return self.mode == FAILBACK

    @classmethod
    def from_event(cls, event: Mapping[str, Any] | None) -> Request:
        """Parse the state machine's input; an EventBridge alarm event (no mode) means an unplanned failover."""
        event = event or {}
        mode = str(event.get(MODE) or FAILOVER).lower()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        threshold = event.get(FAILBACK_LAG_THRESHOLD)
        return cls(
            mode=mode,
            planned=_flag(event.get(PLANNED, mode == FAILBACK), PLANNED),
            force=_flag(event.get(FORCE, False), FORCE),
            lag_threshold_seconds=None if threshold is None else float(threshold),
            execution_id=str(event.get(EXECUTION_ID) or ""),
            started_at=str(event.get(STARTED_AT) or ""),
        )


def describe_global_cluster(rds: Any, identifier: str) -> dict[str, Any]:
    """The global cluster's description; raises LookupError when it does not exist."""
    response = retry(rds.describe_global_clusters, GlobalClusterIdentifier=identifier)
    for cluster in response.get("GlobalClusters", []):
        if cluster.get("GlobalClusterIdentifier", "").lower() == identifier.lower():
            return cluster
    raise LookupError(f"global cluster {identifier} not found")


def members(global_cluster: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(global_cluster.get("GlobalClusterMembers", []))


def writer_arn(global_cluster: Mapping[str, Any]) -> str:
    """The writer member's ARN ("" when there is none, e.g. halfway through a failover)."""
    return next((m["DBClusterArn"] for m in members(global_cluster) if m.get("IsWriter")), "")


def target_cluster(global_cluster: Mapping[str, Any], dr_cluster_arn: str, request: Request) -> str:
    """The cluster this request makes the writer: the DR cluster, or for a failback the other member."""
    if not request.failback:
        return dr_cluster_arn
    others = [m["DBClusterArn"] for m in members(global_cluster) if m["DBClusterArn"] != dr_cluster_arn]
    if len(others) != 1:
        raise LookupError(f"failback needs exactly one member besides {dr_cluster_arn}, found {others}")
    return others[0]


def transition_to(global_cluster: Mapping[str, Any]) -> str:
    """The cluster a failover or switchover under way promotes ("" when none is under way)."""
    state = global_cluster.get("FailoverState") or {}
    return str(state.get("ToDbClusterArn", "")) if state.get("Status") in IN_PROGRESS else ""


def check_not_cancelled(global_cluster: Mapping[str, Any], target: str) -> None:
    """PromotionCancelledError when Aurora is cancelling a switchover or failover to ``target``."""
    state = global_cluster.get("FailoverState") or {}
    if state.get("Status") == CANCELLING and state.get("ToDbClusterArn") == target:
        raise PromotionCancelledError(
            f"Aurora cancelled the promotion of {target}: the clusters are returning to their previous roles; "
            "see the RDS events of the global cluster, then run the failover again"
        )


def is_promoted(global_cluster: Mapping[str, Any], target: str) -> bool:
    """The target is the writer and no failover or switchover is still under way."""
    return writer_arn(global_cluster) == target and not transition_to(global_cluster)


def read_state(ssm: Any, parameter: str) -> dict[str, Any]:
    """The failover state recorded in the SSM parameter ({} before the first failover)."""
    try:
        value = retry(ssm.get_parameter, Name=parameter)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        return {}
    try:
        state = json.loads(value)
    except ValueError:
        return {}  # e.g. a placeholder the template created the parameter with
    return state if isinstance(state, dict) else {}


def write_state(ssm: Any, parameter: str, state: Mapping[str, Any]) -> None:
    retry(ssm.put_parameter, Name=parameter, Value=json.dumps(state, sort_keys=True), Type="String", Overwrite=True)
