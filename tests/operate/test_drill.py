"""``drgen drill`` for every preset, planned and unplanned, failback included; and the drill failing when a defect
of the failover's DNS design is put back (the DNS verdict comes from drgen's model of Route 53, not from what the
steps reported)."""

from __future__ import annotations

import io
from typing import Any

import pytest

from drgen.builders import routing
from drgen.operate import drill, lambdas, rehearsal
from drgen.operate.drill_report import Report
from drgen.operate.rehearsal import Rehearsal
from drgen.scenario import PRESETS, load

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # moto's own notes on error shapes


def _drill(name: str, *, planned: bool) -> Report:
    return drill.local(load(name, suffix="drill"), lambda _: None, lambda _: None, planned=planned)


def _verified(report: Report) -> dict[str, bool]:
    return {v.name: v.ok for v in report.verifications}


@pytest.mark.parametrize("planned", [False, True], ids=["unplanned", "planned"])
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_the_drill_passes_with_dns_on_dr_until_the_failback_and_on_the_primary_after(
    name: str, planned: bool, monkeypatch, tmp_path
) -> None:
    monkeypatch.chdir(tmp_path)
    report = _drill(name, planned=planned)
    assert report.ok, [v for v in report.verifications if not v.ok]
    assert [phase for phase, _ in report.phases] == ["failover", "failback"]
    failover_answers = [moment.answer for _, moment in report.timelines["failover"]]
    assert [offset for offset, _ in report.timelines["failover"]] == [0, 60, 120, 300, 1800, 86400]
    assert failover_answers == ["SECONDARY"] * 6
    assert report.timelines["failback"][-1][1].answer == "PRIMARY"
    promote = next(s for s in report.phases[0][1].run.steps if s.state == "Promote").result
    # Unplanned: the primary's writer stopped with its region, so the promotion may lose data; planned: none.
    assert promote["action"] == ("switchover" if planned else "failover")


def _engaged_check_healthy_when_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    original = routing._metric_check

    def metric_check(ctx: Any, logical: str, alarm: str, region: str, name: str, *, insufficient: str) -> Any:
        silent = "Healthy" if logical == "FailoverEngagedHealthCheck" else insufficient
        return original(ctx, logical, alarm, region, name, insufficient=silent)

    monkeypatch.setattr(routing, "_metric_check", metric_check)


def test_one_engaged_datapoint_and_healthy_on_insufficient_data_fail_the_drill(monkeypatch, tmp_path) -> None:
    """Defect 2 put back: no signal republishing FailoverEngaged, InsufficientDataHealthStatus Healthy. The DNS
    step's single datapoint closes the gate for its minute; then the stream is empty and the primary returns."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(Rehearsal, "_engaged_signal", lambda self, at: None)
    _engaged_check_healthy_when_silent(monkeypatch)
    monkeypatch.setattr(lambdas.module("failover", "dns"), "shift", lambda route53, **_: {"ok": False})  # no way two
    report = _drill("trading-ecs", planned=True)
    assert _verified(report)["DNS answers DR"] is False
    answers = dict((offset, moment.answer) for offset, moment in report.timelines["failover"])
    assert answers[60] == "SECONDARY" and answers[300] == "PRIMARY"


def test_a_silent_engaged_signal_keeps_the_last_status(monkeypatch, tmp_path) -> None:
    """With LastKnownStatus, even a signal that stopped after the DNS step holds the traffic in the DR region,
    by the data plane alone (Route 53's control plane down too): from the DNS step's first complete minute."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(Rehearsal, "_engaged_signal", lambda self, at: None)
    monkeypatch.setattr(lambdas.module("failover", "dns"), "shift", lambda route53, **_: {"ok": False})
    report = _drill("trading-ecs", planned=True)
    answers = dict((offset, moment.answer) for offset, moment in report.timelines["failover"])
    assert answers[0] == "PRIMARY"  # the datapoint's minute is not complete yet: only the control plane is instant
    assert {answer for offset, answer in answers.items() if offset >= 60} == {"SECONDARY"}


def test_inverting_the_calculated_gate_fails_the_drill(monkeypatch, tmp_path) -> None:
    """Defect 1 put back: NOT(primary AND not-engaged) is healthy while the primary is down, so Route 53 answers
    the failed primary (database-dr's records are CNAMEs: no alias target health to save it)."""
    monkeypatch.chdir(tmp_path)

    def inverting(route53: Any, *, health_check_id: str, to_dr: bool) -> dict[str, Any]:
        version = route53.get_health_check(HealthCheckId=health_check_id)["HealthCheck"]["HealthCheckVersion"]
        route53.update_health_check(HealthCheckId=health_check_id, HealthCheckVersion=version, Inverted=to_dr)
        return {"ok": True}

    monkeypatch.setattr(lambdas.module("failover", "dns"), "shift", inverting)
    report = _drill("database-dr", planned=False)
    assert not report.ok
    failover = report.phases[0][1]
    assert failover.run is not None and failover.run.status == "FAILED"  # validation saw PRIMARY answered
    validation = failover.run.output["validation"]["checks"]
    assert any(c["name"] == "dns" and "answers PRIMARY" in c["detail"] for c in validation)


def test_a_stand_in_endpoint_whose_caller_hung_up_answers_nothing_and_raises_nothing() -> None:
    """A probe past its timeout closes the connection; writing to it raises BrokenPipeError, which the server
    would print as a traceback into the drill's output."""

    class HungUp(io.RawIOBase):
        attempts = 0

        def write(self, _data: Any) -> int:
            type(self).attempts += 1
            raise BrokenPipeError(32, "Broken pipe")

    handler = object.__new__(type("Endpoints", (rehearsal._Endpoints,), {"answer": staticmethod(lambda _: (200, {}))}))
    handler.path, handler.command, handler.requestline = "/eu-west-2/health", "GET", "GET /eu-west-2/health"
    handler.request_version, handler.client_address, handler.wfile = "HTTP/1.1", ("127.0.0.1", 1), HungUp()
    handler.do_GET()  # before the fix: BrokenPipeError
    assert HungUp.attempts == 1  # the answer was written once and the hang-up met; nothing was tried after it
