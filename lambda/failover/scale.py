"""Failover step 3: scale the DR region's compute from standby to active capacity.

ECS: the service's desired count, and the minimum of its Application Auto Scaling target (otherwise the
scaling policy scales the service back in to the standby minimum). EC2 Auto Scaling: the group's minimum and
desired capacity. Capacity only grows here: a DR service that already scaled out beyond the active capacity
keeps its size. Lambda and API Gateway scale by themselves; a connectivity scenario has no compute.
A failback scales nothing: the primary runs its deployed capacity, and the DR region keeps serving until
DNS has moved back (its capacity returns to standby with the next deploy).
"""

from __future__ import annotations

from typing import Any

from drgen_common import aws, config, logs
from drgen_common.contract import ACTIVE_CAPACITY, ASG, ASG_NAME, COMPUTE_KIND, ECS, ECS_CLUSTER, ECS_SERVICE
from drgen_common.failover import Request
from drgen_common.retry import retry

ECS_DIMENSION = "ecs:service:DesiredCount"


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    request = Request.from_event(event)
    kind = config.required(COMPUTE_KIND)
    if request.failback or kind not in (ECS, ASG):
        return nothing_to_scale(kind, request)
    capacity = config.integer(ACTIVE_CAPACITY)
    if kind == ECS:
        return scale_ecs(
            aws.client("ecs"),
            aws.client("application-autoscaling"),
            cluster=config.required(ECS_CLUSTER),
            service=config.required(ECS_SERVICE),
            capacity=capacity,
        )
    return scale_asg(aws.client("autoscaling"), group=config.required(ASG_NAME), capacity=capacity)


def nothing_to_scale(kind: str, request: Request) -> dict[str, Any]:
    """The result when this step has nothing to do, saying why."""
    if request.failback:
        reason = "failback: the primary region runs its deployed capacity; the DR region keeps serving until DNS moves"
    else:
        reason = f"nothing to scale: {kind} compute scales by itself or does not exist"
    logs.info("scale skipped", kind=kind, reason=reason)
    return {"kind": kind, "changed": False, "reason": reason}


def scale_ecs(ecs: Any, autoscaling: Any, *, cluster: str, service: str, capacity: int) -> dict[str, Any]:
    """Raise the service's desired count (and its scaling minimum) to ``capacity``."""
    found = retry(ecs.describe_services, cluster=cluster, services=[service])["services"]
    if not found:
        raise LookupError(f"ECS service {service} not found in cluster {cluster}")
    previous = int(found[0]["desiredCount"])
    desired = max(previous, capacity)
    minimum_raised = _raise_scaling_minimum(autoscaling, f"service/{cluster}/{service}", capacity)
    if desired != previous:
        retry(ecs.update_service, cluster=cluster, service=service, desiredCount=desired)
    result = {
        "kind": ECS,
        "previous": previous,
        "desired": desired,
        "changed": desired != previous or minimum_raised,
    }
    logs.info("scaled ECS service", service=service, **result)
    return result


def _raise_scaling_minimum(autoscaling: Any, resource_id: str, capacity: int) -> bool:
    """Lift the scalable target's MinCapacity to ``capacity``; False when there is none or it is high enough."""
    targets = retry(
        autoscaling.describe_scalable_targets,
        ServiceNamespace="ecs",
        ResourceIds=[resource_id],
        ScalableDimension=ECS_DIMENSION,
    )["ScalableTargets"]
    if not targets or targets[0]["MinCapacity"] >= capacity:
        return False
    retry(
        autoscaling.register_scalable_target,
        ServiceNamespace="ecs",
        ResourceId=resource_id,
        ScalableDimension=ECS_DIMENSION,
        MinCapacity=capacity,
        MaxCapacity=max(capacity, targets[0]["MaxCapacity"]),
    )
    return True


def scale_asg(autoscaling: Any, *, group: str, capacity: int) -> dict[str, Any]:
    """Raise the group's minimum and desired capacity to ``capacity`` (and its maximum if it is lower)."""
    found = retry(autoscaling.describe_auto_scaling_groups, AutoScalingGroupNames=[group])["AutoScalingGroups"]
    if not found:
        raise LookupError(f"Auto Scaling group {group} not found")
    current = found[0]
    wanted = {
        "MinSize": max(current["MinSize"], capacity),
        "DesiredCapacity": max(current["DesiredCapacity"], capacity),
        "MaxSize": max(current["MaxSize"], capacity),
    }
    changed = any(current[key] != value for key, value in wanted.items())
    if changed:
        retry(autoscaling.update_auto_scaling_group, AutoScalingGroupName=group, **wanted)
    result = {
        "kind": ASG,
        "previous": current["DesiredCapacity"],
        "desired": wanted["DesiredCapacity"],
        "minimum": wanted["MinSize"],
        "changed": changed,
    }
    logs.info("scaled Auto Scaling group", group=group, **result)
    return result
