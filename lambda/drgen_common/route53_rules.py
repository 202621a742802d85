"""Route 53's documented rules for health checks and failover answers, one function per rule.

The failover's validation step judges the live health checks with these rules, and drgen's model of Route 53
(drgen/route53_model.py: the drill's DNS verdict and the tests) is built on them, because the local sandbox
evaluates no health check at all. Each rule cites the AWS page it implements; the tests take their cases from
those pages, not from drgen's output.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

# "If more than 18% of health checkers report that an endpoint is healthy, Route 53 considers it healthy. If 18%
# of health checkers or fewer report that an endpoint is healthy, Route 53 considers it unhealthy."
CHECKERS_URL = (
    "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html"
)
HEALTHY_SHARE = 0.18
# HealthThreshold, Inverted, InsufficientDataHealthStatus, FailureThreshold.
UPDATE_URL = "https://docs.aws.amazon.com/Route53/latest/APIReference/API_UpdateHealthCheck.html"
CONFIG_URL = "https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckConfig.html"
# CLOUDWATCH_METRIC checks follow the alarm's data stream, not its state.
METRIC_URL = "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-types.html"
# Records without a health check are healthy; the failover pair's answer.
CHOOSE_URL = "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-how-route-53-chooses-records.html"
FAILOVER_URL = "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-types.html"
# Alias records with EvaluateTargetHealth inherit the target's health (an ALB's: every target group that has
# targets has a healthy one; the model's world says whether that holds).
ALIAS_URL = "https://docs.aws.amazon.com/Route53/latest/APIReference/API_AliasTarget.html"

HEALTHY, UNHEALTHY, LAST_KNOWN = "Healthy", "Unhealthy", "LastKnownStatus"
INSUFFICIENT_STATUSES = (HEALTHY, UNHEALTHY, LAST_KNOWN)
PRIMARY, SECONDARY = "PRIMARY", "SECONDARY"

_COMPARISONS = {
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}


def checkers_healthy(statuses: Iterable[str]) -> bool | None:
    """The endpoint's health from the checkers' reports (GetHealthCheckStatus: each ``Status`` starts with
    ``Success`` or ``Failure``): healthy when more than 18 % of them report success. None without reports.
    (CHECKERS_URL)"""
    reports = [status.strip().lower() for status in statuses]
    if not reports:
        return None
    successes = sum(1 for report in reports if report.startswith("success"))
    return successes / len(reports) > HEALTHY_SHARE


def endpoint_status(previous: bool, recent_results: Sequence[bool], failure_threshold: int) -> bool:
    """An endpoint check's status after its latest results (oldest first): it changes only after
    ``failure_threshold`` consecutive results that disagree with the current status. (CONFIG_URL,
    FailureThreshold)"""
    if len(recent_results) < failure_threshold:
        return previous
    latest = recent_results[-failure_threshold:]
    if all(result != previous for result in latest):
        return not previous
    return previous


def calculated_healthy(children: Sequence[bool], health_threshold: int) -> bool:
    """A CALCULATED check: healthy when at least ``health_threshold`` children are. 0 is always healthy; more
    than the number of children is always unhealthy. (UPDATE_URL, HealthThreshold)"""
    return sum(1 for child in children if child) >= health_threshold


def reported(healthy: bool, *, inverted: bool, disabled: bool = False) -> bool:
    """What the check reports: ``Inverted`` makes an otherwise healthy check unhealthy and the reverse; on a
    CALCULATED check it inverts the combined result, never a child. (UPDATE_URL, Inverted.) A disabled check is
    healthy: "After you disable a health check, Route 53 considers the status of the health check to always be
    healthy" (UPDATE_URL, Disabled)."""
    return True if disabled else healthy is not inverted


def breaches(value: float, threshold: float, comparison: str) -> bool:
    """Whether one period's statistic breaches the alarm's threshold."""
    try:
        return bool(_COMPARISONS[comparison](value, threshold))
    except KeyError:
        raise ValueError(f"comparison {comparison!r} is not one Route 53 can evaluate") from None


def alarm_stream(
    period_values: Sequence[float | None], *, threshold: float, comparison: str, datapoints_to_alarm: int
) -> bool | None:
    """The alarm's data stream over its evaluation periods (one statistic per period, None where the period has
    no data): True when at least ``datapoints_to_alarm`` periods breach, False when not, None when no period has
    data (insufficient data). Route 53 evaluates the stream itself: "Route 53 doesn't wait for the CloudWatch
    alarm to go into the ALARM state", the alarm's state (``SetAlarmState``) and its ``TreatMissingData`` do not
    count. (METRIC_URL)"""
    present = [value for value in period_values if value is not None]
    if not present:
        return None
    return sum(1 for value in present if breaches(value, threshold, comparison)) >= datapoints_to_alarm


def metric_check_healthy(breaching: bool | None, *, insufficient: str, last_known: bool | None) -> bool:
    """A CLOUDWATCH_METRIC check: unhealthy while the stream breaches; with insufficient data,
    ``InsufficientDataHealthStatus`` decides: Healthy, Unhealthy, or LastKnownStatus (the status from the last
    time there was enough data; a new check with none is healthy). (UPDATE_URL, InsufficientDataHealthStatus)"""
    if breaching is not None:
        return not breaching
    if insufficient == HEALTHY:
        return True
    if insufficient == UNHEALTHY:
        return False
    if insufficient == LAST_KNOWN:
        return True if last_known is None else last_known
    raise ValueError(f"InsufficientDataHealthStatus {insufficient!r} is not one of {', '.join(INSUFFICIENT_STATUSES)}")


def record_healthy(check: bool | None, *, evaluate_target_health: bool = False, target: bool = True) -> bool:
    """A record is healthy when its health check (if it has one: a record without one is always healthy) and,
    for an alias that evaluates target health, its target are healthy. (CHOOSE_URL, ALIAS_URL)"""
    return (check is None or check) and (not evaluate_target_health or target)


def failover_answer(primary: bool, secondary: bool) -> str:
    """The failover pair's answer: PRIMARY while it is healthy; else SECONDARY while that is healthy; with both
    unhealthy, PRIMARY (Route 53 then considers every record healthy). (FAILOVER_URL, CHOOSE_URL)"""
    if primary:
        return PRIMARY
    return SECONDARY if secondary else PRIMARY
