"""probe/app.py: the DR region's probe of the primary, against a local endpoint; the metric read back from moto."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from probe import app

from .conftest import metric_values
from .servers import free_port

SEARCH = '"quotes_valid":true'
TIMEOUT = 0.5


class _Primary(BaseHTTPRequestHandler):
    """/healthy answers with the search string, /wrong without it, /unhealthy 503, /hang never in time."""

    def do_GET(self) -> None:
        if self.path == "/hang":
            time.sleep(TIMEOUT * 4)
            return  # the probe gave up long ago: writing to it would only log a BrokenPipeError
        status, body = {"/healthy": (200, '{"quotes_valid":true}'), "/wrong": (200, '{"quotes_valid":false}')}.get(
            self.path, (503, "down")
        )
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def primary() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Primary)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def probe_env(cloud, monkeypatch):
    monkeypatch.setenv("SEARCH_STRING", SEARCH)
    monkeypatch.setenv("PROBE_TIMEOUT_SECONDS", str(TIMEOUT))
    return cloud


@pytest.mark.parametrize(
    ("path", "healthy", "status", "reason"),
    [
        ("/healthy", True, 200, ""),
        ("/unhealthy", False, 503, "HTTP 503"),
        ("/wrong", False, 200, "not in the first"),
        ("/hang", False, None, "timed out"),
    ],
)
def test_probe_publishes_what_the_route53_check_sees(probe_env, monkeypatch, primary, path, healthy, status, reason):
    monkeypatch.setenv("PROBE_TARGET", primary + path)
    started = time.monotonic()
    result = app.handler({}, None)
    assert time.monotonic() - started < TIMEOUT * 3  # a hanging primary costs the timeout, not the hang
    assert (result["healthy"], result["status"]) == (healthy, status)
    assert reason in result["reason"]
    assert metric_values(probe_env, app.PRIMARY_ENDPOINT_HEALTHY) == [1.0 if healthy else 0.0]


def test_probe_without_a_search_string_accepts_any_success(probe_env, monkeypatch, primary):
    monkeypatch.setenv("SEARCH_STRING", "")
    monkeypatch.setenv("PROBE_TARGET", primary + "/wrong")
    assert app.handler({}, None)["healthy"] is True


def test_probe_of_a_database_port_connects_or_reports_why_not(probe_env, monkeypatch, primary):
    port = primary.rsplit(":", 1)[1]
    monkeypatch.setenv("PROBE_TARGET", f"tcp://127.0.0.1:{port}")
    assert app.handler({}, None)["healthy"] is True
    monkeypatch.setenv("PROBE_TARGET", f"tcp://127.0.0.1:{free_port()}")
    refused = app.handler({}, None)
    assert refused["healthy"] is False and "ConnectionRefusedError" in refused["reason"]
    assert metric_values(probe_env, app.PRIMARY_ENDPOINT_HEALTHY, stat="Minimum")[0] == 0.0  # newest minute first


def test_each_run_samples_every_10_seconds_within_its_time():
    """EventBridge runs the probe once a minute; the alarm reads 10-second periods: six samples per run, fewer
    when the invocation's time would not cover them."""
    now = [0.0]
    verdicts = iter([True, True, False, False, False, True])

    def probe():
        return {"healthy": next(verdicts), "at": now[0]}

    def sleep(seconds):
        now[0] += seconds

    result = app.sampled(probe, 6, 10.0, budget=math.inf, sleep=sleep, clock=lambda: now[0])
    assert result["samples"] == [True, True, False, False, False, True] and result["at"] == 50.0
    verdicts = iter([True] * 6)
    now[0] = 0.0
    assert len(app.sampled(probe, 6, 10.0, budget=25.0, sleep=sleep, clock=lambda: now[0])["samples"]) == 3


def test_each_sample_is_a_high_resolution_datapoint(primary, monkeypatch):
    """A 10-second alarm period needs datapoints published with StorageResolution 1."""
    sent = []

    class CloudWatch:
        def put_metric_data(self, **request):
            sent.append(request)

    app.run(CloudWatch(), namespace="drgen/test", target=primary + "/healthy", search_string=SEARCH, timeout=TIMEOUT)
    (datum,) = sent[0]["MetricData"]
    assert datum["MetricName"] == app.PRIMARY_ENDPOINT_HEALTHY and datum["StorageResolution"] == 1
