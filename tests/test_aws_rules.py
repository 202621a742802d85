"""AWS rules the sandbox does not evaluate, held against every rendered bundle.

moto stores a Route 53 health check's alarm and a target group's health-check settings without judging them; AWS
would refuse or ignore them. Each rule below is AWS's, with where it is documented.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from drgen.budget.views import read
from drgen.operate import lambdas
from drgen.scenario.presets import PRESETS

from .conftest import resources

ALL = sorted(PRESETS)


def _templates(bundle: Any) -> list[dict[str, Any]]:
    return [json.loads(body) for path, body in sorted(bundle.files.items()) if path.startswith("templates/")]


@pytest.mark.parametrize("name", ALL)
def test_route53_follows_only_standard_resolution_alarms(name, bundles):
    """Route 53 supports CloudWatch alarms on standard-resolution metrics only ("High-resolution metrics aren't
    supported", https://docs.aws.amazon.com/Route53/latest/APIReference/API_AlarmIdentifier.html). The DR probe's
    10-second alarm can start the failover but must never gate a record."""
    high_resolution = {lambdas.module("probe", "app").PRIMARY_ENDPOINT_HEALTHY}
    docs = read(bundles[name].files)
    alarms = docs.alarms()  # by the name each gets in its stack, as Route 53 looks it up
    followed = 0
    for stack in docs.stacks:
        for logical_id, check in stack.resources("AWS::Route53::HealthCheck").items():
            config = check["Properties"]["HealthCheckConfig"]
            if config["Type"] != "CLOUDWATCH_METRIC":
                continue
            alarm = alarms[config["AlarmIdentifier"]["Name"]][2]
            assert alarm["Period"] % 60 == 0, logical_id
            assert alarm["MetricName"] not in high_resolution, logical_id
            followed += 1
    assert followed, "every preset gates a record on an alarm (the engaged signal at least)"


@pytest.mark.parametrize("name", ALL)
def test_target_group_checks_are_within_elbs_limits(name, bundles):
    """ELB: HealthCheckIntervalSeconds 5 to 300, HealthCheckTimeoutSeconds 2 to 120 and shorter than the interval,
    HealthyThresholdCount 2 to 10
    (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html)."""
    for document in _templates(bundles[name]):
        for logical_id, group in resources(document, "AWS::ElasticLoadBalancingV2::TargetGroup").items():
            props = group["Properties"]
            interval = props.get("HealthCheckIntervalSeconds", 30)
            timeout = props.get("HealthCheckTimeoutSeconds", 30 if props.get("TargetType") == "lambda" else 5)
            assert 5 <= interval <= 300 and 2 <= timeout <= 120 and timeout < interval, logical_id
            assert 2 <= props.get("HealthyThresholdCount", 5) <= 10, logical_id
