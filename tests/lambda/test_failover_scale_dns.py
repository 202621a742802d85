"""failover/scale.py and failover/dns.py: DR compute to active capacity, traffic to the DR region; both idempotent."""

from __future__ import annotations

import pytest
from failover import dns, scale

from .conftest import DR

SERVICE_RESOURCE = "service/dr-cluster/trading"
RECORD = "app.example.com."


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
    return checks


def _inverted(cloud, check_id):
    return cloud("route53").get_health_check(HealthCheckId=check_id)["HealthCheck"]["HealthCheckConfig"]["Inverted"]


def test_dns_inverts_the_primary_health_check_once_and_failback_restores_it(cloud, failover_records):
    primary = failover_records["PRIMARY"]
    first = dns.handler({}, None)
    assert first["changed"] is True and first["traffic_to"] == "dr" and first["primary_record_gated"] is True
    assert _inverted(cloud, primary) is True
    assert dns.handler({}, None)["changed"] is False
    assert _inverted(cloud, primary) is True
    assert _inverted(cloud, failover_records["SECONDARY"]) is False
    back = dns.handler({"mode": "failback"}, None)
    assert back["changed"] is True and back["traffic_to"] == "primary"
    assert _inverted(cloud, primary) is False


def test_dns_reports_a_health_check_that_gates_no_primary_record(cloud, failover_records, monkeypatch):
    monkeypatch.setenv("PRIMARY_HEALTH_CHECK_ID", failover_records["SECONDARY"])
    assert dns.handler({}, None)["primary_record_gated"] is False
