"""The figures AWS's own behaviour contributes to the budget, each with what AWS says and where.

Where AWS documents a number, the figure is that number; where it documents only words ("a few minutes",
"near real-time") the figure is drgen's reading of them, and ``documented`` says which words. Where AWS
documents nothing (how long a Lambda task or a Fargate task takes to start), the figure is an estimate and
says so: a drill (``drgen drill``) measures the real value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Figure:
    """One AWS behaviour: the seconds drgen budgets for it, the documentation's words and address."""

    seconds: int | None  # None: the template's own values make the term, AWS documents how
    documented: str
    url: str
    estimate: bool = False  # True when AWS documents no number and drgen's figure is a reading or a guess

    @property
    def figure(self) -> int:
        """The seconds of a figure AWS gives a number for (a catalogue entry without one is a drgen bug)."""
        if self.seconds is None:
            raise ValueError(f"no figure in seconds for {self.url}")
        return self.seconds

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"documented": self.documented, "url": self.url, "estimate": self.estimate}
        if self.seconds is not None:
            data["figure_seconds"] = self.seconds
        return data


HEALTH_CHECK = Figure(
    None,
    "Route 53 considers an endpoint unhealthy after it fails FailureThreshold consecutive checks, one every "
    "RequestInterval seconds (10 or 30).",
    "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html",
)
ALARM = Figure(
    None,
    "An alarm goes to ALARM when DatapointsToAlarm of the last EvaluationPeriods periods breach; Route 53 "
    "health-check metrics are one-minute data.",
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarm-evaluation",
)
EVENT_FORWARDING = Figure(
    5,
    "EventBridge delivers events 'in near real-time' and makes the first attempt as soon as the event arrives; "
    "no latency figure is documented for cross-Region buses.",
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-region.html",
    estimate=True,
)
RULE_TARGET = Figure(
    1,
    "The DR region's rule starts the state machine on the first delivery attempt; no latency figure is documented.",
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html",
    estimate=True,
)
LAMBDA_TASK = Figure(
    2,
    "A Step Functions Lambda task: one invocation, a cold start included; no figure is documented.",
    "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html",
    estimate=True,
)
PROMOTION = Figure(
    120,
    "'Typically, the chosen secondary cluster assumes the primary role within a few minutes' (read as 2 min).",
    "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database-disaster-recovery.html",
    estimate=True,
)
ALIAS_TTL = Figure(
    60,
    "An alias record has no TTL of its own: resolvers cache it for the target's TTL, 60 s for Elastic Load "
    "Balancing and API Gateway endpoints.",
    "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resource-record-sets-choosing-alias-non-alias.html",
)
RECORD_TTL = Figure(
    None,
    "Resolvers cache a record for its TTL; clients follow the failover only after their cached answer expires.",
    "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resource-record-sets-values-shared.html#rrsets-values-common-ttl",
)
FARGATE_START = Figure(
    60,
    "A Fargate task goes PROVISIONING -> PENDING -> RUNNING (image pull, ENI attach); no figure is documented.",
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html",
    estimate=True,
)
EC2_LAUNCH = Figure(
    60,
    "An instance goes pending -> running before it boots; no figure is documented.",
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-lifecycle.html",
    estimate=True,
)
TARGET_HEALTH = Figure(
    None,
    "A new target receives traffic after HealthyThresholdCount consecutive successful checks, one every "
    "HealthCheckIntervalSeconds.",
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html",
)
GRACE = Figure(
    None,
    "The health-check grace period is the start-up allowance the template gives a new task or instance; "
    "budgeted as its start-up time (an upper bound).",
    "https://docs.aws.amazon.com/autoscaling/ec2/userguide/health-check-grace-period.html",
)
LAUNCH_HOOK = Figure(
    None,
    "A launch lifecycle hook holds a new instance in Pending:Wait until its action completes or HeartbeatTimeout "
    "ends; it is registered with the load balancer and put in service after; budgeted as its timeout (an upper "
    "bound).",
    "https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks-overview.html",
)
AURORA_REPLICATION = Figure(
    1,
    "Aurora Global Database replicates asynchronously 'with typical latency of under a second'; an unplanned "
    "failover (AllowDataLoss) loses what had not replicated, a switchover loses nothing.",
    "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database.html",
)
AURORA_MANAGED_RPO = "rds.global_db_rpo"  # Aurora PostgreSQL: blocks commits when every secondary lags beyond it
AURORA_MANAGED_RPO_MIN = 20
DYNAMODB_REPLICATION = Figure(
    1,
    "Global tables (eventual consistency): 'a newly written item is usually propagated to all replica tables "
    "within a second'; MultiRegionConsistency STRONG replicates synchronously.",
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/V2globaltables_HowItWorks.html",
)
S3_RTC = Figure(
    900,
    "S3 Replication Time Control replicates 99.99% of new objects within 15 minutes (most within seconds); "
    "15 is the only value.",
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-time-control.html",
)
S3_NO_RTC = Figure(
    None,
    "Without Replication Time Control S3 replication has no time guarantee.",
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication.html",
)
