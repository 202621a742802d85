"""failover/scale.py and failover/dns.py: DR compute to active capacity, traffic to the DR region; both idempotent.

The DNS step's first way is the DR region's failover-engaged alarm (and its metric); the Route 53 control plane
is the second way, whose failure must not fail the step.
"""

from __future__ import annotations

import pytest
from failover import dns, scale

from .conftest import DR, NAMESPACE, metric_values

SERVICE_RESOURCE = "service/dr-cluster/trading"
RECORD = "app.example.com."
ENGAGED_ALARM = "failover-engaged-eu-west-2-test"


@pytest.fixture
def ecs_service(cloud, monkeypatch):
    """A DR service at standby capacity 1 with an auto-scaling target whose minimum is the standby's."""
    ecs = cloud("ecs")
    ecs.create_cluster(clusterName="dr-cluster")
    ecs.register_task_definition(
        family="trading", containerDefinitions=[{"name": "app", "image": "app:1", "memory": 512}]
    )
    ecs.create_service(cluster="dr-cluster", serviceName="trading", taskDefinition="trading", desiredCount=1)
    cloud("application-autoscaling").register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=SERVICE_RESOURCE,
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=1,
        MaxCapacity=6,
    )
    for name, value in {"COMPUTE_KIND": "ecs", "ECS_CLUSTER": "dr-cluster", "ECS_SERVICE": "trading"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ACTIVE_CAPACITY", "2")


def _desired(cloud):
    return cloud("ecs").describe_services(cluster="dr-cluster", services=["trading"])["services"][0]["desiredCount"]


def _scaling_minimum(cloud):
    targets = cloud("application-autoscaling").describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    return targets[0]["MinCapacity"]


def test_scale_sets_the_ecs_desired_count_and_scaling_minimum_once(cloud, ecs_service):
    first = scale.handler({}, None)
    assert first == {"kind": "ecs", "previous": 1, "desired": 2, "changed": True}
    assert _desired(cloud) == 2 and _scaling_minimum(cloud) == 2
    assert scale.handler({}, None)["changed"] is False
    assert _desired(cloud) == 2 and _scaling_minimum(cloud) == 2


def test_scale_never_shrinks_a_service_that_already_scaled_out(cloud, ecs_service):
    cloud("ecs").update_service(cluster="dr-cluster", service="trading", desiredCount=5)
    assert scale.handler({}, None)["desired"] == 5 and _desired(cloud) == 5


def test_scale_sets_the_auto_scaling_group_capacity_once(cloud, monkeypatch):
    cloud("ec2").create_launch_template(
        LaunchTemplateName="trading", LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"}
    )
    autoscaling = cloud("autoscaling")
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="trading-dr",
        LaunchTemplate={"LaunchTemplateName": "trading"},
        MinSize=0,
        MaxSize=6,
        DesiredCapacity=1,
        AvailabilityZones=[f"{DR}a"],
    )
    for name, value in {"COMPUTE_KIND": "asg", "ASG_NAME": "trading-dr", "ACTIVE_CAPACITY": "3"}.items():
        monkeypatch.setenv(name, value)
    first = scale.handler({}, None)
    assert first == {"kind": "asg", "previous": 1, "desired": 3, "minimum": 3, "changed": True}
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["trading-dr"])["AutoScalingGroups"][0]
    assert (group["MinSize"], group["DesiredCapacity"], group["MaxSize"]) == (3, 3, 6)
    assert len(group["Instances"]) == 3
    assert scale.handler({}, None)["changed"] is False


@pytest.mark.parametrize(("kind", "event"), [("lambda", {}), ("connectivity", {}), ("ecs", {"mode": "failback"})])
def test_scale_says_when_there_is_nothing_to_scale(monkeypatch, kind, event):
    monkeypatch.setenv("COMPUTE_KIND", kind)
    result = scale.handler(event, None)
    assert result["changed"] is False and result["kind"] == kind
    assert ("failback" if event else "nothing to scale") in result["reason"]


@pytest.fixture
def failover_records(cloud, monkeypatch):
    """The global layer's zone: PRIMARY and SECONDARY records, each gated by its region's health check."""
    route53 = cloud("route53")
    zone = route53.create_hosted_zone(Name="example.com", CallerReference="zone")["HostedZone"]["Id"]
    checks = {}
    for role, host in (("PRIMARY", "primary.example.net"), ("SECONDARY", "dr.example.net")):
        checks[role] = route53.create_health_check(
            CallerReference=role,
            HealthCheckConfig={
                "Type": "HTTPS_STR_MATCH",
                "FullyQualifiedDomainName": host,
                "ResourcePath": "/health",
                "SearchString": '"status":"ok"',
            },
        )["HealthCheck"]["Id"]
        change = {
            "Name": RECORD,
            "Type": "CNAME",
            "SetIdentifier": role.lower(),
            "Failover": role,
            "TTL": 60,
            "HealthCheckId": checks[role],
            "ResourceRecords": [{"Value": host}],
        }
        route53.change_resource_record_sets(
            HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": change}]}
        )
    monkeypatch.setenv("HOSTED_ZONE_ID", zone)
    monkeypatch.setenv("RECORD_NAME", RECORD)
    monkeypatch.setenv("PRIMARY_HEALTH_CHECK_ID", checks["PRIMARY"])
    # The data layer's alarm in the DR region (moto's CloudFormation skips alarms: create it as the template does).
    cloud("cloudwatch").put_metric_alarm(
        AlarmName=ENGAGED_ALARM,
        Namespace=NAMESPACE,
        MetricName=dns.FAILOVER_ENGAGED,
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="ignore",
    )
    monkeypatch.setenv("ENGAGED_ALARM_NAME", ENGAGED_ALARM)
    return checks


def _alarm_state(cloud):
    return cloud("cloudwatch").describe_alarms(AlarmNames=[ENGAGED_ALARM])["MetricAlarms"][0]["StateValue"]


def _inverted(cloud, check_id):
    return cloud("route53").get_health_check(HealthCheckId=check_id)["HealthCheck"]["HealthCheckConfig"]["Inverted"]


def test_dns_engages_the_dr_alarm_then_inverts_the_check_once_and_failback_restores_both(cloud, failover_records):
    primary = failover_records["PRIMARY"]
    first = dns.handler({}, None)
    assert first["traffic_to"] == "dr"
    assert first["data_plane"] == {"alarm": ENGAGED_ALARM, "state": "ALARM", "metric": "FailoverEngaged", "value": 1.0}
    assert _alarm_state(cloud) == "ALARM" and metric_values(cloud, dns.FAILOVER_ENGAGED) == [1.0]
    control = first["control_plane"]
    assert control["ok"] is True and control["changed"] is True and control["primary_record_gated"] is True
    assert _inverted(cloud, primary) is True
    assert dns.handler({}, None)["control_plane"]["changed"] is False
    assert _inverted(cloud, primary) is True and _alarm_state(cloud) == "ALARM"
    assert _inverted(cloud, failover_records["SECONDARY"]) is False
    back = dns.handler({"mode": "failback"}, None)
    assert back["traffic_to"] == "primary" and back["data_plane"]["state"] == "OK"
    assert back["control_plane"]["changed"] is True
    assert _inverted(cloud, primary) is False and _alarm_state(cloud) == "OK"
    assert metric_values(cloud, dns.FAILOVER_ENGAGED, stat="Minimum")[0] == 0.0  # newest minute first


def test_dns_survives_the_route53_control_plane_failing(cloud, failover_records, monkeypatch):
    """Route 53's control plane (us-east-1) down, here a check it does not know: the alarm still moves traffic."""
    monkeypatch.setenv("PRIMARY_HEALTH_CHECK_ID", "00000000-0000-0000-0000-000000000000")
    result = dns.handler({}, None)
    assert result["control_plane"]["ok"] is False and "NoSuchHealthCheck" in result["control_plane"]["error"]
    assert result["data_plane"]["state"] == "ALARM" and _alarm_state(cloud) == "ALARM"
    assert _inverted(cloud, failover_records["PRIMARY"]) is False


def test_dns_fails_when_the_dr_region_alarm_cannot_be_set(cloud, failover_records, monkeypatch):
    """Without the first way the shift would depend on us-east-1 alone: the step fails (and is retried)."""
    monkeypatch.setenv("ENGAGED_ALARM_NAME", "no-such-alarm")
    with pytest.raises(Exception, match=r"ResourceNotFound|not found|does not exist"):
        dns.handler({}, None)


def test_dns_reports_a_health_check_that_gates_no_primary_record(cloud, failover_records, monkeypatch):
    monkeypatch.setenv("PRIMARY_HEALTH_CHECK_ID", failover_records["SECONDARY"])
    assert dns.handler({}, None)["control_plane"]["primary_record_gated"] is False
