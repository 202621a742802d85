"""Failover orchestration in the DR region: the failover functions, the control table, the state machine.

The machine lives in the DR region because Step Functions' integrations call their own region and a failover
must not need the failing primary; its definition is ``failover_definition``. Two triggers start it: the
us-east-1 health-check alarm forwarded to this region (events.py), and this region's own probe of the primary's
endpoint (``probe``: a scheduled function, its alarm, and a rule on that alarm). EventBridge cannot name the
executions it starts, so two triggers firing together start two runs; the guard's lock in the control table
lets exactly one proceed, and every step is idempotent.

The DNS step records where traffic goes in the control table and the engaged signal, a function scheduled every
minute, republishes it as the FailoverEngaged metric that Route 53's failover-engaged check follows (routing.py).
A step that touches the primary region at all (failback only, or best effort) says why in its catalogue entry,
and lint rule E9010 fails on any other primary-region reference in this template's DR-only resources. The alarms
on the failover machinery itself are in ``failover_alarms``; what each function is given (environment and
grants) in ``failover_access``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from awacs import logs, xray
from awacs.aws import Allow, PolicyDocument, Statement
from awacs.awslambda import InvokeFunction
from troposphere import GetAtt, Ref, iam, stepfunctions
from troposphere import logs as tlogs

from drgen.builders import arc_plan, control, events, failover_alarms, functions, inputs, ledger, probe, ssm_parameters
from drgen.builders.context import IS_SECONDARY, StackContext
from drgen.builders.database import LOG_RETENTION_DAYS
from drgen.builders.failover_access import (
    STATE_MACHINE,
    failover_env,
    failover_grants,
    return_replication_grants,
)
from drgen.builders.failover_definition import definition, tasks
from drgen.builders.functions import Deployed
from drgen.builders.iam import DESTROYABLE, POLICY_VERSION, service_trust
from drgen.bundle.names import STATE_MACHINE_ARN, substitution
from drgen.lambda_code import contract
from drgen.lambda_functions import (
    ENGAGED_SIGNAL,
    LEDGER_REPLAY,
    READINESS,
    RETURN_REPLICATION,
    failover_steps,
    probe_for,
    returns_data,
)

# Route 53 evaluates the engaged alarm's one-minute data stream: the signal publishes every minute.
ENGAGED_SCHEDULE = "rate(1 minute)"


def state_machine(ctx: StackContext, deployed: Mapping[str, Deployed]) -> stepfunctions.StateMachine:
    """The Standard state machine (DR region), traced with X-Ray and logging every execution event."""
    name = ctx.names.fixed("statemachine", STATE_MACHINE)
    group = ctx.add(
        tlogs.LogGroup(
            "FailoverLogGroup",
            Condition=IS_SECONDARY,
            # Under /aws/vendedlogs/ CloudWatch Logs needs no resource policy entry per state machine.
            LogGroupName=f"/aws/vendedlogs/states/{name}",
            RetentionInDays=LOG_RETENTION_DAYS,
            KmsKeyId=inputs.key_arn(ctx),
            **DESTROYABLE,
        )
    )
    keys = sorted(set(tasks(ctx.scenario).values()))
    role = ctx.add(
        iam.Role(
            "FailoverStateMachineRole",
            Condition=IS_SECONDARY,
            AssumeRolePolicyDocument=service_trust("states.amazonaws.com"),
            Policies=[
                iam.Policy(
                    PolicyName="failover",
                    PolicyDocument=PolicyDocument(
                        Version=POLICY_VERSION, Statement=_machine_statements([deployed[k].arn for k in keys])
                    ),
                )
            ],
        )
    )
    machine = ctx.add(
        stepfunctions.StateMachine(
            "FailoverStateMachine",
            Condition=IS_SECONDARY,
            StateMachineName=name,
            StateMachineType="STANDARD",
            RoleArn=GetAtt(role, "Arn"),
            DefinitionString=json.dumps(definition(ctx.scenario), sort_keys=True),
            DefinitionSubstitutions={substitution(k): deployed[k].arn for k in keys},
            TracingConfiguration=stepfunctions.TracingConfiguration(Enabled=True),
            LoggingConfiguration=stepfunctions.LoggingConfiguration(
                Level="ALL",
                IncludeExecutionData=True,
                Destinations=[
                    stepfunctions.LogDestination(
                        CloudWatchLogsLogGroup=stepfunctions.CloudWatchLogsLogGroup(LogGroupArn=GetAtt(group, "Arn"))
                    )
                ],
            ),
        )
    )
    ctx.output(STATE_MACHINE_ARN, Ref(machine), "The failover state machine (DR region).", IS_SECONDARY)
    return machine


def function_outputs(ctx: StackContext, deployed: Mapping[str, Deployed]) -> None:
    """An output per failover function ARN (DR region), for operators and runbooks: ``<Function>Arn``."""
    for spec in failover_steps(ctx.scenario):
        ctx.output(
            substitution(spec.key), deployed[spec.key].arn, f"Failover step function: {spec.description}", IS_SECONDARY
        )


def _machine_statements(function_arns: list[Any]) -> list[Statement]:
    return [
        Statement(Effect=Allow, Action=[InvokeFunction], Resource=function_arns),
        # Log delivery and X-Ray are configured through account-level APIs that AWS authorizes on "*" only.
        Statement(
            Effect=Allow,
            Action=[
                logs.CreateLogDelivery,
                logs.GetLogDelivery,
                logs.UpdateLogDelivery,
                logs.DeleteLogDelivery,
                logs.ListLogDeliveries,
                logs.PutResourcePolicy,
                logs.DescribeResourcePolicies,
                logs.DescribeLogGroups,
            ],
            Resource=["*"],
        ),
        Statement(
            Effect=Allow,
            Action=[xray.PutTraceSegments, xray.PutTelemetryRecords, xray.GetSamplingRules, xray.GetSamplingTargets],
            Resource=["*"],
        ),
    ]


def build(ctx: StackContext) -> None:
    """The orchestration layer: readiness test in both regions; in the DR region the failover machinery."""
    state_name, state_arn = ssm_parameters.failover_state(ctx)
    table = control.table(ctx)
    probe_spec = probe_for(ctx.scenario)
    env = failover_env(ctx, state_name, table)
    grants = failover_grants(ctx, state_arn)
    if returns_data(ctx.scenario):
        grants[RETURN_REPLICATION.key] = return_replication_grants(ctx, env)
    if ctx.scenario.ledger.enabled:
        env |= ledger.replay_env(ctx)
        grants[LEDGER_REPLAY.key] = ledger.replay_grants(ctx, inputs.primary_kms_key_arn(ctx))
    deployed = functions.deploy(
        ctx, [*failover_steps(ctx.scenario), ENGAGED_SIGNAL, probe_spec], env, grants, probe.network(ctx)
    )
    # The readiness test runs in both regions; only the DR region's has a control table to arm.
    readiness_env = {**env, contract.CONTROL_TABLE: control.env_value(table)}
    deployed |= functions.deploy(ctx, [READINESS], readiness_env, grants)
    machine = state_machine(ctx, deployed)
    if ctx.scenario.arc_plan:  # AWS's orchestrator beside drgen's, from the same model (opt-in)
        arc_plan.build(ctx, deployed)
    function_outputs(ctx, deployed)
    trigger = events.failover_trigger(ctx, machine)
    probe_trigger = probe.trigger(ctx, deployed[probe_spec.key], trigger)
    functions.schedule(
        ctx,
        deployed[ENGAGED_SIGNAL.key],
        ENGAGED_SCHEDULE,
        f"Republishes {contract.FAILOVER_ENGAGED} every minute: Route 53 follows the engaged alarm's data stream",
    )
    functions.schedule(
        ctx,
        deployed[READINESS.key],
        "rate(1 hour)",
        "Hourly failover-readiness test: health endpoint, standby cluster, replication lag, state machine",
    )
    rules = [trigger, probe_trigger, *events.failback_rules(ctx)]
    failover_alarms.build(ctx, machine, [d for key, d in deployed.items() if key != READINESS.key], rules)
