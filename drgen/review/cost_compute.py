"""Compute's share of the cost estimate: Fargate tasks, EC2 instances (Auto Scaling groups and single instances),
and the Lambda runs schedules start; with how often a schedule expression fires in a month."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from drgen.bundle.evaluate import Env
from drgen.bundle.manifest import StackEntry
from drgen.review.cost_model import amount
from drgen.review.cost_reader import OfType, Reader, integer, properties, referenced

# Stated assumptions (see the notes each estimate carries).
LAMBDA_DEFAULT_TIMEOUT = 3
LAMBDA_DEFAULT_MEMORY = 128


def containers(reader: Reader, stack: StackEntry, env: Env, resources: dict[str, Any], of_type: OfType) -> None:
    prices = reader.prices
    for lid, resource in of_type("AWS::ECS::Service"):
        props = properties(resource)
        strategy = props.get("CapacityProviderStrategy") or []
        fargate = env.known(props.get("LaunchType")) == "FARGATE" or any(
            "FARGATE" in str(env.known(s.get("CapacityProvider")) or "") for s in strategy if isinstance(s, dict)
        )
        if not fargate:
            continue  # tasks on EC2 capacity: the instances are counted
        idle = integer(env.known(props.get("DesiredCount")), default=1)
        failover = reader.failover_capacity(stack, idle, lid, "DesiredCount")
        task = resources.get(referenced(props.get("TaskDefinition")) or "", {})
        task_props = properties(task)
        vcpu = Decimal(integer(env.known(task_props.get("Cpu")), default=256)) / 1024
        memory = Decimal(integer(env.known(task_props.get("Memory")), default=512)) / 1024
        platform = task_props.get("RuntimePlatform") or {}
        arm = env.known(platform.get("CpuArchitecture")) == "ARM64"
        suffix = "_arm64" if arm else ""
        hourly = vcpu * prices.usd(f"fargate_vcpu{suffix}") + memory * prices.usd(f"fargate_gb{suffix}")
        item = f"Fargate task ({vcpu.normalize():f} vCPU, {memory.normalize():f} GB, {'ARM' if arm else 'x86'})"
        reader.add(
            stack,
            f"fargate_vcpu{suffix}",
            item,
            idle,
            failover,
            detail=f"{lid} DesiredCount",
            kind="compute",
            order="fargate",
            unit_usd=hourly * prices.hours_per_month,
            unit="task-month",
        )
        network = (props.get("NetworkConfiguration") or {}).get("AwsvpcConfiguration") or {}
        if env.known(network.get("AssignPublicIp")) == "ENABLED":
            reader.add(
                stack,
                "public_ipv4",
                "public IPv4 address",
                idle,
                failover,
                detail=f"{lid}: one per task",
                order="ipv4",
            )


def instances(reader: Reader, stack: StackEntry, env: Env, resources: dict[str, Any], of_type: OfType) -> None:
    for lid, resource in of_type("AWS::AutoScaling::AutoScalingGroup"):
        props = properties(resource)
        size = "DesiredCapacity" if "DesiredCapacity" in props else "MinSize"
        idle = integer(env.known(props.get(size)), default=0)
        failover = reader.failover_capacity(stack, idle, lid, size)
        template = resources.get(referenced((props.get("LaunchTemplate") or {}).get("LaunchTemplateId")) or "", {})
        data = properties(template).get("LaunchTemplateData") or {}
        _ec2(reader, stack, env.known(data.get("InstanceType")), idle, failover, f"{lid} {size}")
    for lid, resource in of_type("AWS::EC2::Instance"):
        _ec2(reader, stack, env.known(properties(resource).get("InstanceType")), 1, 1, lid)


def _ec2(reader: Reader, stack: StackEntry, instance_type: str | None, idle: int, failover: int, detail: str) -> None:
    name = instance_type or "unknown type"
    priced = reader.prices.price("ec2_instance", name) is not None
    item = f"EC2 {name} instance" + ("" if priced else " (not in the price table)")
    reader.add(stack, "ec2_instance", item, idle, failover, detail=detail, kind="compute", order="ec2", price_kind=name)


def functions(reader: Reader, stack: StackEntry, env: Env, resources: dict[str, Any], of_type: OfType) -> None:
    runs: dict[str, Decimal] = {}
    schedules: dict[str, list[str]] = {}
    for _, resource in of_type("AWS::Events::Rule", "AWS::Scheduler::Schedule"):
        props = properties(resource)
        expression = env.known(props.get("ScheduleExpression"))
        if not expression or (env.known(props.get("State")) or "ENABLED") != "ENABLED":
            continue
        per_month = runs_per_month(expression, reader.prices.hours_per_month)
        if per_month is None:
            continue
        targets = props.get("Targets") or [props.get("Target") or {}]
        for target in targets:
            function = referenced(target.get("Arn")) if isinstance(target, dict) else None
            if function and resources.get(function, {}).get("Type") == "AWS::Lambda::Function":
                runs[function] = runs.get(function, Decimal(0)) + per_month
                schedules.setdefault(function, []).append(expression)
    requests = Decimal(0)
    for function, count in sorted(runs.items()):
        props = properties(resources[function])
        timeout = integer(env.known(props.get("Timeout")), default=LAMBDA_DEFAULT_TIMEOUT)
        memory = integer(env.known(props.get("MemorySize")), default=LAMBDA_DEFAULT_MEMORY)
        arm = "arm64" in [env.known(a) for a in props.get("Architectures") or []]
        seconds = count * timeout * Decimal(memory) / 1024
        reader.add(
            stack,
            "lambda_gb_second_arm64" if arm else "lambda_gb_second",
            f"Lambda {function} (scheduled)",
            seconds,
            detail=f"{' + '.join(schedules[function])}: {amount(count)} runs x {timeout} s x {memory} MB",
            order="lambda",
        )
        requests += count
    if requests:
        reader.add(
            stack,
            "lambda_request",
            "Lambda requests (scheduled runs)",
            requests,
            detail=f"{stack.layer}: {len(runs)} functions",
            order="requests",
        )


# -- schedules ---------------------------------------------------------------------------------------------------
_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")


def runs_per_month(expression: str, hours_per_month: int = 730) -> Decimal | None:
    """How often a schedule expression fires in a month of ``hours_per_month`` hours (cron: approximately)."""
    expression = expression.strip()
    hours = Decimal(hours_per_month)
    rate = _RATE.match(expression)
    if rate:
        every, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        per_hour = {"minute": Decimal(60), "hour": Decimal(1), "day": Decimal(1) / 24}[unit]
        return (hours * per_hour / every).quantize(Decimal("0.01"))
    cron = _CRON.match(expression)
    if not cron:
        return None
    fields = cron.group(1).split()
    if len(fields) != 6:
        return None
    minutes, hours_field, day, month, weekday, _ = fields
    per_day = Decimal(_values(minutes, 60) * _values(hours_field, 24))
    days = hours / 24
    if weekday not in ("*", "?"):
        days = days / 7 * _values(weekday.split("#")[0].rstrip("L"), 7)
    elif day not in ("*", "?"):
        days = Decimal(_values(day.rstrip("LW"), 31))
    if month not in ("*", "?"):
        days = days * _values(month, 12) / 12
    return (per_day * days).quantize(Decimal("0.01"))


def _values(field: str, size: int) -> int:
    """How many values a cron field selects out of ``size``."""
    total = 0
    for part in field.split(","):
        base, _, step = part.partition("/")
        if base in ("*", "?") or (step and "-" not in base):
            start = 0 if base in ("*", "?") else _int(base)
            total += max(1, math.ceil((size - start) / (int(step) if step else 1)))
        elif "-" in base:
            low, high = (_int(v) for v in base.split("-", 1))
            total += max(1, math.ceil((high - low + 1) / (int(step) if step else 1)))
        else:
            total += 1
    return min(total, size) or 1


_NAMES = {
    name: number
    for names in (
        ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"),
        ("", "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
    )
    for number, name in enumerate(names, start=1 if names[0] == "SUN" else 0)
    if name
}


def _int(text: str) -> int:
    """A cron value: a number or a day or month name."""
    return int(text) if text.isdigit() else _NAMES.get(text.upper(), 0)
