"""Names a rendered bundle gives its stacks, outputs and resources that deploy and operate look up by name.

The builders import them from here, so the side that reads a deployed bundle never imports the builders (or
troposphere) to learn a name, and a name is spelled once for both sides.
"""

from __future__ import annotations

from drgen.lambda_code import contract
from drgen.naming import Names
from drgen.scenario.model import Role

# The stack tag naming the scenario that owns a stack (deploy refuses to update a stack another scenario owns).
# No suffix tag: the suffix ends every stack name, so two suffixes never share a stack. No bundle-hash tag:
# stack-level tags propagate to the stack's resources (CloudFormation user guide, "Resource tagging"), so a tag
# that changed with every render would update every resource of every stack on each deploy, changed or not;
# the deployment record keeps each template's hash instead.
OWNER_TAG = "drgen:scenario"

# -- stack outputs (the layer that exports each) -------------------------------------------------------------------
ALERT_TOPIC_ARN = "AlertTopicArn"  # foundation: the region's alert topic
ALERT_INBOX_QUEUE_ARN = "AlertInboxQueueArn"  # foundation, DR region: where the global alerts land
ENDPOINT_DNS_NAME = "EndpointDnsName"  # app: the region's load balancer (or API) name
ECS_CLUSTER_NAME = "EcsClusterName"  # app, ECS
ECS_SERVICE_NAME = "EcsServiceName"  # app, ECS
AUTO_SCALING_GROUP_NAME = "AutoScalingGroupName"  # app, Auto Scaling
STATE_MACHINE_ARN = "FailoverStateMachineArn"  # orchestration, DR region
HOSTED_ZONE_ID = "HostedZoneId"  # global
HEALTH_CHECK_OUTPUTS = {Role.PRIMARY: "PrimaryHealthCheckId", Role.SECONDARY: "SecondaryHealthCheckId"}  # global

# -- physical names: the resource part of ``Names.fixed`` / ``Names.for_region`` -----------------------------------
AURORA_CLUSTER = "aurora"  # the regional cluster (its instances are aurora-1, aurora-2, ...)
GLOBAL_CLUSTER = "global-db"
DB_SECRET = "db-master"
FAILOVER_STATE = "failover-state"  # the SSM parameter failover records its state in
# The DR region's failover control table (drgen/builders/control.py creates it; deploy reads the engaged signal).
CONTROL_TABLE = "failover-control"
SESSION_PARTITION_KEY = "session_id"  # the sessions table's key
# The us-east-1 alarms on the regions' Route 53 health checks; the primary's one starts a failover (its stem is
# in the Lambda contract: the confirm step reads it).
HEALTH_ALARMS = {Role.PRIMARY: contract.PRIMARY_HEALTH_ALARM, Role.SECONDARY: "secondary-health"}

# -- the failover machine's quiet ends, which operate tells from a failure in an execution's history ---------------
REFUSED = "Refused"
STOOD_DOWN = "StoodDown"


def camel(key: str) -> str:
    """``failover-promotion-status`` -> ``FailoverPromotionStatus`` (logical ids, substitution names)."""
    return "".join(part.capitalize() for part in key.replace("_", "-").split("-"))


def substitution(key: str) -> str:
    """The failover machine's DefinitionSubstitutions variable holding a catalogue function's ARN."""
    return f"{camel(key)}Arn"


def health_check_alarm_name(names: Names, role: Role = Role.PRIMARY) -> str:
    """The us-east-1 alarm on a region's Route 53 health check."""
    return names.fixed("alarm", HEALTH_ALARMS[role])
