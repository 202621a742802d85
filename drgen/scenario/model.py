"""The typed scenario: everything a preset or a YAML file may say, as frozen dataclasses.

A Scenario is built once at the edge (presets.py or loader.py), validated once (validate.py), and
read by every builder. Nothing downstream re-checks it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from drgen.lambda_code import contract


class Role(enum.StrEnum):
    """Which side of the pair a regional stack plays; the global layer has its own role."""

    PRIMARY = "primary"
    SECONDARY = "secondary"
    GLOBAL = "global"


class ComputeKind(enum.StrEnum):
    # The failover's scale step resizes these two: the template passes the kind as COMPUTE_KIND (Lambda contract).
    ECS = contract.ECS
    ASG = contract.ASG
    LAMBDA = "lambda"
    APIGATEWAY = "apigateway"
    CONNECTIVITY = "connectivity"


# The kinds whose endpoint is a Lambda function drgen ships (the catalogue adds its app-health function).
LAMBDA_TARGETS = (ComputeKind.LAMBDA, ComputeKind.APIGATEWAY)


class Standby(enum.StrEnum):
    """What the DR region runs before a failover."""

    PILOT_LIGHT = "pilot-light"  # compute.standby_capacity; the failover scales out to active_capacity
    WARM = "warm"  # active_capacity already: nothing to scale, at the cost of running it all the time


class HealthCheckType(enum.StrEnum):
    HTTPS = "HTTPS"
    HTTPS_STR_MATCH = "HTTPS_STR_MATCH"
    CLOUDWATCH_METRIC = "CLOUDWATCH_METRIC"


@dataclass(frozen=True)
class Regions:
    primary: str
    secondary: str

    def of(self, role: Role) -> str:
        return self.primary if role is Role.PRIMARY else self.secondary


@dataclass(frozen=True)
class Objectives:
    """Recovery objectives in seconds; rpo_seconds 0 means "no loss of committed transactions"."""

    rto_seconds: int
    rpo_seconds: int


@dataclass(frozen=True)
class Network:
    primary_cidr: str
    secondary_cidr: str
    az_count: int = 3
    # NAT gateways per region (0: VPC endpoints only, 1: one shared, az_count: one per AZ).
    nat_gateways: int = 0
    # The standby may run fewer NAT gateways than the primary; None means the same number.
    standby_nat_gateways: int | None = None
    public_subnets: bool = True
    peering: bool = False

    def cidr(self, role: Role) -> str:
        return self.primary_cidr if role is Role.PRIMARY else self.secondary_cidr

    def nat_count(self, role: Role) -> int:
        if role is Role.SECONDARY and self.standby_nat_gateways is not None:
            return self.standby_nat_gateways
        return self.nat_gateways


@dataclass(frozen=True)
class Database:
    engine_version: str = "16.8"
    instance_class: str = "db.r6g.large"
    serverless_min_acu: float = 0.5
    serverless_max_acu: float = 16.0
    primary_instances: int = 2
    secondary_instances: int = 1
    database_name: str = "appdb"
    master_username: str = "dbadmin"
    port: int = 5432
    backup_retention_days: int = 7
    deletion_protection: bool = False
    # The replication-lag alarm fires above this many seconds (the metric itself is in milliseconds).
    lag_alarm_seconds: float = 60.0

    @property
    def serverless(self) -> bool:
        return self.instance_class == "db.serverless"


@dataclass(frozen=True)
class Sessions:
    enabled: bool = False
    table: str = "sessions"
    ttl_attribute: str = "expires_at"


@dataclass(frozen=True)
class Ledger:
    """An order is acknowledged only once it is in a DynamoDB global table with multi-Region strong consistency
    (replicas in both regions and a witness in a third of the same region set): written synchronously to a second
    region before the write returns, so no acknowledged order is lost with a region. Aurora stays the store of
    processed trades, fed from the ledger through the trade queue; a failover replays the ledger's recent orders
    into the queue of the region that writes now (API Gateway scenarios)."""

    enabled: bool = False
    table: str = "order-ledger"
    witness_region: str | None = None
    # How far back a failover replays the ledger into the trade queue: the queue's retention (SQS's default,
    # 4 days), the oldest an acknowledged, unprocessed order can be.
    replay_seconds: int = 345600


@dataclass(frozen=True)
class Backup:
    """AWS Backup on top of Aurora's own automated backups: a plan in the primary whose recovery points are
    copied to a vault in the DR region (off unless the scenario asks)."""

    enabled: bool = False
    # How long recovery points (and their DR-region copies) are kept.
    retention_days: int = 35
    # When the plan runs (UTC): after the Aurora backup window (03:00-04:00), so the two do not overlap.
    schedule: str = "cron(0 5 ? * * *)"


@dataclass(frozen=True)
class Bucket:
    """One replicated bucket; purpose names it (``artifacts`` -> ``<prefix>-artifacts-<region>-<suffix>``)."""

    purpose: str
    # Expire current versions after this many days (None: keep them).
    expire_days: int | None = None
    noncurrent_days: int = 30
    transition_ia_days: int | None = None
    replicate: bool = True


@dataclass(frozen=True)
class HealthCheck:
    type: HealthCheckType = HealthCheckType.HTTPS_STR_MATCH
    path: str = "/health"
    search_string: str = contract.HEALTH_OK_BODY  # what drgen's health endpoint answers (Lambda contract)
    interval_seconds: int = 10
    failure_threshold: int = 3


@dataclass(frozen=True)
class Routing:
    domain: str
    # The public hosted zone of ``domain``. By default the account's existing zone: named by ``zone_id``, or found
    # by the domain at deploy. ``create_zone: true`` creates it instead: deploy then prints the name servers the
    # parent must delegate to, and holds back the layers whose certificates validate in the zone until it does.
    zone_id: str | None = None
    create_zone: bool = False
    record: str = "app"
    ttl_seconds: int = 60
    # The failover records: aliases to the endpoints (resolvers cache them 60 s, whatever ttl_seconds says), or,
    # false, CNAMEs to each region's endpoint name with ttl_seconds (a client follows a failover sooner).
    alias: bool = True
    health_check: HealthCheck = field(default_factory=HealthCheck)

    @property
    def host_name(self) -> str:
        """The failover name clients use, without the trailing dot (Route 53 reports records with it)."""
        return f"{self.record}.{self.domain}"


@dataclass(frozen=True)
class Alerting:
    email: str | None = None
    cross_region_subscription: bool = True
    dashboard: bool = True


@dataclass(frozen=True)
class Compute:
    kind: ComputeKind
    # Pilot light: the DR region runs standby_capacity and the failover scales it to active_capacity. Warm: it
    # runs active_capacity already (drgen budget shows what each gives and what warm standby costs).
    standby: Standby = Standby.PILOT_LIGHT
    standby_capacity: int = 1
    active_capacity: int = 2
    max_capacity: int = 6
    # The application to run. ECS: an image in the account's private ECR, "repository:tag" or
    # "repository@sha256:...", pulled in each region from that region's registry (push or replicate it to both).
    # ASG: the SSM parameter naming the AMI in each region (default: the latest Amazon Linux 2023).
    image: str | None = None
    # ECS: the X-Ray daemon beside the application, from the account's private ECR like ``image`` (copy the public
    # image there: tasks without NAT cannot pull it, and a pull-through cache's first pull needs NAT too).
    # None: no daemon (no tracing sidecar).
    tracing_image: str | None = None
    # The port the application listens on behind the load balancer (ECS containers, EC2 instances).
    app_port: int = 8080
    # How long the application needs from start to answering its health check: the load balancer's and the
    # scaler's health-check grace period. The failover's scale-out waits this long (drgen budget counts it).
    startup_seconds: int = 60
    # ECS Fargate task size (CPU units, MiB) and the EC2 instance type of an Auto Scaling group.
    task_cpu: int = 512
    task_memory: int = 1024
    instance_type: str = "t3.small"
    # Application event buses in both regions, forwarding the application's events to each other.
    event_bus: bool = False
    # The load balancer reaches the instances over HTTPS too (kind asg): each instance makes its certificate at
    # boot, which an ALB accepts without validating it.
    target_tls: bool = False

    @property
    def dr_capacity(self) -> int:
        """What the DR region runs before a failover."""
        return self.active_capacity if self.standby is Standby.WARM else self.standby_capacity

    @property
    def runs_default_application(self) -> bool:
        """Auto Scaling without its own AMI runs drgen's application (lambda/app/serve.py around health.py)."""
        return self.kind is ComputeKind.ASG and self.image is None

    @property
    def drgen_answers_health(self) -> bool:
        """Whether drgen's own code (lambda/app/health.py) answers the endpoint's health check: as a Lambda
        target (the catalogue's app-health function) or inside drgen's default application on EC2."""
        return self.kind in LAMBDA_TARGETS or self.runs_default_application


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    seed: str
    prefix: str
    regions: Regions
    objectives: Objectives
    network: Network
    database: Database
    routing: Routing
    compute: Compute
    sessions: Sessions = field(default_factory=Sessions)
    ledger: Ledger = field(default_factory=Ledger)
    backup: Backup = field(default_factory=Backup)
    buckets: tuple[Bucket, ...] = ()
    alerting: Alerting = field(default_factory=Alerting)
    # Tag values may hold {suffix}, {region} and {role}; the templates resolve them per stack.
    tags: tuple[tuple[str, str], ...] = ()
    suffix: str | None = None
    # The AWS account the scenario deploys to: deploy, plan and preflight refuse credentials of another account.
    account: str | None = None
    # Fail back by itself when the primary's health-check alarm returns from ALARM to OK (the guard still
    # refuses while replication to the primary lags).
    auto_failback: bool = False
    # A failover that may lose data starts when two independent signals agree that the primary is down (the DR
    # region's probe, the Route 53 health-check alarm, the primary writer's heartbeat on the replica), or when one
    # of them has persisted this many seconds.
    confirm_seconds: int = 180
    # The primary writer's heartbeat (written every second) older than this on the DR replica is the database's
    # signal that the primary is down, and says whether the writer is still alive (switchover, not failover).
    writer_silent_seconds: int = 10
    # Also generate an AWS ARC Region switch plan (AWS::ARCRegionSwitch::Plan) from the same model, beside drgen's
    # own state machine (opt-in; drgen/builders/arc_plan.py).
    arc_plan: bool = False
    # Where the seed asks for something AWS cannot do as written: what drgen does instead.
    notes: tuple[str, ...] = ()

    def region(self, role: Role) -> str:
        return self.regions.of(role)
