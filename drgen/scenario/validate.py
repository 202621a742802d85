"""Validation of a whole scenario, done once at load. Each failure is one line: field, problem, remedy."""

from __future__ import annotations

import ipaddress
import re

from drgen.errors import ScenarioError
from drgen.lambda_code import contract
from drgen.regions import is_known
from drgen.scenario.db_rules import master_username_problem
from drgen.scenario.model import ComputeKind, HealthCheckType, Scenario
from drgen.scenario.tag_rules import check_tags

SUFFIX_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
SUFFIX_MAX = 20
PREFIX_RE = re.compile(r"^[a-z](?:[a-z0-9-]*[a-z0-9])?$")
PREFIX_MAX = 24
LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
DB_CLASS_RE = re.compile(r"^db\.(serverless|[a-z0-9]+\.[a-z0-9]+)$")
IDENT_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,62}$")
# Objects must be stored "at least 30 days in the current storage class before you can transition them to
# S3 Standard-IA" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/
# lifecycle-transition-general-considerations.html).
IA_MIN_DAYS = 30
TABLE_RE = re.compile(r"^[a-zA-Z0-9_.-]{3,100}$")
# AWS Backup schedules: a six-field cron expression (minutes hours day-of-month month day-of-week year).
BACKUP_SCHEDULE_RE = re.compile(r"^cron\((\S+ ){5}\S+\)$")
BACKUP_RETENTION_MAX = 36500  # 100 years: beyond any retention a DR scenario means
STARTUP_MAX = 3600  # an hour: beyond that a failover cannot meet any RTO drgen is for
CONFIRM_RANGE = (60, 3600)  # one signal alone: at least a minute of it, at most an hour
SILENT_RANGE = (3, 600)  # the writer beats every second: at least three missed beats, at most ten minutes
# The region sets a DynamoDB global table with multi-Region strong consistency may span: three regions of one set
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-dynamodb-globaltable-globaltablewitness.html).
STRONG_CONSISTENCY_SETS = (
    frozenset({"us-east-1", "us-east-2", "us-west-2"}),
    frozenset({"eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1"}),
    frozenset({"ap-northeast-1", "ap-northeast-2", "ap-northeast-3"}),
)
REPLAY_RANGE = (60, 1209600)  # a minute to SQS's longest retention, 14 days
ACCOUNT_RE = re.compile(r"^[0-9]{12}$")
# Fargate's task sizes: CPU units -> (lowest MiB, highest MiB, step); AWS refuses any other pair
# (https://docs.aws.amazon.com/AmazonECS/latest/userguide/task-cpu-memory-error.html).
FARGATE_SIZES = {
    256: (512, 2048, 512),  # 512, 1024, 2048
    512: (1024, 4096, 1024),
    1024: (2048, 8192, 1024),
    2048: (4096, 16384, 1024),
    4096: (8192, 30720, 1024),
    8192: (16384, 61440, 4096),
    16384: (32768, 122880, 8192),
}
# An address SNS can deliver to: local part, @, a domain with a dot (SNS validates the protocol, not deliverability).
EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$"
)
ZONE_ID_RE = re.compile(r"^Z[A-Z0-9]{1,31}$")  # Route 53 hosted zone ids: "Z" and up to 31 more, upper case
# ECR: repository names (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html),
# then a Docker tag (up to 128 characters) or a sha256 digest.
ECR_IMAGE_RE = re.compile(
    r"^(?P<repository>(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$"
)
SSM_NAME_RE = re.compile(r"^/[A-Za-z0-9_.\-/]{1,1010}$")


def _fail(message: str) -> None:
    raise ScenarioError(message)


def validate_suffix(suffix: str) -> None:
    if not SUFFIX_RE.match(suffix) or "--" in suffix:
        _fail(
            f"bad suffix '{suffix}': use lowercase letters, digits and single hyphens, starting and ending "
            "with a letter or digit (it goes into S3 bucket, RDS and IAM names)"
        )
    if len(suffix) > SUFFIX_MAX:
        _fail(f"bad suffix '{suffix}': {len(suffix)} characters, at most {SUFFIX_MAX} keep every AWS name legal")


def validate(s: Scenario) -> None:
    if not PREFIX_RE.match(s.name):
        _fail(f"name '{s.name}': use lowercase letters, digits and hyphens, starting with a letter")
    if not PREFIX_RE.match(s.prefix) or "--" in s.prefix or len(s.prefix) > PREFIX_MAX:
        _fail(f"prefix '{s.prefix}': lowercase letters, digits, single hyphens, at most {PREFIX_MAX} characters")
    _regions(s)
    _network(s)
    _database(s)
    _routing(s)
    _deployment(s)
    _refused_by_aws(s)
    _objectives(s)
    _storage(s)
    _backup(s)
    check_tags(s, SUFFIX_MAX)  # a bundle may be rendered with any valid suffix
    _ledger(s)
    if s.sessions.enabled and not TABLE_RE.match(s.sessions.table):
        _fail(f"sessions.table '{s.sessions.table}': 3-100 characters of letters, digits, '_', '-', '.'")
    c = s.compute
    if not 0 <= c.standby_capacity <= c.active_capacity <= c.max_capacity:
        _fail("compute: need 0 <= standby_capacity <= active_capacity <= max_capacity")
    if c.target_tls and c.kind is not ComputeKind.ASG:
        _fail("compute.target_tls: only for kind asg (the instances make their own certificate at boot)")
    if not 0 <= c.startup_seconds <= STARTUP_MAX:
        _fail(f"compute.startup_seconds: {c.startup_seconds}; use 0 to {STARTUP_MAX} (the health-check grace period)")
    low, high = CONFIRM_RANGE
    if not low <= s.confirm_seconds <= high:
        _fail(
            f"confirm_seconds: {s.confirm_seconds}; use {low} to {high} (how long one failure signal alone must "
            "last before a failover that may lose data starts)"
        )
    low, high = SILENT_RANGE
    if not low <= s.writer_silent_seconds <= high:
        _fail(
            f"writer_silent_seconds: {s.writer_silent_seconds}; use {low} to {high} (how old the primary writer's "
            "heartbeat on the DR replica must be to count as a failure signal)"
        )


def _ledger(s: Scenario) -> None:
    ledger = s.ledger
    if not ledger.enabled:
        return
    if s.compute.kind is not ComputeKind.APIGATEWAY:
        _fail("ledger.enabled: only for compute kind apigateway (its API writes the orders to the ledger)")
    if not TABLE_RE.match(ledger.table):
        _fail(f"ledger.table '{ledger.table}': 3-100 characters of letters, digits, '_', '-', '.'")
    regions = {s.regions.primary, s.regions.secondary, ledger.witness_region}
    if ledger.witness_region is None or len(regions) != 3:
        _fail(
            "ledger.witness_region: name a third region, other than both of the scenario's (the ledger's "
            "strongly consistent writes need a quorum of two of three regions)"
        )
    if not any(regions <= allowed for allowed in STRONG_CONSISTENCY_SETS):
        sets = "; ".join(", ".join(sorted(allowed)) for allowed in STRONG_CONSISTENCY_SETS)
        _fail(
            f"ledger: {', '.join(sorted(r for r in regions if r))} are not one region set DynamoDB's multi-Region "
            f"strong consistency supports; use three regions of one of: {sets}"
        )
    low, high = REPLAY_RANGE
    if not low <= ledger.replay_seconds <= high:
        _fail(
            f"ledger.replay_seconds: {ledger.replay_seconds}; use {low} to {high} (how far back a failover "
            "replays the ledger into the trade queue)"
        )


def _regions(s: Scenario) -> None:
    for role, region in (("primary", s.regions.primary), ("secondary", s.regions.secondary)):
        if not is_known(region):
            _fail(f"regions.{role}: unknown region '{region}'; use an AWS region code such as eu-west-1")
    if s.regions.primary == s.regions.secondary:
        _fail(f"regions: primary and secondary are both '{s.regions.primary}'; a DR pair needs two different regions")


def _network(s: Scenario) -> None:
    n = s.network
    nets = []
    for field_name in ("primary_cidr", "secondary_cidr"):
        value = getattr(n, field_name)
        try:
            net = ipaddress.IPv4Network(value, strict=True)
        except ValueError as exc:
            _fail(f"network.{field_name}: '{value}' is not an IPv4 network ({exc})")
        if not 16 <= net.prefixlen <= 22:
            _fail(f"network.{field_name}: '{value}' must be a /16 to /22 (subnets are carved from it)")
        nets.append(net)
    if nets[0].overlaps(nets[1]):
        _fail(
            f"network: primary_cidr {nets[0]} and secondary_cidr {nets[1]} overlap; "
            "peered VPCs and failover routing need disjoint ranges"
        )
    if n.az_count not in (2, 3):
        _fail(f"network.az_count: {n.az_count}; use 2 or 3")
    for field_name, count in (("nat_gateways", n.nat_gateways), ("standby_nat_gateways", n.standby_nat_gateways)):
        if count is not None and count not in (0, 1, n.az_count):
            _fail(f"network.{field_name}: {count}; use 0 (VPC endpoints), 1, or {n.az_count} (one per AZ)")
        if count and not n.public_subnets:
            _fail(f"network.{field_name}: NAT gateways need public_subnets: true")


def _database(s: Scenario) -> None:
    d = s.database
    if not DB_CLASS_RE.match(d.instance_class):
        _fail(f"database.instance_class: '{d.instance_class}'; use e.g. db.r6g.large or db.serverless")
    if not re.match(r"^\d+\.\d+$", d.engine_version):
        _fail(f"database.engine_version: '{d.engine_version}'; use major.minor, e.g. 16.8")
    if d.serverless and not 0.5 <= d.serverless_min_acu <= d.serverless_max_acu <= 256:
        _fail("database: need 0.5 <= serverless_min_acu <= serverless_max_acu <= 256")
    if not 1 <= d.backup_retention_days <= 35:
        _fail(f"database.backup_retention_days: {d.backup_retention_days}; Aurora allows 1 to 35")
    for field_name in ("primary_instances", "secondary_instances"):
        count = getattr(d, field_name)
        if not 1 <= count <= 16:
            _fail(f"database.{field_name}: {count}; use 1 to 16")
    if not IDENT_RE.match(d.database_name):
        _fail("database.database_name: start with a letter; letters, digits and '_' only")
    problem = master_username_problem(d.master_username)
    if problem is not None:
        _fail(f"database.master_username: '{d.master_username}': {problem}")
    if not 1150 <= d.port <= 65535:
        _fail(f"database.port: {d.port}; Aurora accepts 1150-65535")
    if not 0 < d.lag_alarm_seconds <= 3600:
        _fail(f"database.lag_alarm_seconds: {d.lag_alarm_seconds}; use a value above 0 and at most 3600")


def _routing(s: Scenario) -> None:
    r = s.routing
    labels = r.domain.rstrip(".").split(".")
    if len(labels) < 2 or not all(LABEL_RE.match(label) for label in labels) or len(r.domain) > 253:
        _fail(f"routing.domain: '{r.domain}' is not a valid DNS name")
    if not LABEL_RE.match(r.record):
        _fail(f"routing.record: '{r.record}' must be one DNS label")
    if not 0 <= r.ttl_seconds <= 86400:
        _fail(f"routing.ttl_seconds: {r.ttl_seconds}; use 0 to 86400")
    h = r.health_check
    if h.interval_seconds not in (10, 30):
        _fail(f"routing.health_check.interval_seconds: {h.interval_seconds}; Route 53 accepts 10 or 30")
    if not 1 <= h.failure_threshold <= 10:
        _fail(f"routing.health_check.failure_threshold: {h.failure_threshold}; Route 53 accepts 1 to 10")
    if not h.path.startswith("/") or len(h.path) > 255:
        _fail(f"routing.health_check.path: '{h.path}' must start with '/' (at most 255 characters)")
    if h.type is HealthCheckType.HTTPS_STR_MATCH and not 0 < len(h.search_string) <= 255:
        _fail("routing.health_check.search_string: 1 to 255 characters for a string-match check")
    if (
        h.type is HealthCheckType.HTTPS_STR_MATCH
        and s.compute.drgen_answers_health
        and h.search_string not in contract.HEALTH_OK_BODY
    ):
        # Route 53 marks the endpoint unhealthy when the string is not in the body (Route 53 developer guide,
        # "How Amazon Route 53 determines whether a health check is healthy"): the primary would fail over at once.
        _fail(
            f"routing.health_check.search_string: drgen's own application answers the health check here, and its "
            f"answer never holds {h.search_string}; search for {contract.HEALTH_OK_BODY} (what it answers when its "
            "database reads), or set compute.image to your application"
        )
    if (h.type is HealthCheckType.CLOUDWATCH_METRIC) != (s.compute.kind.value == "connectivity"):
        _fail(
            "routing.health_check.type: CLOUDWATCH_METRIC checks go with compute.kind connectivity "
            "(DNS on database endpoints); endpoint checks with the other kinds"
        )


def _deployment(s: Scenario) -> None:
    """What the scenario says about the account it deploys to: the account, the zone, the application."""
    if s.account is not None and not ACCOUNT_RE.match(s.account):
        _fail(f"account: '{s.account}' is not an AWS account id (12 digits); quote it in YAML to keep leading zeros")
    r = s.routing
    if r.zone_id is not None and not ZONE_ID_RE.match(r.zone_id):
        _fail(f"routing.zone_id: '{r.zone_id}' is not a Route 53 hosted zone id (Z followed by letters and digits)")
    if r.zone_id is not None and r.create_zone:
        _fail("routing: zone_id names an existing zone and create_zone asks for a new one; keep one of them")
    image, kind = s.compute.image, s.compute.kind
    tracing = s.compute.tracing_image
    if tracing is not None and (
        kind is not ComputeKind.ECS or not ECR_IMAGE_RE.match(tracing) or _registry_host(tracing)
    ):
        _fail(
            f"compute.tracing_image: '{tracing}' must be 'repository:tag' of your private ECR, for compute.kind ecs "
            "(copy public.ecr.aws/xray/aws-xray-daemon there, in both regions)"
        )
    if image is None:
        if kind is ComputeKind.ASG and not (s.network.nat_gateways and s.network.standby_nat_gateways != 0):
            _fail(
                "compute.image: without your own AMI the instances install drgen's application (Python packages "
                "through NAT); set network.nat_gateways (and standby_nat_gateways) above 0, or name your AMI"
            )
        return
    if kind is ComputeKind.ECS and (not ECR_IMAGE_RE.match(image) or _registry_host(image)):
        _fail(
            f"compute.image: '{image}' is not 'repository:tag' or 'repository@sha256:<digest>' of your private ECR "
            "(the same repository name in both regions)"
        )
    if kind is ComputeKind.ASG and not SSM_NAME_RE.match(image):
        _fail(
            f"compute.image: '{image}' is not an SSM parameter name (starting with '/') holding each region's AMI "
            "id; an AMI id belongs to one region, a parameter of the same name answers in both"
        )
    if kind not in (ComputeKind.ECS, ComputeKind.ASG):
        _fail(f"compute.image: compute.kind {kind.value} runs drgen's functions, not an image; remove it")


def _refused_by_aws(s: Scenario) -> None:
    """Values AWS would refuse at deploy time, refused here instead of halfway through a deploy."""
    c = s.compute
    if c.kind is ComputeKind.ECS:
        low, high, step = FARGATE_SIZES.get(c.task_cpu, (0, -1, 1))
        if not (low <= c.task_memory <= high and (c.task_memory - low) % step == 0):
            fits = ", ".join(f"{cpu}: {lo}-{hi} by {st}" for cpu, (lo, hi, st) in FARGATE_SIZES.items())
            _fail(
                f"compute.task_cpu {c.task_cpu} with task_memory {c.task_memory}: Fargate has no such size; "
                f"use one of ({fits})"
            )
    email = s.alerting.email
    if email is not None and not EMAIL_RE.match(email):
        _fail(f"alerting.email: '{email}' is not an e-mail address SNS can subscribe")
    from drgen.preflight.documented import ENGINE, documented  # AWS's documented global-database support

    for region in (s.regions.primary, s.regions.secondary):
        verdict = documented(ENGINE, s.database.engine_version, s.database.instance_class, region)
        if verdict.supported is False:
            _fail(f"database: {verdict.text} ({region}); choose a version and class AWS offers for global databases")


def _registry_host(image: str) -> bool:
    """Whether the image names a registry (``host/...``): drgen pulls from the account's ECR in each region."""
    first, _, rest = image.partition("/")
    return bool(rest) and ("." in first or ":" in first or first == "localhost")


def _objectives(s: Scenario) -> None:
    o = s.objectives
    if not 0 < o.rto_seconds <= 86400:
        _fail(f"objectives.rto_seconds: {o.rto_seconds}; use 1 to 86400")
    if not 0 <= o.rpo_seconds <= 86400:
        _fail(f"objectives.rpo_seconds: {o.rpo_seconds}; use 0 to 86400")


def _storage(s: Scenario) -> None:
    seen = set()
    for i, b in enumerate(s.buckets):
        where = f"buckets[{i}]"
        if not LABEL_RE.match(b.purpose) or len(b.purpose) > 20:
            _fail(f"{where}.purpose: '{b.purpose}'; lowercase letters, digits, hyphens, at most 20")
        if b.purpose in seen:
            _fail(f"{where}.purpose: '{b.purpose}' appears twice; purposes name buckets and must differ")
        seen.add(b.purpose)
        for field_name in ("expire_days", "noncurrent_days", "transition_ia_days"):
            days = getattr(b, field_name)
            if days is not None and days < 1:
                _fail(f"{where}.{field_name}: {days}; use at least 1 day")
        if b.transition_ia_days is not None and b.transition_ia_days < IA_MIN_DAYS:
            _fail(
                f"{where}.transition_ia_days: {b.transition_ia_days}; S3 needs at least {IA_MIN_DAYS} days "
                "before STANDARD_IA"
            )
        # S3 refuses the rule with InvalidArgument: "'Days' in the Expiration action ... must be greater than 'Days'
        # in the Transition action" (PutBucketLifecycleConfiguration,
        # https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html).
        expire, transition = b.expire_days, b.transition_ia_days
        if expire is not None and transition is not None and expire <= transition:
            _fail(
                f"{where}.expire_days: {expire}; must be greater than transition_ia_days ({transition}), or S3 "
                "refuses the lifecycle rule; raise expire_days or drop the transition"
            )


def _backup(s: Scenario) -> None:
    b = s.backup
    if not 1 <= b.retention_days <= BACKUP_RETENTION_MAX:
        _fail(f"backup.retention_days: {b.retention_days}; use 1 to {BACKUP_RETENTION_MAX} days")
    if not BACKUP_SCHEDULE_RE.match(b.schedule):
        _fail(f"backup.schedule: '{b.schedule}'; use a six-field cron expression such as 'cron(0 5 ? * * *)'")
