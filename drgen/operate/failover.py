"""``drgen failover`` and ``drgen failback``: one run of the DR region's failover state machine.

On AWS the machine runs in Step Functions (``execution``): drgen starts it under an idempotent name and, with
``wait``, follows it step by step. Against a moto sandbox, which cannot execute it, the same definition runs
here with the Lambda code (``local``). A failback is refused while the primary region's replica lags (the
guard would refuse it too; refusing here saves a run) unless forced.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from drgen.bundle.names import REFUSED, STOOD_DOWN
from drgen.deploy.executor import pause
from drgen.deploy.session import Aws
from drgen.lambda_code import contract
from drgen.operate import execution, lambdas, local
from drgen.operate.asl import Run, Step
from drgen.operate.environment import Environment
from drgen.operate.readiness import LAG_WINDOW_SECONDS
from drgen.operate.simclock import SimClock


def request(mode: str, planned: bool, force: bool = False) -> dict[str, Any]:
    """The machine's input (its FailoverDefaults and FailbackDefaults states merge it over their defaults)."""
    return {contract.MODE: mode, contract.PLANNED: planned, contract.FORCE: force}


@dataclass
class Outcome:
    """What happened: the execution (name, ARN), whether this call started it, and the run when followed."""

    name: str
    execution_arn: str
    started: bool
    local: bool
    run: Run | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The run went through (or was only started): not failed, not refused, not stood down."""
        return self.run is None or (self.run.status == "SUCCEEDED" and not self.changed_nothing)

    @property
    def changed_nothing(self) -> str:
        """Why a run that succeeded changed nothing ("" when it went through): the guard's quiet refusal (not
        armed, nothing to fail back, another run holds the lock) or the confirmation's stand-down."""
        steps = self.run.steps if self.run else []
        if not steps or steps[-1].state not in (REFUSED, STOOD_DOWN):
            return ""
        task = next((s for s in reversed(steps) if s.kind == "Task" and s.state in ("Guard", "Confirm")), None)
        reason = (task.result or {}).get(contract.REASON, "") if task and isinstance(task.result, dict) else ""
        return f"{steps[-1].state}: {reason or (task.detail if task else '')}"

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "execution": self.name,
            "execution_arn": self.execution_arn,
            "started": self.started,
            "where": "locally (sandbox)" if self.local else "Step Functions",
            "notes": self.notes,
        }
        if self.run is not None:
            result |= {
                "status": self.run.status,
                "changed_nothing": self.changed_nothing,
                "seconds": round(self.run.seconds, 3),
                "error": self.run.error,
                "cause": self.run.cause,
                "steps": [s.to_dict() for s in self.run.steps],
            }
        return result


def writer(aws: Aws, environment: Environment) -> str:
    """The global cluster's writer ARN now ("" during a promotion)."""
    failover = lambdas.shared("failover")
    return str(
        failover.writer_arn(
            failover.describe_global_cluster(aws.client("rds", environment.dr), environment.global_cluster_id)
        )
    )


def lag_refusal(aws: Aws, environment: Environment) -> str:
    """Why a failback must wait ("" when the primary region's replica is caught up)."""
    metrics = lambdas.shared("metrics")
    lag = metrics.latest_maximum(
        aws.client("cloudwatch", environment.primary),
        environment.namespace,
        contract.REPLICATION_LAG,
        LAG_WINDOW_SECONDS,
    )
    if lag is None:
        return (
            f"no {contract.REPLICATION_LAG} in {environment.primary} for {LAG_WINDOW_SECONDS} s: "
            "replication back to the primary region is unproven"
        )
    if lag > environment.lag_threshold:
        return f"replication lag {lag:g} s in {environment.primary} exceeds {environment.lag_threshold:g} s"
    return ""


def execution_name(aws: Aws, environment: Environment, wanted: Mapping[str, Any]) -> str:
    """The idempotent name: the request and the last execution the guard recorded."""
    state = lambdas.shared("failover").read_state(aws.client("ssm", environment.dr), environment.state_parameter)
    return execution.execution_name(wanted, str(state.get(contract.EXECUTION_ID) or "initial"))


def plan(aws: Aws, environment: Environment, wanted: Mapping[str, Any]) -> dict[str, Any]:
    """What a run would do, changing nothing (--dry-run)."""
    return {
        "state_machine": environment.state_machine_arn,
        "execution": execution_name(aws, environment, wanted),
        "input": dict(wanted),
        "writer_now": writer(aws, environment),
        "where": "locally (sandbox)" if aws.sandbox else "Step Functions",
        "steps": task_order(environment),
    }


def task_order(environment: Environment) -> list[str]:
    """The Task states in the order a run reaches them, with the function each invokes (or the Resource as written,
    for a Task that calls no catalogue function): depth first from StartAt through each state's Next, then its
    Choices and Default, and a Catch target after everything reached otherwise. So the success path comes first,
    then the failure and stand-down notifications. Not the order of the States object: the rendered definition's
    keys are sorted."""
    definition = environment.definition
    states, functions = definition["States"], local.functions_by_resource()
    order: list[str] = []
    seen: set[str] = set()
    caught: list[str] = []

    def visit(name: str) -> None:
        if name in seen or name not in states:
            return
        seen.add(name)
        state = states[name]
        if state["Type"] == "Task":
            function = functions.get(state["Resource"])
            order.append(f"{name} ({function.key if function else state['Resource']})")
        caught.extend(c["Next"] for c in state.get("Catch", []))
        for following in (state.get("Next"), *(c.get("Next") for c in state.get("Choices", [])), state.get("Default")):
            if following:
                visit(following)

    visit(definition["StartAt"])
    while caught:
        visit(caught.pop(0))
    return order


def run(
    aws: Aws,
    environment: Environment,
    wanted: Mapping[str, Any],
    *,
    wait: bool,
    on_step: Callable[[Step], None],
    overrides: Mapping[str, str] | None = None,
    clock: SimClock | None = None,
) -> Outcome:
    """One run: locally against a sandbox (always followed; on ``clock`` when given), else started (or joined)
    in Step Functions."""
    name = execution_name(aws, environment, wanted)
    if aws.sandbox:
        result, _logs = local.run(aws, environment, name, wanted, overrides=overrides, on_step=on_step, clock=clock)
        note = "sandbox: moto cannot execute the deployed state machine; its definition ran here with the Lambda code"
        return Outcome(
            name,
            local.execution_arn(environment.state_machine_arn, name),
            started=True,
            local=True,
            run=result,
            notes=[note],
        )
    sfn = aws.client("stepfunctions", environment.dr)
    under_way = execution.running_of(sfn, environment.state_machine_arn, wanted)
    if under_way:
        arn, started, notes = under_way, False, [f"an execution is already running: following {under_way}"]
    else:
        arn, started = execution.start(sfn, environment.state_machine_arn, name, wanted)
        notes = [] if started else [f"{arn.rsplit(':', 1)[1]} is this request, already under way: following it"]
    outcome = Outcome(arn.rsplit(":", 1)[1], arn, started, local=False, notes=notes)
    if wait:
        outcome.run = execution.follow(sfn, arn, on_step, pause, aws.target.poll_seconds)
    elif not started:
        outcome.run = execution.steps_from_history(execution.history(sfn, arn))
    return outcome
