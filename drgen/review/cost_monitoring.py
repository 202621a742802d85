"""What guards and watches the stacks, in the cost estimate: KMS keys, Secrets Manager secrets and their replicas,
CloudWatch alarms (standard and high resolution, composite) and dashboards, ARC Region switch plans."""

from __future__ import annotations

from drgen.bundle.evaluate import Env
from drgen.bundle.manifest import StackEntry
from drgen.review.cost_reader import OfType, Reader, integer, properties

HIGH_RESOLUTION_SECONDS = 60  # an alarm period below this is high resolution


def security_and_monitoring(reader: Reader, stack: StackEntry, env: Env, of_type: OfType) -> None:
    keys = [lid for lid, _ in of_type("AWS::KMS::Key", "AWS::KMS::ReplicaKey")]
    if keys:
        reader.add(stack, "kms_key", "KMS customer managed key", len(keys), detail=", ".join(keys), order="kms")
    for lid, resource in of_type("AWS::SecretsManager::Secret"):
        replicas = properties(resource).get("ReplicaRegions") or []
        count = 1 + (len(replicas) if isinstance(replicas, list) else 0)
        reader.add(
            stack,
            "secrets_manager_secret",
            "Secrets Manager secret",
            count,
            detail=lid + (f" + {count - 1} replica" if count > 1 else ""),
            order="secret",
        )
    standard = high = 0
    for _, resource in of_type("AWS::CloudWatch::Alarm"):
        props = properties(resource)
        metrics = [m for m in props.get("Metrics") or [] if isinstance(m, dict) and "MetricStat" in m]
        periods = [integer(env.known(m["MetricStat"].get("Period")), default=60) for m in metrics]
        if not metrics:
            periods = [integer(env.known(props.get("Period")), default=60)]
        count = len(metrics) or 1
        if min(periods) < HIGH_RESOLUTION_SECONDS:
            high += count
        else:
            standard += count
    layer = f"{stack.layer}: "
    composite = len(of_type("AWS::CloudWatch::CompositeAlarm"))
    dashboards = [lid for lid, _ in of_type("AWS::CloudWatch::Dashboard")]
    plans = [lid for lid, _ in of_type("AWS::ARCRegionSwitch::Plan")]
    counted = (  # key, item, order, count, detail
        ("cloudwatch_alarm", "CloudWatch alarm metrics (standard)", "alarm", standard, f"{layer}{standard}"),
        (
            "cloudwatch_alarm_high_resolution",
            "CloudWatch alarm metrics (high resolution)",
            "alarm_hr",
            high,
            f"{layer}{high}",
        ),
        ("cloudwatch_composite_alarm", "CloudWatch composite alarm", "composite", composite, f"{layer}{composite}"),
        ("cloudwatch_dashboard", "CloudWatch dashboard", "dashboard", len(dashboards), ", ".join(dashboards)),
        ("arc_region_switch_plan", "ARC Region switch plan", "arc", len(plans), ", ".join(plans)),
    )
    for key, item, order, count, detail in counted:
        if count:
            reader.add(stack, key, item, count, detail=detail, order=order)
