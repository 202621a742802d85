"""Alarms on the failover machinery itself (DR region): a failover that fails must not fail silently.

- ``failover-executions-failed``: an execution of the state machine failed, timed out or was aborted. Every path
  that publishes no FailoverSuccess (a step that crashed before notify, a notify that failed) ends in one of
  those, so this alarm is also the one for a missing FailoverSuccess.
- ``failover-outcome-failed``: notify published FailoverSuccess or FailbackSuccess 0 (the run reached its end and
  failed: validation, promotion time-out, a failed step).
- ``failover-function-errors``: any failover function, the engaged signal or the probe raised (Lambda Errors):
  a broken step, signal or trigger is news before the failover that needs it.
- ``failover-trigger-failed``: a rule could not start the state machine (EventBridge FailedInvocations).

Each notifies the DR region's alert topic (CloudWatch publishes under its own key-policy grant, not the
functions' roles) and pages on OK too. Missing data is not breaching: nothing ran, nothing failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from troposphere import Ref, cloudwatch, stepfunctions
from troposphere import events as tevents

from drgen.builders import inputs
from drgen.builders.alerting import connectivity_namespace
from drgen.builders.context import IS_SECONDARY, StackContext
from drgen.builders.functions import Deployed
from drgen.bundle.names import camel
from drgen.lambda_code import contract

PERIOD = 60
MAX_METRICS = 10  # CloudWatch: at most 10 metrics in one metric-math alarm
FAILED_EXECUTIONS = ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted")


def _metric(ident: str, namespace: str, name: str, stat: str, **dimensions: Any) -> cloudwatch.MetricDataQuery:
    dims = [cloudwatch.MetricDimension(Name=key, Value=value) for key, value in dimensions.items()]
    return cloudwatch.MetricDataQuery(
        Id=ident,
        MetricStat=cloudwatch.MetricStat(
            Metric=cloudwatch.Metric(Namespace=namespace, MetricName=name, Dimensions=dims), Period=PERIOD, Stat=stat
        ),
        ReturnData=False,
    )


def _alarm(
    ctx: StackContext,
    logical: str,
    name: str,
    description: str,
    queries: list[cloudwatch.MetricDataQuery],
    expression: str,
    comparison: str,
    threshold: float,
) -> None:
    if len(queries) > MAX_METRICS:
        raise ValueError(f"{logical}: {len(queries)} metrics, CloudWatch allows {MAX_METRICS}")  # a builder bug
    topic = inputs.alert_topic(ctx)
    result = cloudwatch.MetricDataQuery(Id="result", Expression=expression, Label=name, ReturnData=True)
    ctx.add(
        cloudwatch.Alarm(
            logical,
            Condition=IS_SECONDARY,
            AlarmName=ctx.names.regional("alarm", name),
            AlarmDescription=description,
            Metrics=[*queries, result],
            ComparisonOperator=comparison,
            Threshold=threshold,
            EvaluationPeriods=1,
            DatapointsToAlarm=1,
            TreatMissingData="notBreaching",
            AlarmActions=[topic],
            OKActions=[topic],
        )
    )


def build(
    ctx: StackContext,
    machine: stepfunctions.StateMachine,
    deployed: Sequence[Deployed],
    rules: Sequence[tevents.Rule],
) -> None:
    """The four alarms of the module's docstring."""
    executions = [
        _metric(f"m{index}", "AWS/States", name, "Sum", StateMachineArn=Ref(machine))
        for index, name in enumerate(FAILED_EXECUTIONS)
    ]
    _alarm(
        ctx,
        "FailoverExecutionsFailedAlarm",
        "failover-executions-failed",
        "A failover or failback execution failed, timed out or was aborted: see its notification and history.",
        executions,
        "SUM(METRICS())",
        "GreaterThanOrEqualToThreshold",
        1,
    )
    namespace = connectivity_namespace(ctx.scenario)
    # What lambda/failover/notify.py publishes, one query per direction (named after it).
    modes = (contract.FAILOVER, contract.FAILBACK)
    outcomes = [_metric(mode, namespace, contract.SUCCESS[mode], "Minimum") for mode in modes]
    published = " or ".join(contract.SUCCESS[mode] for mode in modes)
    no_data_is_success = ", ".join(f"FILL({mode}, 1)" for mode in modes)
    _alarm(
        ctx,
        "FailoverOutcomeFailedAlarm",
        "failover-outcome-failed",
        f"A failover or failback ended and failed ({published} 0).",
        outcomes,
        f"MIN([{no_data_is_success}])",
        "LessThanThreshold",
        1,
    )
    errors = [
        _metric(f"e{camel(d.spec.key)}", "AWS/Lambda", "Errors", "Sum", FunctionName=Ref(d.function)) for d in deployed
    ]
    for part, start in enumerate(range(0, len(errors), MAX_METRICS), start=1):
        suffix = "" if part == 1 else str(part)
        _alarm(
            ctx,
            f"FailoverFunctionErrors{suffix}Alarm",
            "failover-function-errors" + (f"-{part}" if suffix else ""),
            "A failover step, the engaged signal or the probe raised an error: the failover path is broken.",
            errors[start : start + MAX_METRICS],
            "SUM(METRICS())",
            "GreaterThanOrEqualToThreshold",
            1,
        )
    triggers = [
        _metric(f"r{rule.title}", "AWS/Events", "FailedInvocations", "Sum", RuleName=Ref(rule)) for rule in rules
    ]
    _alarm(
        ctx,
        "FailoverTriggerFailedAlarm",
        "failover-trigger-failed",
        "A rule could not start the failover state machine: a failover trigger is not working.",
        triggers,
        "SUM(METRICS())",
        "GreaterThanOrEqualToThreshold",
        1,
    )
