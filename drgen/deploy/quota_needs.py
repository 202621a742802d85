"""What a bundle's templates need from each quota: the resources a stack creates for its role (conditions resolved
as CloudFormation would), counted per quota, at failover capacity where the standby scales out."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from drgen.bundle.evaluate import Env
from drgen.bundle.manifest import StackEntry
from drgen.bundle.reader import RenderedBundle
from drgen.deploy.artifacts import bucket_name
from drgen.deploy.quota_model import Need, Probe, Resource

# EC2's "Standard" On-Demand vCPU quota covers the A, C, D, H, I, M, R, T and Z families (not Inf, DL, Trn, Mac, HPC).
_STANDARD_FAMILY = re.compile(r"(?!dl|hpc|inf|mac|trn)[acdhimrtz][a-z]?\d")


def resources_by_region(bundle: RenderedBundle, entries: Sequence[StackEntry]) -> dict[str, list[Resource]]:
    """The resources each region gets from ``entries``, in the bundle's region order (primary, DR, global)."""
    order = list(dict.fromkeys([*bundle.regions.values(), *(e.region for e in entries)]))
    by_region: dict[str, list[Resource]] = {region: [] for region in order}
    for entry in entries:
        by_region[entry.region].extend(template_resources(bundle, entry))
    return {region: resources for region, resources in by_region.items() if resources}


def template_resources(bundle: RenderedBundle, entry: StackEntry) -> list[Resource]:
    """The resources ``entry``'s stack creates, as its parameters decide the conditions and Fn::If branches. A
    condition only known at deploy time counts as true, so a resource is counted as needed rather than missed."""
    env = Env(bundle.document(entry), entry)
    return [
        Resource(entry.region, logical_id, body["Type"], env.resolved(body.get("Properties", {})))
        for logical_id, body in bundle.document(entry).get("Resources", {}).items()
        if env.deployed(body) is not False
    ]


def _of(resources: Iterable[Resource], *types: str) -> list[Resource]:
    return [r for r in resources if r.type in types]


def counting(resource_type: str, when: Callable[[dict[str, Any]], bool] = lambda _: True) -> Need:
    """A need that is the number of resources of one type (that match ``when``)."""
    return lambda resources, _probe: sum(1 for r in _of(resources, resource_type) if when(r.properties))


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default  # an intrinsic that only resolves at deploy time


def fargate_vcpus(resources: Sequence[Resource], _probe: Probe) -> int:
    """Fargate vCPUs at full capacity: after a failover the standby scales to the auto-scaling maximum."""
    services = [r for r in _of(resources, "AWS::ECS::Service") if r.properties.get("LaunchType") == "FARGATE"]
    if not services:
        return 0
    ceilings = [
        _int(t.properties.get("MaxCapacity"))
        for t in _of(resources, "AWS::ApplicationAutoScaling::ScalableTarget")
        if t.properties.get("ScalableDimension") == "ecs:service:DesiredCount"
    ]
    tasks = max(ceilings) if ceilings else sum(_int(s.properties.get("DesiredCount"), 1) for s in services)
    task_cpu = max((_int(t.properties.get("Cpu")) for t in _of(resources, "AWS::ECS::TaskDefinition")), default=0)
    return math.ceil(tasks * task_cpu / 1024)


def _instance_type(group: Resource, resources: Sequence[Resource]) -> str | None:
    reference = group.properties.get("LaunchTemplate", {}).get("LaunchTemplateId", {})
    template = next((r for r in resources if r.logical_id == reference.get("Ref")), None)
    found = template.properties.get("LaunchTemplateData", {}).get("InstanceType") if template else None
    return found if isinstance(found, str) else None


def standard(instance_type: str) -> bool:
    return bool(_STANDARD_FAMILY.match(instance_type))


def ec2_vcpus(resources: Sequence[Resource], probe: Probe) -> int:
    """Standard On-Demand vCPUs of every Auto Scaling group at its maximum size (the failover capacity)."""
    total = 0
    for group in _of(resources, "AWS::AutoScaling::AutoScalingGroup"):
        instance_type = _instance_type(group, resources)
        if instance_type and standard(instance_type):
            total += _int(group.properties.get("MaxSize")) * probe.vcpus(instance_type)
    return total


def lambda_concurrency(resources: Sequence[Resource], _probe: Probe) -> int:
    """One concurrent execution per function (they run on schedules and events at the same time), or its
    reserved concurrency."""
    functions = _of(resources, "AWS::Lambda::Function")
    return sum(max(1, _int(f.properties.get("ReservedConcurrentExecutions"), 1)) for f in functions)


def buckets(resources: Sequence[Resource], probe: Probe) -> int:
    """The templates' buckets plus drgen's artifact bucket in each stack region that has none yet."""
    account = probe.aws.account_id()
    existing = {b["Name"] for b in probe.client("s3").list_buckets().get("Buckets", [])}
    missing = {r.region for r in resources if bucket_name(account, r.region) not in existing}
    return len(_of(resources, "AWS::S3::Bucket")) + len(missing)
