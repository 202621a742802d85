"""The five built-in scenarios, one per seed in shared/seeds (see docs/seed-coverage.md)."""

from __future__ import annotations

from drgen.scenario.model import (
    Backup,
    Bucket,
    Compute,
    ComputeKind,
    Database,
    HealthCheck,
    HealthCheckType,
    Ledger,
    Network,
    Objectives,
    Regions,
    Routing,
    Scenario,
    Sessions,
)

# The X-Ray daemon release the trading-ecs preset expects in the account's ECR (public.ecr.aws/xray/aws-xray-daemon).
XRAY_DAEMON_VERSION = "3.3.14"

ENV_REGION_ROLE_TAGS = (("Environment", "{suffix}"), ("Region", "{region}"), ("DR-Role", "{role}"))

TRADING_ECS = Scenario(
    name="trading-ecs",
    description="Trading platform on ECS Fargate behind ALBs; Aurora Serverless v2 global DB and DynamoDB sessions",
    seed="000_237b179a93b68767.txt",
    prefix="trading-ecs",
    regions=Regions(primary="eu-central-1", secondary="eu-west-2"),
    objectives=Objectives(rto_seconds=300, rpo_seconds=60),
    network=Network(primary_cidr="10.10.0.0/16", secondary_cidr="10.20.0.0/16", nat_gateways=0),
    database=Database(
        instance_class="db.serverless",
        serverless_min_acu=0.5,
        serverless_max_acu=16,
        database_name="trading",
        lag_alarm_seconds=60,
    ),
    sessions=Sessions(enabled=True, table="sessions"),
    buckets=(Bucket(purpose="artifacts", noncurrent_days=30),),
    routing=Routing(domain="trading-ecs.example.com", record="app", ttl_seconds=60),
    compute=Compute(
        kind=ComputeKind.ECS,
        standby_capacity=1,
        active_capacity=2,
        max_capacity=6,
        # Seed 000 asks for X-Ray: the daemon's image as copied into the account's ECR (drgen preflight checks it).
        tracing_image=f"aws-xray-daemon:{XRAY_DAEMON_VERSION}",
    ),
    tags=ENV_REGION_ROLE_TAGS,
    notes=(
        "The seed asks for the replication-lag alarm in eu-central-1; Aurora publishes "
        "AuroraGlobalDBReplicationLag only in the secondary region, so the alarm lives in eu-west-2.",
        "The seed asks for DNS weight adjustment; drgen uses Route 53 failover routing (PRIMARY/SECONDARY), "
        "which is the policy that shifts on health.",
    ),
)

TRADING_ASG = Scenario(
    name="trading-asg",
    description="Trading platform on EC2 Auto Scaling behind ALBs; minimal standby scaled out on failover",
    seed="001_4c3c85e4004c685d.txt",
    prefix="trading-asg",
    regions=Regions(primary="eu-central-1", secondary="eu-central-2"),
    objectives=Objectives(rto_seconds=300, rpo_seconds=60),
    network=Network(primary_cidr="10.30.0.0/16", secondary_cidr="10.40.0.0/16", nat_gateways=3, standby_nat_gateways=1),
    database=Database(database_name="trading", lag_alarm_seconds=30),
    buckets=(Bucket(purpose="artifacts"), Bucket(purpose="config")),
    routing=Routing(
        domain="trading-asg.example.com",
        record="api",
        ttl_seconds=60,
        health_check=HealthCheck(
            type=HealthCheckType.HTTPS_STR_MATCH,
            path="/health/trading",
            # The seed's "quotes_valid" belongs to its own application; drgen's answers HEALTH_OK_BODY (the
            # default) only after it has read this region's database, trades included: real trading data.
            interval_seconds=10,
            failure_threshold=3,
        ),
    ),
    compute=Compute(kind=ComputeKind.ASG, standby_capacity=1, active_capacity=3, max_capacity=9, target_tls=True),
    tags=(("Environment", "{suffix}"), ("Project", "trading-platform"), ("DR-Role", "{role}")),
    notes=(
        "The seed asks for a lag check every 30 s; EventBridge schedules run at most once a minute, so the "
        "monitor samples twice per invocation, 30 s apart.",
        "The standby runs one NAT gateway instead of three (the seed's minimal standby); failover does not "
        "depend on outbound internet from the DR region.",
    ),
)

HEALTHCARE_LAMBDA = Scenario(
    name="healthcare-lambda",
    description="Healthcare SaaS on Lambda behind ALBs; warm standby with VPC peering and event forwarding",
    seed="002_0c20decab77291fd.txt",
    prefix="healthcare",
    regions=Regions(primary="us-east-1", secondary="us-west-2"),
    objectives=Objectives(rto_seconds=900, rpo_seconds=900),
    network=Network(primary_cidr="10.0.0.0/16", secondary_cidr="10.1.0.0/16", nat_gateways=0, peering=True),
    database=Database(database_name="patients", lag_alarm_seconds=60),
    # The seed's optional "AWS Backup for centralized cross-region backup management".
    backup=Backup(enabled=True, retention_days=35),
    buckets=(Bucket(purpose="assets", transition_ia_days=30, noncurrent_days=90),),
    routing=Routing(
        domain="healthcare.example.com",
        record="app",
        ttl_seconds=60,
        health_check=HealthCheck(interval_seconds=30, failure_threshold=3),
    ),
    compute=Compute(kind=ComputeKind.LAMBDA, standby_capacity=1, active_capacity=1, max_capacity=1, event_bus=True),
    tags=ENV_REGION_ROLE_TAGS,
)

TRADING_SERVERLESS = Scenario(
    name="trading-serverless",
    description="Serverless trading on API Gateway + SQS + Lambda; Step Functions failover with automated failback",
    seed="003_01dd9c516467c4d3.txt",
    prefix="trading-sls",
    regions=Regions(primary="us-east-1", secondary="us-east-2"),
    objectives=Objectives(rto_seconds=60, rpo_seconds=0),
    network=Network(
        primary_cidr="10.50.0.0/16", secondary_cidr="10.60.0.0/16", nat_gateways=0, peering=True, public_subnets=False
    ),
    database=Database(database_name="trading", lag_alarm_seconds=1),
    sessions=Sessions(enabled=True, table="sessions"),
    # Zero loss of committed transactions: an order is acknowledged once it is in the ledger, replicated
    # synchronously to us-east-2 (or the us-west-2 witness) before the write returns.
    ledger=Ledger(enabled=True, witness_region="us-west-2"),
    buckets=(
        Bucket(purpose="config", noncurrent_days=30),
        Bucket(purpose="audit", transition_ia_days=30, noncurrent_days=365),
    ),
    routing=Routing(
        domain="trading-sls.example.com",
        record="api",
        # A CNAME with a 5 s TTL, not an alias (cached 60 s): clients reach the DR API soon after the record moves.
        ttl_seconds=5,
        alias=False,
        health_check=HealthCheck(type=HealthCheckType.HTTPS, path="/health", interval_seconds=10, failure_threshold=2),
    ),
    compute=Compute(kind=ComputeKind.APIGATEWAY, standby_capacity=1, active_capacity=1, max_capacity=1, event_bus=True),
    tags=(("Environment", "{suffix}"), ("Region", "{region}")),
    auto_failback=True,
    notes=(
        "The seed asks for zero loss of committed transactions; Aurora Global Database replicates "
        "asynchronously, so an unplanned failover can lose its last seconds of writes. An order is therefore "
        "committed (acknowledged) only once it is in the order ledger, a DynamoDB global table with multi-Region "
        "strong consistency (us-east-1, us-east-2, witness us-west-2); Aurora holds the processed trades, fed "
        "idempotently from the ledger, and a failover replays the ledger's recent orders.",
        "The seed asks for a 60-second failover; Aurora's promotion alone is documented at minutes. The DR API "
        "accepts and durably records orders as soon as clients reach it (health check 10 s x 2, CNAME TTL 5 s); "
        "processing catches up after the promotion. The budget reports both figures.",
        "The seed asks for Node.js Lambdas; drgen's Lambda code is Python, as the rest of the tool.",
    ),
)

DATABASE_DR = Scenario(
    name="database-dr",
    description="Aurora global database DR with connectivity-test Lambdas, peering and DB-endpoint DNS failover",
    seed="004_ee8bb4a8ebf7285a.txt",
    prefix="dbdr",
    regions=Regions(primary="us-east-1", secondary="eu-west-1"),
    objectives=Objectives(rto_seconds=300, rpo_seconds=60),
    network=Network(primary_cidr="10.100.0.0/16", secondary_cidr="10.101.0.0/16", nat_gateways=0, peering=True),
    database=Database(
        instance_class="db.r6g.large",
        database_name="trading",
        backup_retention_days=7,
        deletion_protection=True,
        lag_alarm_seconds=5,
    ),
    buckets=(Bucket(purpose="backups", expire_days=30, noncurrent_days=30),),
    routing=Routing(
        domain="dbdr.example.com",
        record="db",
        ttl_seconds=30,
        # Two failed minutes of connectivity (Route 53 follows standard-resolution alarms only): the record moves
        # while Aurora promotes, not after it (drgen budget).
        health_check=HealthCheck(type=HealthCheckType.CLOUDWATCH_METRIC, interval_seconds=30, failure_threshold=2),
    ),
    compute=Compute(kind=ComputeKind.CONNECTIVITY, standby_capacity=1, active_capacity=1, max_capacity=1),
    tags=(("Environment", "production"), ("DisasterRecovery", "enabled")),
    notes=(
        "The seed asks for deletion protection with a programmatic override: the data template takes a "
        "DeletionProtection parameter (default true) that destroy sets to false first.",
        "The seed asks for health checks on DB connectivity AND replication lag. The PRIMARY record's check "
        "follows the primary's connectivity alone, and the SECONDARY record has none: Route 53 answers PRIMARY "
        "whenever SECONDARY is unhealthy, so a lag spike, the lag metric's end after promotion, or the DR "
        "region's own connectivity metric stopping would send clients to the region without the writer. Lag is "
        "watched by its 5 s alarm, the readiness test and the failback guard instead.",
    ),
)

PRESETS: dict[str, Scenario] = {
    s.name: s for s in (TRADING_ECS, TRADING_ASG, HEALTHCARE_LAMBDA, TRADING_SERVERLESS, DATABASE_DR)
}
