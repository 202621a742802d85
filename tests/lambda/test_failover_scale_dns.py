"""failover/scale.py, failover/dns.py and failover/engaged.py: DR compute to active capacity, traffic to the DR
region; idempotent.

The DNS step's first way is the FailoverEngaged data stream (recorded in the control table, republished every
minute by the engaged signal); the Route 53 control plane is the second way, whose failure must not fail the
step. Where traffic goes is judged by drgen's model of Route 53 over the live records and metric data, because
moto evaluates no health check.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from drgen_common import clock
from failover import dns, engaged, scale

from drgen import route53_model

from .conftest import CONTROL_TABLE, DR, ENDPOINTS, NAMESPACE, control_item, metric_values

SERVICE_RESOURCE = "service/dr-cluster/trading"


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


# -- DNS -------------------------------------------------------------------------------------------------------------
@dataclass
class Outage:
    """The world the model of Route 53 needs: the primary's endpoint down (or not), the metric data moto holds."""

    cloud: Any
    primary_down: bool
    since: float

    def endpoint_up(self, endpoint: str, at: float) -> bool:
        return not (self.primary_down and endpoint == ENDPOINTS["PRIMARY"] and at >= self.since)

    def target_healthy(self, target: str, at: float) -> bool:
        return True  # CNAME records: no alias target to evaluate

    def datapoints(self, alarm: Any) -> list[tuple[float, float]]:
        end = datetime.now(UTC) + timedelta(days=2)
        result = self.cloud("cloudwatch", alarm.region).get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "m",
                    "MetricStat": {
                        "Metric": {"Namespace": alarm.namespace, "MetricName": alarm.metric},
                        "Period": alarm.period,
                        "Stat": alarm.statistic,
                    },
                }
            ],
            StartTime=end - timedelta(days=4),
            EndTime=end,
        )["MetricDataResults"][0]
        return [(t.timestamp(), v) for t, v in zip(result["Timestamps"], result["Values"], strict=True)]


def _route53_answers(cloud, records, primary_down: bool, minutes: list[int]) -> list[str]:
    """What Route 53 answers ``minutes`` after now, as the model judges the records with their live settings and
    the metric data in moto."""
    topology = route53_model.overlay(records.topology(), cloud("route53", "us-east-1"))
    now = time.time()
    world = Outage(cloud, primary_down, now - 600)
    return [m.answer for m in route53_model.timeline(topology, world, now - 600, [600 + 60 * m for m in minutes])]


def _keep_publishing(cloud, minutes: list[int]) -> None:
    """The engaged signal on its one-minute schedule at each of ``minutes`` from now (enough to fill the
    evaluation windows the test looks at; between them the check keeps its last status)."""
    start = time.time()
    for minute in sorted({m + k for m in minutes for k in (-2, -1, 0)} - {-2, -1}):
        with mock.patch.object(clock, "source", lambda minute=minute: start + 60 * minute + 1):
            engaged.keep(cloud("dynamodb"), cloud("cloudwatch"), table=CONTROL_TABLE, namespace=NAMESPACE)


def _gate(cloud, records):
    return cloud("route53").get_health_check(HealthCheckId=records.checks["GATE"])["HealthCheck"]["HealthCheckConfig"]


EXECUTION = {"execution_id": "arn:aws:states:eu-west-2:123456789012:execution:failover:run"}


def test_dns_records_the_traffic_publishes_the_signal_and_closes_the_gate_once(cloud, control_table, failover_records):
    first = dns.handler(EXECUTION, None)
    assert first["traffic_to"] == "dr"
    assert first["data_plane"] == {"traffic_to": "dr", "metric": "FailoverEngaged", "value": 1.0}
    assert control_item(cloud, "traffic")["to"] == "dr" and metric_values(cloud, "FailoverEngaged") == [1.0]
    assert first["control_plane"] == {
        "health_check_id": failover_records.checks["GATE"],
        "ok": True,
        "health_threshold": 3,
        "changed": True,
    }
    gate = _gate(cloud, failover_records)
    assert gate["HealthThreshold"] == 3 and not gate["Inverted"]  # more than its 2 children: always unhealthy
    assert dns.handler(EXECUTION, None)["control_plane"]["changed"] is False
    back = dns.handler({**EXECUTION, "mode": "failback"}, None)
    assert back["traffic_to"] == "primary" and back["data_plane"]["value"] == 0.0
    assert _gate(cloud, failover_records)["HealthThreshold"] == 2 and control_item(cloud, "traffic")["to"] == "primary"


@pytest.mark.parametrize("primary_down", [True, False], ids=["unplanned", "planned"])
def test_route53_answers_dr_for_a_day_after_the_dns_step(cloud, control_table, failover_records, primary_down):
    """Defects 1 and 2, judged by the model of Route 53 over the live records: DR from the first complete minute
    after the DNS step, for as long as the engaged signal runs, planned (primary healthy) or not."""
    dns.handler(EXECUTION, None)
    when = [2, 5, 30, 24 * 60]
    _keep_publishing(cloud, when)
    assert _route53_answers(cloud, failover_records, primary_down, when) == ["SECONDARY"] * 4


def test_inverting_the_gate_instead_would_answer_the_failed_primary(cloud, control_table, failover_records):
    """The defect put back: NOT(primary AND not-engaged) is healthy exactly when the primary is down."""
    dns.handler(EXECUTION, None)
    _keep_publishing(cloud, [5])
    route53 = cloud("route53")
    check = route53.get_health_check(HealthCheckId=failover_records.checks["GATE"])["HealthCheck"]
    route53.update_health_check(
        HealthCheckId=failover_records.checks["GATE"],
        HealthThreshold=2,
        Inverted=True,
        HealthCheckVersion=check["HealthCheckVersion"],
    )
    assert _route53_answers(cloud, failover_records, True, [5]) == ["PRIMARY"]


def test_dns_survives_the_route53_control_plane_failing(cloud, control_table, failover_records, monkeypatch):
    """Route 53's control plane (us-east-1) down, here a check it does not know: the engaged signal still moves
    traffic, by Route 53's data plane."""
    monkeypatch.setenv("PRIMARY_HEALTH_CHECK_ID", "00000000-0000-0000-0000-000000000000")
    result = dns.handler(EXECUTION, None)
    assert result["control_plane"]["ok"] is False and "NoSuchHealthCheck" in result["control_plane"]["error"]
    assert result["data_plane"]["value"] == 1.0 and _gate(cloud, failover_records)["HealthThreshold"] == 2
    _keep_publishing(cloud, [2, 5])
    assert _route53_answers(cloud, failover_records, True, [2, 5]) == ["SECONDARY", "SECONDARY"]


def test_dns_fails_when_the_dr_region_cannot_record_the_traffic(cloud, failover_records, monkeypatch):
    """Without the first way the shift would depend on us-east-1 alone: the step fails (and is retried)."""
    monkeypatch.setenv("CONTROL_TABLE", "no-such-table")
    with pytest.raises(Exception, match=r"ResourceNotFound|not found|does not exist"):
        dns.handler(EXECUTION, None)


def test_the_dns_step_refuses_to_touch_a_check_that_is_not_the_calculated_gate(
    cloud, control_table, failover_records, monkeypatch
):
    monkeypatch.setenv("PRIMARY_HEALTH_CHECK_ID", failover_records.checks["SECONDARY"])
    result = dns.handler(EXECUTION, None)["control_plane"]
    assert result["ok"] is False and "not the CALCULATED gate" in result["error"]


def test_the_engaged_signal_publishes_the_recorded_direction(cloud, control_table):
    dynamodb, cloudwatch = cloud("dynamodb"), cloud("cloudwatch")
    assert engaged.keep(dynamodb, cloudwatch, table=CONTROL_TABLE, namespace=NAMESPACE) == {
        "traffic_to": "primary",
        "value": 0.0,
    }  # nothing recorded yet: the primary serves
    dns.engage(dynamodb, cloudwatch, table=CONTROL_TABLE, namespace=NAMESPACE, execution="x", to_dr=True)
    assert engaged.keep(dynamodb, cloudwatch, table=CONTROL_TABLE, namespace=NAMESPACE)["value"] == 1.0


def test_a_disabled_gate_is_enabled_again_by_the_dns_step(cloud, control_table, failover_records):
    """UpdateHealthCheck, Disabled: "After you disable a health check, Route 53 considers the status of the health
    check to always be healthy. If you configured DNS failover, Route 53 continues to route traffic to the
    corresponding resources." A disabled gate keeps the failed primary answered; the DNS step undoes it."""
    route53 = cloud("route53")
    gate = failover_records.checks["GATE"]
    version = route53.get_health_check(HealthCheckId=gate)["HealthCheck"]["HealthCheckVersion"]
    route53.update_health_check(HealthCheckId=gate, Disabled=True, HealthCheckVersion=version)
    _keep_publishing(cloud, [5])
    assert _route53_answers(cloud, failover_records, True, [5]) == ["PRIMARY"]  # the model reads Disabled
    dns.handler(EXECUTION, None)
    assert _gate(cloud, failover_records).get("Disabled", False) is False
    _keep_publishing(cloud, [2, 5])
    assert _route53_answers(cloud, failover_records, True, [2, 5]) == ["SECONDARY", "SECONDARY"]
