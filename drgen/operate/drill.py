"""``drgen drill``: the whole failover rehearsal, locally against a moto server started here, or ``--live``.

Local: start moto's server in this process, deploy the scenario with the deploy code, create through the
service APIs what moto cannot create from the templates (``moto_standins.provision``), then, on a simulated clock
(``simclock``) with the stand-ins of ``rehearsal`` for what moto does not run (alarms, databases, applications,
schedules): run the DR region's readiness function (it arms the triggers), fail the primary (unplanned) or not
(planned), run the failover machine's definition with the Lambda code, let a day pass, bring the primary back,
fail back. Verified: the writer, the DR compute, the notification, the primary writing and answering again, and
where Route 53 sends clients, a timeline from drgen's model of Route 53 (``dns_verdict``): DR from the failover's
DNS step until the failback, the primary after it. Each step's time stands next to the budget's term.

The promotion is a stand-in (moto has no FailoverGlobalCluster; ``moto_standins.promotion_standin``), and so is
GetHealthCheckStatus, which the validation step reads: the model answers it (``moto_standins.health_check_standin``).

Live (``--live``): against a real, deployed account a planned switchover to the DR region and back, each
followed step by step in Step Functions, with the readiness check before each.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from drgen.bundle.manifest import LayerName
from drgen.bundle.names import ALERT_INBOX_QUEUE_ARN, AUTO_SCALING_GROUP_NAME, ECS_CLUSTER_NAME, ECS_SERVICE_NAME
from drgen.bundle.reader import RenderedBundle, from_files
from drgen.deploy import deployer
from drgen.deploy.progress import PlainProgress
from drgen.deploy.session import Aws
from drgen.deploy.target import Target
from drgen.errors import DrgenError
from drgen.lambda_code import contract
from drgen.operate import dns_verdict, failover, lambdas, moto_standins, readiness
from drgen.operate.asl import Step
from drgen.operate.drill_report import Report, budget_terms
from drgen.operate.environment import Environment, from_outputs, resolve
from drgen.operate.local import environment
from drgen.operate.moto_server import moto_server
from drgen.operate.readiness import Check
from drgen.operate.rehearsal import Rehearsal, endpoints
from drgen.operate.simclock import SimClock, lambda_clock
from drgen.scenario.model import ComputeKind, Role, Scenario

DRILL_SUFFIX = "drill"
SANDBOX_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
MINUTE = 60.0
HISTORY_SECONDS = 900.0  # what the model of Route 53 looks back on (failure thresholds, last known statuses)
DETECTION_SECONDS = 180.0  # from the outage until the failure alarms have fired and the trigger starts the run
RECOVERY_GAP_SECONDS = 24 * 3600 + 600.0  # the primary comes back a day after the failover
WINDOW_SECONDS = 180.0  # how long before a sample the schedules run (the alarm's evaluation periods and more)
# When the DNS verdict is sampled, after each run's DNS step (the 0, 1, 2, 5, 30 minutes and 24 hours).
FAILOVER_SAMPLES = (0.0, 60.0, 120.0, 300.0, 1800.0, 86400.0)
FAILBACK_SAMPLES = (0.0, 60.0, 120.0, 300.0, 1800.0)


# -- local: moto, stand-ins --------------------------------------------------------------------------------------
@contextlib.contextmanager
def sandbox_credentials() -> Iterator[None]:
    """Throwaway credentials for moto, for drgen and the Lambda code alike; the caller's are restored."""
    with environment(SANDBOX_CREDENTIALS, remove=("AWS_PROFILE", "AWS_SESSION_TOKEN")):
        yield


def local(
    scenario: Scenario,
    on_line: Callable[[str], None],
    on_step: Callable[[Step], None],
    *,
    planned: bool = False,
    bundle: RenderedBundle | None = None,
) -> Report:
    """The local drill end to end; ``on_line`` gets progress lines, ``on_step`` each state as it ends.
    ``bundle``: the rendered bundle of ``scenario`` to deploy (default: rendered here)."""
    report = Report(scenario.name, "local moto server", "planned" if planned else "unplanned")
    bundle = bundle or _bundle(scenario)
    report.budget = budget_terms(bundle.rendered_files())
    with sandbox_credentials(), moto_server() as url:
        aws = Aws(Target(endpoint_url=url, max_attempts=2, poll_seconds=0.05))
        environment = _deploy(aws, scenario, bundle, report, on_line)
        report.created = moto_standins.provision(aws, environment, bundle)
        on_line(f"created through the service APIs: {len(report.created)} kinds of what moto's CloudFormation skips")
        clock, regions = SimClock(), dns_verdict.Regions()
        rehearsal = Rehearsal(aws, environment, clock, regions)
        layer = dns_verdict.deployed(aws, environment, bundle)
        world = dns_verdict.SandboxWorld(
            regions,
            layer.endpoints,
            lambda r: aws.client("cloudwatch", r),
            (clock.start - HISTORY_SECONDS, clock.start),
        )
        status = dns_verdict.check_status(aws, layer, world, clock.now)
        with (
            lambda_clock(clock),
            endpoints(rehearsal) as url_for,
            moto_standins.promotion_standin(),
            moto_standins.health_check_standin(status),
        ):
            report.standins = _standins(url_for)
            rehearsal.start()
            _Drill(aws, environment, clock, rehearsal, layer, world, url_for, report, on_line, on_step).run(planned)
    return report


def _bundle(scenario: Scenario) -> RenderedBundle:
    """The scenario rendered here (a variant from a file too: its name is no preset)."""
    from drgen.render import render

    return from_files(render(scenario).files, f"the rendered {scenario.name}")


def _deploy(
    aws: Aws, scenario: Scenario, bundle: RenderedBundle, report: Report, on_line: Callable[[str], None]
) -> Environment:
    on_line(f"deploying {len(bundle.stacks)} stacks to {aws.target.endpoint_url}")
    started = time.monotonic()
    results = deployer.deploy(aws, bundle, bundle.stacks, deployer.DeployOptions(), PlainProgress(io.StringIO()))
    failed = [r for r in results if not r.outcome.ok]
    if failed:
        raise DrgenError(f"the sandbox deploy failed: {failed[0].name}: {failed[0].reason}")
    report.deploy_seconds = time.monotonic() - started
    on_line(f"deployed {len(results)} stacks in {report.deploy_seconds:.1f} s")
    outputs = {(e.layer, e.role): r.outputs for e, r in zip(bundle.stacks, results, strict=True)}
    return from_outputs(scenario, aws.account_id(), outputs, bundle)


def _standins(url_for: Callable[[str], str]) -> list[str]:
    return [
        "clock: simulated; Wait states, retries and schedules advance it (a day passes in seconds)",
        "promotion: FailoverGlobalCluster/SwitchoverGlobalCluster make the target the writer at once "
        "(moto does not implement them)",
        "Route 53 health checks: GetHealthCheckStatus answered by drgen's model of Route 53 (moto evaluates none)",
        "alarms: the probe's and the us-east-1 health-check alarm set to ALARM on the outage, OK on recovery",
        "lag monitor and connectivity tests: published every simulated minute from the regions' state",
        f"health endpoints: {url_for('<region>')} (moto runs no application)",
    ]


@dataclass
class _Drill:
    """The drill's phases on one sandbox (see ``local``)."""

    aws: Aws
    environment: Environment
    clock: SimClock
    rehearsal: Rehearsal
    layer: dns_verdict.Deployed
    world: dns_verdict.SandboxWorld
    url_for: Callable[[str], str]
    report: Report
    on_line: Callable[[str], None]
    on_step: Callable[[Step], None]

    def run(self, planned: bool) -> None:
        env, report = self.environment, self.report
        self.clock.advance(2 * MINUTE)  # the monitors report before anything is asked of them
        before = readiness.check_all(self.aws, env)
        failed = "; ".join(f"{c.name}: {c.detail}" for c in before if not c.ok)
        report.verifications.append(Check("ready before", not failed, failed or "all readiness checks pass"))
        report.verifications.append(readiness.armed(self.aws, env, {contract.HEALTH_URL: self.url_for(env.dr)}))
        if not planned:
            self.rehearsal.outage()
            self.clock.advance(DETECTION_SECONDS)
            self.on_line(f"primary {env.primary} down: endpoint 503, its writer silent, both failure alarms in ALARM")
        failover_run = self._run("failover", failover.request(contract.FAILOVER, planned=planned))
        report.verifications += [
            _verify("writer in DR", lambda: _writer(self.aws, env, Role.SECONDARY)),
            _verify("DR compute scaled", lambda: _scaled(self.aws, env)),
            _verify("notification sent", lambda: _notified(self.aws, env, "failover succeeded")),
        ]
        if env.replicated_buckets():
            report.verifications.append(_verify("DR buckets replicate back", lambda: _returning(self.aws, env)))
        shifted = _dns_step(failover_run)
        if shifted is None:
            return
        report.timelines["failover"] = self._timeline(shifted, FAILOVER_SAMPLES)
        held = all(m.answer == "SECONDARY" for _, m in report.timelines["failover"])
        report.verifications.append(
            Check("DNS answers DR", held, _timeline_text(report.timelines["failover"], "until the failback"))
        )
        self.clock.skip(RECOVERY_GAP_SECONDS)
        if not planned:
            self.rehearsal.recover()
            self.on_line(f"primary {env.primary} back: replication to it resumes")
        self.clock.advance(5 * MINUTE)  # the primary region's replica reports its lag
        failback_run = self._run("failback", failover.request(contract.FAILBACK, planned=True))
        ended = self.clock.now()
        report.verifications += [
            _verify("writer in primary", lambda: _writer(self.aws, env, Role.PRIMARY)),
            _verify("primary answers as writer", lambda: _answers_as_writer(self.url_for(env.primary))),
        ]
        back = _dns_step(failback_run)
        if back is None:
            return
        report.timelines["failback"] = self._timeline(back, FAILBACK_SAMPLES)
        after = [m for _, m in report.timelines["failback"] if m.at >= ended]
        report.verifications.append(
            Check(
                "DNS answers primary",
                bool(after) and all(m.answer == "PRIMARY" for m in after),
                _timeline_text(report.timelines["failback"], f"the failback ended at +{ended - back:.0f} s"),
            )
        )

    def _run(self, phase: str, wanted: dict[str, Any]) -> failover.Outcome:
        env = self.environment
        self.on_line(f"{phase}: running the state machine's steps with the Lambda code")
        overrides = {contract.HEALTH_URL: self.url_for(env.dr), contract.PRIMARY_HEALTH_URL: self.url_for(env.primary)}
        outcome = failover.run(
            self.aws, env, wanted, wait=True, on_step=self.on_step, overrides=overrides, clock=self.clock
        )
        self.report.phases.append((phase, outcome))
        return outcome

    def _timeline(self, origin: float, offsets: Sequence[float]) -> list[tuple[float, Any]]:
        """Route 53's answer ``offsets`` seconds after ``origin``, letting the clock run through each sample's
        evaluation window (and skipping the stretches between, where nothing the model reads changes)."""
        for offset in offsets:
            moment = origin + offset
            if moment > self.clock.now():
                self.clock.skip(max(0.0, moment - WINDOW_SECONDS - self.clock.now()))
                self.clock.advance_to(moment + 1)
        start = origin - HISTORY_SECONDS
        self.world.span = (start, self.clock.now() + MINUTE)
        self.world.forget()
        moments = dns_verdict.timeline(self.aws, self.layer, self.world, start, [origin + o for o in offsets])
        return list(zip(offsets, moments, strict=True))


def _dns_step(outcome: failover.Outcome) -> float | None:
    """When the run's DNS step ran (simulated epoch seconds), or None when it never did."""
    run = outcome.run
    step = next((s for s in run.steps if s.state == "ShiftDns"), None) if run else None
    return None if step is None or run is None else run.origin + step.started


def _timeline_text(samples: list[tuple[float, Any]], note: str) -> str:
    cells = ", ".join(f"+{_duration(offset)} {moment.answer}" for offset, moment in samples)
    return f"after the DNS step: {cells} ({note})"


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def _verify(name: str, check: Callable[[], tuple[bool, str]]) -> Check:
    try:
        ok, detail = check()
    except Exception as exc:  # a verification that cannot run has failed; say why
        return Check(name, ok=False, detail=f"{type(exc).__name__}: {exc}")
    return Check(name, ok, detail)


def _writer(aws: Aws, environment: Environment, role: Role) -> tuple[bool, str]:
    writer = failover.writer(aws, environment)
    return writer == environment.cluster_arn(role), f"writer {writer or 'none'}"


def _answers_as_writer(url: str) -> tuple[bool, str]:
    """The region's health endpoint answers, and says its database is the writer (the health body's contract)."""
    answer = lambdas.shared("probe").get(url)
    writer = lambdas.module("failover", "validate").database_is_writer(answer.body)
    return answer.ok and writer is True, f"{answer.describe()}; writer: {writer}"


def _returning(aws: Aws, environment: Environment) -> tuple[bool, str]:
    """Each DR bucket now replicates to its primary bucket (what the DR region writes comes back)."""
    s3 = aws.client("s3", environment.dr)
    missing = []
    for source, destination in environment.replicated_buckets():
        rules = s3.get_bucket_replication(Bucket=destination)["ReplicationConfiguration"]["Rules"]
        if not any(r["Destination"]["Bucket"].endswith(f":::{source}") and r["Status"] == "Enabled" for r in rules):
            missing.append(destination)
    if missing:
        return False, f"not replicating back: {', '.join(missing)}"
    return True, f"{len(environment.replicated_buckets())} bucket(s) replicate back to the primary's"


def _scaled(aws: Aws, environment: Environment) -> tuple[bool, str]:
    wanted = environment.scenario.compute.active_capacity
    kind = environment.scenario.compute.kind
    if kind is ComputeKind.ECS:
        service = aws.client("ecs", environment.dr).describe_services(
            cluster=environment.app_output(ECS_CLUSTER_NAME),
            services=[environment.app_output(ECS_SERVICE_NAME)],
        )["services"][0]
        return service["desiredCount"] >= wanted, f"ECS desired {service['desiredCount']} (active {wanted})"
    if kind is ComputeKind.ASG:
        group = aws.client("autoscaling", environment.dr).describe_auto_scaling_groups(
            AutoScalingGroupNames=[environment.app_output(AUTO_SCALING_GROUP_NAME)]
        )["AutoScalingGroups"][0]
        return group["DesiredCapacity"] >= wanted, f"ASG desired {group['DesiredCapacity']} (active {wanted})"
    return True, f"{kind.value}: nothing to scale"


def _notified(aws: Aws, environment: Environment, outcome: str) -> tuple[bool, str]:
    inbox = environment.outputs.get((LayerName.FOUNDATION, Role.SECONDARY), {}).get(ALERT_INBOX_QUEUE_ARN)
    if not inbox:
        return False, "no alert inbox queue to read (alerting.cross_region_subscription is off)"
    sqs = aws.client("sqs", environment.dr)
    url = sqs.get_queue_url(QueueName=inbox.rsplit(":", 1)[1])["QueueUrl"]
    wanted = f"drgen {environment.scenario.name}: {outcome}"
    subjects = []
    for _ in range(5):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        subjects += [json.loads(m["Body"]).get("Subject", "") for m in messages]
        if wanted in subjects:
            return True, f"'{wanted}' in {inbox.rsplit(':', 1)[1]}"
    return False, f"'{wanted}' not among {subjects or 'no messages'}"


# -- live ------------------------------------------------------------------------------------------------------
def live(
    aws: Aws,
    scenario: Scenario,
    on_line: Callable[[str], None],
    on_step: Callable[[Step], None],
    bundle: RenderedBundle | None = None,
) -> Report:
    """A planned switchover to the DR region and back on a real deployed environment, each step followed."""
    report = Report(scenario.name, f"account {aws.account_id()}", "planned")
    bundle = bundle or _bundle(scenario)
    report.budget = budget_terms(bundle.rendered_files())
    environment = resolve(aws, scenario, bundle)
    for phase, mode in (("switchover", contract.FAILOVER), ("switchback", contract.FAILBACK)):
        checks = readiness.check_all(aws, environment) if mode == contract.FAILOVER else []
        not_ready = [c for c in checks if not c.ok]
        if not_ready:
            report.verifications.append(Check("ready before", ok=False, detail="; ".join(c.detail for c in not_ready)))
            return report
        refusal = failover.lag_refusal(aws, environment) if mode == contract.FAILBACK else ""
        if refusal:
            report.verifications.append(Check("switchback allowed", ok=False, detail=refusal))
            return report
        on_line(f"{phase}: planned {mode} in Step Functions")
        outcome = failover.run(aws, environment, failover.request(mode, planned=True), wait=True, on_step=on_step)
        report.phases.append((phase, outcome))
        if not outcome.ok:
            return report
        if mode == contract.FAILOVER:
            report.verifications.append(_verify("writer in DR", lambda: _writer(aws, environment, Role.SECONDARY)))
    return report
