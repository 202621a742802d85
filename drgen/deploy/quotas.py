"""Service-quota preflight: what a bundle still has to create, per region, against what the account already uses
and the quota it may use.

A DR deployment doubles everything and, at failover, scales the standby to full capacity; a quota that is
fine in the primary region is often the AWS default (or a new account's lower one) in the DR region. Each
quota below is one a DR deployment realistically hits, with its Service Quotas service and quota code:
``needed`` is counted from the rendered templates for the role of each stack (conditions resolved as
CloudFormation would), ``in use`` from one cheap list call, ``limit`` from GetServiceQuota (the applied
value), falling back to GetAWSDefaultServiceQuota. A quota or usage AWS does not answer is reported as
unknown, never guessed. Left out on purpose: quotas a deployment cannot come near (KMS keys: 100,000;
security groups: 2,500 per Region) and those with no quota code (Aurora global databases).
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import Any

from drgen.deploy.artifacts import bucket_name
from drgen.deploy.bundle import DeployBundle
from drgen.deploy.session import CLOUD_ERRORS, Aws, error_code, error_text
from drgen.render import StackEntry

TIGHT_SHARE = 0.8  # used + needed above this share of the limit: TIGHT
_WORKERS = 8
# EC2's "Standard" On-Demand vCPU quota covers the A, C, D, H, I, M, R, T and Z families (not Inf, DL, Trn, Mac, HPC).
_STANDARD_FAMILY = re.compile(r"(?!dl|hpc|inf|mac|trn)[acdhimrtz][a-z]?\d")


class Verdict(enum.StrEnum):
    OK = "OK"
    TIGHT = "TIGHT"
    EXCEEDS = "EXCEEDS"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Resource:
    """A resource a stack creates in its region, its properties resolved for the stack's role."""

    region: str
    logical_id: str
    type: str
    properties: dict[str, Any]


class Probe:
    """AWS access for one region, with the instance-type lookup cached (needed and in use both ask it)."""

    def __init__(self, aws: Aws, region: str) -> None:
        self.aws = aws
        self.region = region
        self.vcpus = cache(self._vcpus)

    def client(self, service: str) -> Any:
        return self.aws.client(service, self.region)

    def _vcpus(self, instance_type: str) -> int:
        types = self.client("ec2").describe_instance_types(InstanceTypes=[instance_type])["InstanceTypes"]
        return int(types[0]["VCpuInfo"]["DefaultVCpus"])

    def count(self, service: str, operation: str, key: str, **kwargs: Any) -> int:
        """How many items a paginated list call returns in this region."""
        pages = self.client(service).get_paginator(operation).paginate(**kwargs)
        return sum(len(page.get(key, [])) for page in pages)


Need = Callable[[Sequence[Resource], Probe], int]
Usage = Callable[[Probe], int]


@dataclass(frozen=True)
class Quota:
    name: str
    service: str
    code: str
    need: Need
    usage: Usage | None  # None: no cheap API counts it (in use unknown)
    account_wide: bool = False
    note: str = ""


@dataclass(frozen=True)
class Row:
    """One quota in one region (or account-wide): the verdict and what it is made of."""

    region: str
    account_wide: bool
    quota: Quota
    needed: int
    in_use: int | None
    limit: float | None
    note: str = ""

    @property
    def total(self) -> int:
        return self.needed + (self.in_use or 0)

    @property
    def verdict(self) -> Verdict:
        if self.limit is None:
            return Verdict.UNKNOWN
        if self.total > self.limit:
            return Verdict.EXCEEDS
        return Verdict.TIGHT if self.total > TIGHT_SHARE * self.limit else Verdict.OK

    @property
    def request(self) -> str:
        """The CLI call that asks AWS for enough of this quota."""
        return (
            f"aws service-quotas request-service-quota-increase --service-code {self.quota.service} "
            f"--quota-code {self.quota.code} --desired-value {self.total} --region {self.region}"
        )

    def problem(self) -> str:
        where = "account-wide" if self.account_wide else f"in {self.region}"
        in_use = "unknown" if self.in_use is None else self.in_use
        return (
            f"{self.quota.name} ({self.quota.service} {self.quota.code}) {where}: needs {self.needed}, "
            f"{in_use} in use, limit {_number(self.limit)}; raise it: {self.request}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "account_wide": self.account_wide,
            "quota": self.quota.name,
            "service_code": self.quota.service,
            "quota_code": self.quota.code,
            "needed": self.needed,
            "in_use": self.in_use,
            "limit": self.limit,
            "verdict": self.verdict.value,
            "note": self.note,
            **({"request": self.request} if self.verdict is Verdict.EXCEEDS else {}),
        }


@dataclass(frozen=True)
class Report:
    scenario: str
    suffix: str
    regions: dict[str, str]  # role -> region, as the manifest lists them
    to_create: tuple[str, ...]  # stacks whose resources are counted as needed
    rows: tuple[Row, ...]

    @property
    def exceeded(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.verdict is Verdict.EXCEEDS)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "suffix": self.suffix,
            "regions": self.regions,
            "stacks_to_create": list(self.to_create),
            "quotas": [r.to_dict() for r in self.rows],
            "exceeds": bool(self.exceeded),
        }


def check(aws: Aws, bundle: DeployBundle, entries: Sequence[StackEntry]) -> Report:
    """Every quota the resources of ``entries`` (the stacks still to create) count against, per region and
    account-wide (queried in the global layer's region)."""
    regional = _resources(bundle, entries)
    everything = [r for resources in regional.values() for r in resources]
    jobs = [(region, quota, resources) for region, resources in regional.items() for quota in REGIONAL]
    jobs += [(bundle.regions["global"], quota, everything) for quota in ACCOUNT]
    probes = {region: Probe(aws, region) for region, _, _ in jobs}
    wanted = [(probes[region], quota, quota.need(resources, probes[region])) for region, quota, resources in jobs]
    wanted = [job for job in wanted if job[2] > 0]
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        rows = tuple(pool.map(lambda job: _row(*job), wanted))
    return Report(bundle.scenario, bundle.suffix, dict(bundle.regions), tuple(e.name for e in entries), rows)


def _row(probe: Probe, quota: Quota, needed: int) -> Row:
    limit, limit_note = _limit(probe, quota)
    in_use, use_note = _in_use(probe, quota)
    note = "; ".join(n for n in (quota.note, limit_note, use_note) if n)
    return Row(probe.region, quota.account_wide, quota, needed, in_use, limit, note)


def _limit(probe: Probe, quota: Quota) -> tuple[float | None, str]:
    """The applied quota value, else AWS's default; None with the reason when AWS answers neither."""
    service_quotas = probe.client("service-quotas")
    codes = {"ServiceCode": quota.service, "QuotaCode": quota.code}
    try:
        return float(service_quotas.get_service_quota(**codes)["Quota"]["Value"]), ""
    except CLOUD_ERRORS as exc:
        if error_code(exc) != "NoSuchResourceException":
            return None, f"quota unknown: {_reason(exc)}"
    if probe.aws.sandbox:  # moto answers GetServiceQuota for vpc only and implements no GetAWSDefaultServiceQuota
        return None, "quota unknown: no value in the sandbox"
    try:
        return float(service_quotas.get_aws_default_service_quota(**codes)["Quota"]["Value"]), "AWS default"
    except CLOUD_ERRORS as exc:
        return None, f"quota unknown: {_reason(exc)}"


def _in_use(probe: Probe, quota: Quota) -> tuple[int | None, str]:
    if quota.usage is None:
        return None, ""
    try:
        return quota.usage(probe), ""
    except CLOUD_ERRORS as exc:
        return None, f"in use unknown: {_reason(exc)}"


def _reason(exc: BaseException) -> str:
    """One line: an endpoint that does not implement a call answers with an HTML page, not an AWS error."""
    text = error_text(exc)
    if "<html" in text.lower():
        return f"{error_code(exc) or 'error'} from the endpoint (the call is not implemented there)"
    return text.splitlines()[0]


# --- what the templates need ------------------------------------------------------------------------------


def _resources(bundle: DeployBundle, entries: Sequence[StackEntry]) -> dict[str, list[Resource]]:
    """The resources each region gets from ``entries``, in the bundle's region order (primary, DR, global)."""
    order = list(dict.fromkeys([*bundle.regions.values(), *(e.region for e in entries)]))
    by_region: dict[str, list[Resource]] = {region: [] for region in order}
    for entry in entries:
        template = json.loads(bundle.template(entry))
        by_region[entry.region].extend(template_resources(template, entry.role.value, entry.region))
    return {region: resources for region, resources in by_region.items() if resources}


def template_resources(template: dict[str, Any], role: str, region: str) -> list[Resource]:
    """The resources a template creates in ``region`` for ``role`` (its ``Role`` parameter), Fn::If resolved."""
    conditions = template.get("Conditions", {})
    holds = cache(lambda name: _condition(conditions.get(name, True), conditions, role, holds))
    return [
        Resource(region, logical_id, body["Type"], _resolve(body.get("Properties", {}), holds))
        for logical_id, body in template.get("Resources", {}).items()
        if "Condition" not in body or holds(body["Condition"])
    ]


def _condition(expr: Any, conditions: dict[str, Any], role: str, holds: Callable[[str], bool]) -> bool:
    """A condition's value for ``role``; what cannot be known before deploying counts as true (so it is
    counted as needed rather than missed)."""
    if not isinstance(expr, dict) or len(expr) != 1:
        return bool(expr)
    ((function, args),) = expr.items()
    if function == "Condition":
        return holds(args)
    if function == "Fn::Not":
        return not _condition(args[0], conditions, role, holds)
    if function == "Fn::And":
        return all(_condition(a, conditions, role, holds) for a in args)
    if function == "Fn::Or":
        return any(_condition(a, conditions, role, holds) for a in args)
    if function == "Fn::Equals":
        left, right = (role if a == {"Ref": "Role"} else a for a in args)
        return True if isinstance(left, dict) or isinstance(right, dict) else left == right
    return True


def _resolve(value: Any, holds: Callable[[str], bool]) -> Any:
    if isinstance(value, list):
        return [_resolve(v, holds) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Fn::If"}:
        name, when_true, when_false = value["Fn::If"]
        return _resolve(when_true if holds(name) else when_false, holds)
    return {k: _resolve(v, holds) for k, v in value.items()}


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


def _fargate_vcpus(resources: Sequence[Resource], _probe: Probe) -> int:
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


def _standard(instance_type: str) -> bool:
    return bool(_STANDARD_FAMILY.match(instance_type))


def _ec2_vcpus(resources: Sequence[Resource], probe: Probe) -> int:
    """Standard On-Demand vCPUs of every Auto Scaling group at its maximum size (the failover capacity)."""
    total = 0
    for group in _of(resources, "AWS::AutoScaling::AutoScalingGroup"):
        instance_type = _instance_type(group, resources)
        if instance_type and _standard(instance_type):
            total += _int(group.properties.get("MaxSize")) * probe.vcpus(instance_type)
    return total


def _lambda_concurrency(resources: Sequence[Resource], _probe: Probe) -> int:
    """One concurrent execution per function (they run on schedules and events at the same time), or its
    reserved concurrency."""
    functions = _of(resources, "AWS::Lambda::Function")
    return sum(max(1, _int(f.properties.get("ReservedConcurrentExecutions"), 1)) for f in functions)


def _buckets(resources: Sequence[Resource], probe: Probe) -> int:
    """The templates' buckets plus drgen's artifact bucket in each stack region that has none yet."""
    account = probe.aws.account_id()
    existing = {b["Name"] for b in probe.client("s3").list_buckets().get("Buckets", [])}
    missing = {r.region for r in resources if bucket_name(account, r.region) not in existing}
    return len(_of(resources, "AWS::S3::Bucket")) + len(missing)


# --- what the account already uses ------------------------------------------------------------------------


def _running_standard_vcpus(probe: Probe) -> int:
    running = {"Name": "instance-state-name", "Values": ["pending", "running"]}
    pages = probe.client("ec2").get_paginator("describe_instances").paginate(Filters=[running])
    types = [i["InstanceType"] for page in pages for r in page["Reservations"] for i in r["Instances"]]
    return sum(probe.vcpus(t) for t in types if _standard(t))


def _reserved_concurrency(probe: Probe) -> int:
    """Concurrency other functions already reserve: it is taken out of the account's pool."""
    limit = probe.client("lambda").get_account_settings()["AccountLimit"]
    return int(limit["ConcurrentExecutions"]) - int(limit["UnreservedConcurrentExecutions"])


def _application_load_balancers(probe: Probe) -> int:
    pages = probe.client("elbv2").get_paginator("describe_load_balancers").paginate()
    return sum(1 for page in pages for lb in page["LoadBalancers"] if lb.get("Type") == "application")


def _listing(service: str, operation: str, key: str) -> Usage:
    return lambda probe: probe.count(service, operation, key)


REGIONAL: tuple[Quota, ...] = (
    Quota("VPCs per Region", "vpc", "L-F678F1CE", counting("AWS::EC2::VPC"), _listing("ec2", "describe_vpcs", "Vpcs")),
    Quota(
        "Internet gateways per Region",
        "vpc",
        "L-A4707A72",
        counting("AWS::EC2::InternetGateway"),
        _listing("ec2", "describe_internet_gateways", "InternetGateways"),
    ),
    Quota(
        "EC2-VPC Elastic IPs",
        "ec2",
        "L-0263D0A3",
        counting("AWS::EC2::EIP"),
        lambda probe: len(probe.client("ec2").describe_addresses()["Addresses"]),
    ),
    Quota(
        "Interface VPC endpoints per VPC",
        "vpc",
        "L-29B6F2EB",
        counting("AWS::EC2::VPCEndpoint", lambda p: p.get("VpcEndpointType") == "Interface"),
        lambda _probe: 0,
        note="per new VPC: nothing in use yet",
    ),
    Quota(
        "DB clusters",
        "rds",
        "L-952B80B8",
        counting("AWS::RDS::DBCluster"),
        _listing("rds", "describe_db_clusters", "DBClusters"),
    ),
    Quota(
        "DB instances",
        "rds",
        "L-7B6409FD",
        counting("AWS::RDS::DBInstance"),
        _listing("rds", "describe_db_instances", "DBInstances"),
    ),
    Quota(
        "Application Load Balancers per Region",
        "elasticloadbalancing",
        "L-53DA6B97",
        counting("AWS::ElasticLoadBalancingV2::LoadBalancer", lambda p: p.get("Type", "application") == "application"),
        _application_load_balancers,
    ),
    Quota(
        "Fargate On-Demand vCPU resource count",
        "fargate",
        "L-3032A538",
        _fargate_vcpus,
        None,
        note="at failover capacity; running tasks not counted",
    ),
    Quota(
        "Running On-Demand Standard instances (vCPUs)",
        "ec2",
        "L-1216C47A",
        _ec2_vcpus,
        _running_standard_vcpus,
        note="at failover capacity",
    ),
    Quota("Lambda concurrent executions", "lambda", "L-B99A9384", _lambda_concurrency, _reserved_concurrency),
)

ACCOUNT: tuple[Quota, ...] = (
    Quota(
        "Route 53 health checks",
        "route53",
        "L-ACB674F3",
        counting("AWS::Route53::HealthCheck"),
        _listing("route53", "list_health_checks", "HealthChecks"),
        account_wide=True,
    ),
    Quota(
        "IAM roles per account",
        "iam",
        "L-FE177D64",
        counting("AWS::IAM::Role"),
        _listing("iam", "list_roles", "Roles"),
        account_wide=True,
    ),
    Quota(
        "S3 general purpose buckets",
        "s3",
        "L-DC2B2D3D",
        _buckets,
        lambda probe: len(probe.client("s3").list_buckets().get("Buckets", [])),
        account_wide=True,
    ),
)


def _number(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if value == int(value) else f"{value:g}"


def format_text(report: Report) -> str:
    """A table per region (then the account-wide quotas), and one line per exceeded quota with the fix."""
    roles: dict[str, list[str]] = {}
    for role, region in report.regions.items():
        roles.setdefault(region, []).append("DR" if role == "secondary" else role)
    lines = [f"quotas: {report.scenario} (suffix {report.suffix}): {len(report.to_create)} stack(s) to create"]
    groups: dict[str, list[Row]] = {}
    for row in report.rows:
        title = (
            f"account-wide (asked in {row.region})"
            if row.account_wide
            else (f"{row.region} ({', '.join(roles.get(row.region, []))})")
        )
        groups.setdefault(title, []).append(row)
    header = f"  {'QUOTA':<46} {'CODE':<31} {'NEEDED':>6} {'IN USE':>6} {'LIMIT':>7}  VERDICT"
    for title, rows in groups.items():
        lines += [title, header]
        for row in rows:
            in_use = "?" if row.in_use is None else str(row.in_use)
            note = f"  ({row.note})" if row.note else ""
            lines.append(
                f"  {row.quota.name:<46} {row.quota.service + ' ' + row.quota.code:<31} {row.needed:>6} "
                f"{in_use:>6} {_number(row.limit):>7}  {row.verdict.value}{note}"
            )
    counts = {v: sum(1 for r in report.rows if r.verdict is v) for v in Verdict}
    lines.append("quotas: " + ", ".join(f"{n} {v.value}" for v, n in counts.items()))
    lines += [f"EXCEEDS: {row.problem()}" for row in report.exceeded]
    return "\n".join(lines)
