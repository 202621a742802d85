"""``drgen drill``: the whole failover rehearsal, locally against a moto server started here, or ``--live``.

Local: start moto's server in this process, deploy the scenario with the deploy code, create through the
service APIs what moto cannot create from the templates (``sandbox.provision``), simulate the primary's failure
(its health endpoint answers 503, the us-east-1 health-check alarm goes to ALARM), run the failover machine's
definition with the Lambda code (``local``), then verify: the DR cluster writes, DNS answers with the DR
endpoint, the DR compute is scaled, the notification reached the alert inbox. Each step's time stands next to
the budget's term for that state (``drgen budget``).

Stand-ins, and why: the promotion (moto has no FailoverGlobalCluster; ``sandbox.promotion_standin``) and the
applications' health endpoints (moto runs no containers; a local HTTP server answers for each region). moto
evaluates no health check and no alarm, so "DNS answers" is computed from Route 53's records and the state of
the check gating the PRIMARY record, as Route 53 would answer.

Live (``--live``): against a real, deployed account a planned switchover to the DR region and back, each
followed step by step in Step Functions, with the readiness check before each.
"""

from __future__ import annotations

import contextlib
import http.server
import io
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from drgen.builders import compute
from drgen.builders.alerting import health_check_alarm_name
from drgen.deploy import deployer
from drgen.deploy.bundle import DeployBundle, from_scenario
from drgen.deploy.progress import PlainProgress
from drgen.deploy.session import Aws, Target
from drgen.errors import DrgenError
from drgen.operate import failover, readiness, sandbox
from drgen.operate.asl import Step
from drgen.operate.environment import ALERT_INBOX, Environment, from_outputs, resolve
from drgen.operate.local import environment
from drgen.scenario.model import ComputeKind, Role, Scenario

DRILL_SUFFIX = "drill"
SANDBOX_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
_TERM_SOURCE = re.compile(r"DefinitionString States\.(\w+)")


@dataclass(frozen=True)
class Verification:
    name: str
    ok: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.name, "ok": self.ok, "detail": self.detail}


@dataclass
class Report:
    scenario: str
    where: str
    created: list[str] = field(default_factory=list)
    standins: list[str] = field(default_factory=list)
    phases: list[tuple[str, failover.Outcome]] = field(default_factory=list)
    verifications: list[Verification] = field(default_factory=list)
    budget: dict[str, tuple[float | None, str]] = field(default_factory=dict)  # state -> (seconds, term name)
    deploy_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(o.ok for _, o in self.phases) and all(v.ok for v in self.verifications)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "where": self.where,
            "passed": self.ok,
            "deploy_seconds": round(self.deploy_seconds, 2),
            "created_through_apis": self.created,
            "stand_ins": self.standins,
            "runs": [
                {
                    "phase": phase,
                    **outcome.to_dict(),
                    "budget": {s.state: self.budget.get(s.state, (None, ""))[0] for s in _steps(outcome)},
                }
                for phase, outcome in self.phases
            ],
            "verified": [v.to_dict() for v in self.verifications],
        }


def _steps(outcome: failover.Outcome) -> list[Step]:
    return outcome.run.steps if outcome.run else []


# -- the budget column ----------------------------------------------------------------------------------------
def budget_terms(files: dict[str, bytes]) -> dict[str, tuple[float | None, str]]:
    """The budget's RTO term for each state of the failover machine, matched by the property it reads."""
    try:
        from drgen.budget import budget_for_bundle

        terms = budget_for_bundle(files)["rto"]["terms"]
    except (ImportError, DrgenError, KeyError, ValueError, StopIteration):
        return {}  # the column stays empty; the drill itself does not depend on the budget
    found: dict[str, tuple[float | None, str]] = {}
    for term in terms:
        match = _TERM_SOURCE.search(str(term.get("source", {}).get("property", "")))
        if match:
            found[match[1]] = (term.get("seconds"), str(term.get("name", "")))
    return found


# -- local: moto, stand-ins --------------------------------------------------------------------------------------
@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto's server in this process on a free port (the promotion stand-in patches it in place)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@contextlib.contextmanager
def sandbox_credentials() -> Iterator[None]:
    """Throwaway credentials for moto, for drgen and the Lambda code alike; the caller's are restored."""
    with environment(SANDBOX_CREDENTIALS, remove=("AWS_PROFILE", "AWS_SESSION_TOKEN")):
        yield


class _Endpoints(http.server.BaseHTTPRequestHandler):
    """``/<region>/health``: 200 with a body while the region is up, 503 once it is down."""

    down: ClassVar[set[str]] = set()

    def do_GET(self) -> None:
        region = self.path.strip("/").split("/")[0]
        status, body = (503, b'{"status":"unavailable"}') if region in self.down else (200, b'{"status":"ok"}')
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: access lines do not belong in the drill report."""


@contextlib.contextmanager
def health_endpoints() -> Iterator[tuple[str, set[str]]]:
    """A local stand-in for both regions' health endpoints; the set holds the regions that are down."""
    handler = type("Endpoints", (_Endpoints,), {"down": set()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.down
    finally:
        server.shutdown()
        server.server_close()


def local(scenario: Scenario, on_line: Callable[[str], None], on_step: Callable[[Step], None]) -> Report:
    """The local drill end to end; ``on_line`` gets progress lines, ``on_step`` each state as it ends."""
    report = Report(scenario.name, "local moto server")
    report.budget = budget_terms(_rendered_files(scenario))
    with sandbox_credentials(), moto_server() as url, health_endpoints() as (endpoints, down):
        aws = Aws(Target(endpoint_url=url, max_attempts=2, poll_seconds=0.05))
        environment = _deploy(aws, scenario, report, on_line)
        report.created = sandbox.provision(aws, environment, _bundle(scenario))
        on_line(f"created through the service APIs: {len(report.created)} kinds of what moto's CloudFormation skips")
        report.standins = [
            "promotion: FailoverGlobalCluster/SwitchoverGlobalCluster make the target the writer at once "
            "(moto does not implement them)",
            f"health endpoints: {endpoints}/<region>/health (moto runs no application)",
        ]
        before = readiness.check_all(aws, environment)
        report.verifications.append(
            Verification(
                "ready before",
                all(c.ok for c in before),
                "; ".join(f"{c.name}: {c.detail}" for c in before if not c.ok) or "all readiness checks pass",
            )
        )
        _fail_primary(aws, environment, down, on_line)
        wanted = failover.request(failover.FAILOVER, planned=False)
        on_line("failover: running the state machine's steps with the Lambda code")
        with sandbox.promotion_standin():
            outcome = failover.run(
                aws,
                environment,
                wanted,
                wait=True,
                on_step=on_step,
                overrides={"HEALTH_URL": f"{endpoints}/{environment.dr}/health"},
            )
        report.phases.append(("failover", outcome))
        report.verifications.extend(verify(aws, environment))
    return report


def _bundle(scenario: Scenario) -> DeployBundle:
    return from_scenario(scenario.name, scenario.suffix or DRILL_SUFFIX)


def _deploy(aws: Aws, scenario: Scenario, report: Report, on_line: Callable[[str], None]) -> Environment:
    bundle = _bundle(scenario)
    on_line(f"deploying {len(bundle.stacks)} stacks to {aws.target.endpoint_url}")
    started = time.monotonic()
    results = deployer.deploy(aws, bundle, bundle.stacks, deployer.DeployOptions(), PlainProgress(io.StringIO()))
    failed = [r for r in results if not r.outcome.ok]
    if failed:
        raise DrgenError(f"the sandbox deploy failed: {failed[0].name}: {failed[0].reason}")
    report.deploy_seconds = time.monotonic() - started
    on_line(f"deployed {len(results)} stacks in {report.deploy_seconds:.1f} s")
    outputs = {(e.layer, e.role): r.outputs for e, r in zip(bundle.stacks, results, strict=True)}
    return from_outputs(scenario, aws.account_id(), outputs)


def _fail_primary(aws: Aws, environment: Environment, down: set[str], on_line: Callable[[str], None]) -> None:
    """The primary region goes down: its endpoint answers 503 and the health-check alarm fires."""
    down.add(environment.primary)
    alarm = health_check_alarm_name(environment.names, Role.PRIMARY)
    sandbox.alarm_state(aws, "us-east-1", alarm, "ALARM", "drill: the primary region is down")
    on_line(f"primary {environment.primary} down: endpoint 503, {alarm} in ALARM")


# -- verification ----------------------------------------------------------------------------------------------
def verify(aws: Aws, environment: Environment) -> list[Verification]:
    """After a failover: writer, DNS answer, DR capacity, notification."""
    return [
        _verify("writer in DR", lambda: _writer(aws, environment)),
        _verify("DNS answers DR", lambda: _dns(aws, environment)),
        _verify("DR compute scaled", lambda: _scaled(aws, environment)),
        _verify("notification sent", lambda: _notified(aws, environment)),
    ]


def _verify(name: str, check: Callable[[], tuple[bool, str]]) -> Verification:
    try:
        ok, detail = check()
    except Exception as exc:  # a verification that cannot run has failed; say why
        return Verification(name, False, f"{type(exc).__name__}: {exc}")
    return Verification(name, ok, detail)


def _writer(aws: Aws, environment: Environment) -> tuple[bool, str]:
    writer = failover.writer(aws, environment)
    return writer == environment.cluster_arn(Role.SECONDARY), f"writer {writer or 'none'}"


def _dns(aws: Aws, environment: Environment) -> tuple[bool, str]:
    """The SECONDARY record answers, and it names the DR region's endpoint (when the app stack publishes one)."""
    record, target, why = readiness.dns_answer(aws, environment)
    expected = environment.endpoint(Role.SECONDARY).rstrip(".")
    ok = record == "SECONDARY" and target == (expected or target)
    return ok, f"{environment.record_name} -> {target} ({record} record; {why})"


def _scaled(aws: Aws, environment: Environment) -> tuple[bool, str]:
    wanted = environment.scenario.compute.active_capacity
    kind = environment.scenario.compute.kind
    if kind is ComputeKind.ECS:
        service = aws.client("ecs", environment.dr).describe_services(
            cluster=environment.app_output(compute.ECS_CLUSTER_NAME),
            services=[environment.app_output(compute.ECS_SERVICE_NAME)],
        )["services"][0]
        return service["desiredCount"] >= wanted, f"ECS desired {service['desiredCount']} (active {wanted})"
    if kind is ComputeKind.ASG:
        group = aws.client("autoscaling", environment.dr).describe_auto_scaling_groups(
            AutoScalingGroupNames=[environment.app_output(compute.AUTO_SCALING_GROUP_NAME)]
        )["AutoScalingGroups"][0]
        return group["DesiredCapacity"] >= wanted, f"ASG desired {group['DesiredCapacity']} (active {wanted})"
    return True, f"{kind.value}: nothing to scale"


def _notified(aws: Aws, environment: Environment) -> tuple[bool, str]:
    inbox = environment.outputs.get(("foundation", Role.SECONDARY), {}).get(ALERT_INBOX)
    if not inbox:
        return False, "no alert inbox queue to read (alerting.cross_region_subscription is off)"
    sqs = aws.client("sqs", environment.dr)
    url = sqs.get_queue_url(QueueName=inbox.rsplit(":", 1)[1])["QueueUrl"]
    wanted = f"drgen {environment.scenario.name}: failover succeeded"
    subjects = []
    for _ in range(5):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        subjects += [json.loads(m["Body"]).get("Subject", "") for m in messages]
        if wanted in subjects:
            return True, f"'{wanted}' in {inbox.rsplit(':', 1)[1]}"
    return False, f"'{wanted}' not among {subjects or 'no messages'}"


# -- live ------------------------------------------------------------------------------------------------------
def live(aws: Aws, scenario: Scenario, on_line: Callable[[str], None], on_step: Callable[[Step], None]) -> Report:
    """A planned switchover to the DR region and back on a real deployed environment, each step followed."""
    report = Report(scenario.name, f"account {aws.account_id()}")
    report.budget = budget_terms(_rendered_files(scenario))
    environment = resolve(aws, scenario, _bundle(scenario))
    for phase, mode in (("switchover", failover.FAILOVER), ("switchback", failover.FAILBACK)):
        checks = readiness.check_all(aws, environment) if mode == failover.FAILOVER else []
        not_ready = [c for c in checks if not c.ok]
        if not_ready:
            report.verifications.append(Verification("ready before", False, "; ".join(c.detail for c in not_ready)))
            return report
        refusal = failover.lag_refusal(aws, environment) if mode == failover.FAILBACK else ""
        if refusal:
            report.verifications.append(Verification("switchback allowed", False, refusal))
            return report
        on_line(f"{phase}: planned {mode} in Step Functions")
        outcome = failover.run(aws, environment, failover.request(mode, planned=True), wait=True, on_step=on_step)
        report.phases.append((phase, outcome))
        if not outcome.ok:
            return report
        if mode == failover.FAILOVER:
            report.verifications.append(_verify("writer in DR", lambda: _writer(aws, environment)))
    return report


def _rendered_files(scenario: Scenario) -> dict[str, bytes]:
    from drgen.render import render

    return render(scenario).files
