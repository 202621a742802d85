"""The drill's world in a sandbox: a simulated clock, the regions' endpoints going down and coming back, and what
runs on a schedule in AWS running when the clock passes its time.

moto evaluates no alarm, runs no database, no application and no schedule. The drill stands in, and says so:

- the engaged signal (lambda/failover/engaged.py, the shipped code) runs every simulated minute in the DR region;
- the lag monitor: the replica region publishes ReplicationLagSeconds every minute, the age of the writer's
  heartbeat, which stops growing old only while the writer's region is up (what the real monitor measures);
- the connectivity tests: DatabaseConnectivity 1 or 0 in each region, as that region is up or down;
- the alarms an outage moves: the DR region's probe alarm and the us-east-1 health-check alarm go to ALARM when
  the primary goes down and back to OK when it returns (the state CloudWatch would evaluate);
- the endpoints: ``<url>/<region>/health`` answers 200 with whether that region's database is the writer (the
  health function's contract), or 503 while the region is down.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from drgen.bundle.names import health_check_alarm_name
from drgen.deploy.session import Aws
from drgen.errors import DrgenError
from drgen.lambda_code import contract
from drgen.lambda_functions import ENGAGED_SIGNAL
from drgen.operate import lambdas, local, moto_standins
from drgen.operate.dns_verdict import Regions
from drgen.operate.environment import Environment
from drgen.operate.simclock import SimClock
from drgen.scenario.model import ComputeKind, Role

MINUTE = 60.0
FRESH_HEARTBEAT_SECONDS = 0.5  # the lag a healthy replica reports: the writer beats every second


class Rehearsal:
    """The sandbox's stand-ins on one simulated clock (see the module's docstring)."""

    def __init__(self, aws: Aws, environment: Environment, clock: SimClock, regions: Regions) -> None:
        self.aws = aws
        self.environment = environment
        self.clock = clock
        self.regions = regions
        self._heartbeat_stopped: float | None = None
        self._metrics = lambdas.shared("metrics")

    def start(self) -> None:
        """Schedule the stand-ins for what runs every minute in AWS."""
        self.clock.every(MINUTE, self._engaged_signal)
        self.clock.every(MINUTE, self._lag_monitor, offset=2.0)
        if self.environment.scenario.compute.kind is ComputeKind.CONNECTIVITY:
            self.clock.every(MINUTE, self._connectivity, offset=3.0)

    # -- what happens to the primary -------------------------------------------------------------------------
    def outage(self) -> None:
        """The primary region goes down: its endpoint fails, its writer stops, both failure alarms fire."""
        now = self.clock.now()
        self.regions.set(Role.PRIMARY, up=False, at=now)
        self._heartbeat_stopped = now
        self._alarms("ALARM", "drill: the primary region is down")

    def recover(self) -> None:
        """The primary region is back: its endpoint answers, replication resumes, the alarms return to OK."""
        self.regions.set(Role.PRIMARY, up=True, at=self.clock.now())
        self._heartbeat_stopped = None
        self._alarms("OK", "drill: the primary region is back")

    def _alarms(self, state: str, reason: str) -> None:
        env = self.environment
        moto_standins.alarm_state(
            self.aws, env.dr, env.names.for_region("alarm", contract.PROBE_ALARM, env.dr), state, reason
        )
        moto_standins.alarm_state(
            self.aws, "us-east-1", health_check_alarm_name(env.names, Role.PRIMARY), state, reason
        )

    def writer_region(self) -> str:
        failover = lambdas.shared("failover")
        cluster = failover.describe_global_cluster(
            self.aws.client("rds", self.environment.dr), self.environment.global_cluster_id
        )
        writer = failover.writer_arn(cluster)
        return writer.split(":")[3] if writer else ""

    # -- the schedules ---------------------------------------------------------------------------------------
    def _engaged_signal(self, _at: float) -> None:
        local.call(self.aws, self.environment, ENGAGED_SIGNAL, {})

    def _lag_monitor(self, at: float) -> None:
        env = self.environment
        writer = self.writer_region()
        replica = env.primary if writer == env.dr else env.dr
        if not writer:
            return
        age = FRESH_HEARTBEAT_SECONDS if self._heartbeat_stopped is None else at - self._heartbeat_stopped
        self._publish(replica, contract.REPLICATION_LAG, age, "Seconds")

    def _connectivity(self, at: float) -> None:
        for role in (Role.PRIMARY, Role.SECONDARY):
            up = self.regions.up(role, at)
            self._publish(self.environment.region(role), contract.DATABASE_CONNECTIVITY, 1.0 if up else 0.0)

    def _publish(self, region: str, name: str, value: float, unit: str = "None") -> None:
        metrics = self._metrics
        cloudwatch = self.aws.client("cloudwatch", region)
        metrics.publish(cloudwatch, self.environment.namespace, metrics.Metric(name, value, unit))


class _Endpoints(http.server.BaseHTTPRequestHandler):
    """``/<region>/health``: 200 with the database's role while the region is up, 503 when it is down."""

    answer: ClassVar[Callable[[str], tuple[int, dict[str, Any]]]]

    def do_GET(self) -> None:
        status, payload = type(self).answer(self.path.strip("/").split("/")[0])
        body = json.dumps(payload, separators=(",", ":")).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller hung up (a probe past its timeout): no traceback in the drill's output

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: access lines do not belong in the drill report."""


@contextlib.contextmanager
def endpoints(rehearsal: Rehearsal) -> Iterator[Callable[[str], str]]:
    """The stand-in health endpoints; yields ``url_for(region)``."""
    env = rehearsal.environment
    role_of = {env.primary: Role.PRIMARY, env.dr: Role.SECONDARY}

    def answer(region: str) -> tuple[int, dict[str, Any]]:
        role = role_of.get(region)
        if role is None or not rehearsal.regions.up(role, rehearsal.clock.now()):
            return 503, {contract.HEALTH_STATUS: "unavailable", "region": region}
        writer = rehearsal.writer_region() == region
        return 200, {
            contract.HEALTH_STATUS: contract.HEALTH_OK,
            "region": region,
            contract.HEALTH_DATABASE: {contract.HEALTH_WRITER: writer},
        }

    with serving(answer) as base:
        yield lambda region: f"{base}/{region}/health"


@contextlib.contextmanager
def serving(answer: Callable[[str], tuple[int, dict[str, Any]]], port: int = 0) -> Iterator[str]:
    """An HTTP server on 127.0.0.1:``port`` (0: a free one) answering GET ``/<first segment>/...`` with
    ``answer(first segment)`` as JSON; yields its base URL."""
    handler = type("Endpoints", (_Endpoints,), {"answer": staticmethod(answer)})
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as error:
        raise DrgenError(f"cannot serve on 127.0.0.1:{port}: {error.strerror}; choose another port") from None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
