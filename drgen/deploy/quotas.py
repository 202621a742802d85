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

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from drgen.bundle.manifest import StackEntry
from drgen.bundle.reader import RenderedBundle
from drgen.deploy.quota_model import Probe, Quota, Report, Row, Usage, Verdict, number
from drgen.deploy.quota_needs import (
    buckets,
    counting,
    ec2_vcpus,
    fargate_vcpus,
    lambda_concurrency,
    resources_by_region,
    standard,
)
from drgen.deploy.session import CLOUD_ERRORS, Aws, error_code, error_text

_WORKERS = 8


def check(aws: Aws, bundle: RenderedBundle, entries: Sequence[StackEntry]) -> Report:
    """Every quota the resources of ``entries`` (the stacks still to create) count against, per region and
    account-wide (queried in the global layer's region)."""
    regional = resources_by_region(bundle, entries)
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


# --- what the account already uses ------------------------------------------------------------------------


def _running_standard_vcpus(probe: Probe) -> int:
    running = {"Name": "instance-state-name", "Values": ["pending", "running"]}
    pages = probe.client("ec2").get_paginator("describe_instances").paginate(Filters=[running])
    types = [i["InstanceType"] for page in pages for r in page["Reservations"] for i in r["Instances"]]
    return sum(probe.vcpus(t) for t in types if standard(t))


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
        fargate_vcpus,
        None,
        note="at failover capacity; running tasks not counted",
    ),
    Quota(
        "Running On-Demand Standard instances (vCPUs)",
        "ec2",
        "L-1216C47A",
        ec2_vcpus,
        _running_standard_vcpus,
        note="at failover capacity",
    ),
    Quota("Lambda concurrent executions", "lambda", "L-B99A9384", lambda_concurrency, _reserved_concurrency),
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
        buckets,
        lambda probe: len(probe.client("s3").list_buckets().get("Buckets", [])),
        account_wide=True,
    ),
)


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
                f"{in_use:>6} {number(row.limit):>7}  {row.verdict.value}{note}"
            )
    counts = {v: sum(1 for r in report.rows if r.verdict is v) for v in Verdict}
    lines.append("quotas: " + ", ".join(f"{n} {v.value}" for v, n in counts.items()))
    lines += [f"EXCEEDS: {row.problem()}" for row in report.exceeded]
    return "\n".join(lines)
