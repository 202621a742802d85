"""drgen_common: retry with backoff against injected throttling, configuration, database connections."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, EndpointConnectionError
from drgen_common import config, db, logs, retry
from drgen_common.retry import Backoff

from .conftest import unreachable


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data


def _throttle(times: int | None) -> tuple[list[str], Any]:
    """A before-send hook answering the first ``times`` sends (every send: None) with a 400 Throttling error.

    moto has no throttling switch; the hook answers instead of the server, then later sends reach moto.
    """
    sends: list[str] = []

    def hook(request: Any, **_: Any) -> AWSResponse | None:
        sends.append(request.url)
        if times is not None and len(sends) > times:
            return None
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "throttled"}
        return AWSResponse(request.url, 400, headers, _Body(body))

    return sends, hook


def test_retry_backs_off_on_throttling_then_succeeds(cloud):
    ssm = cloud("ssm")
    ssm.put_parameter(Name="/drgen/x", Value="v", Type="String")
    sends, hook = _throttle(times=2)
    ssm.meta.events.register("before-send.ssm.GetParameter", hook)
    delays: list[float] = []
    ceilings: list[float] = []

    def jitter(low: float, high: float) -> float:
        ceilings.append(high)
        return high / 2

    value = retry.retry(ssm.get_parameter, Name="/drgen/x", sleep=delays.append, jitter=jitter)
    assert value["Parameter"]["Value"] == "v"
    assert len(sends) == 3  # the client itself does not retry: every send is one of ours
    assert ceilings == [0.25, 0.5]  # exponential: base * 2**n
    assert delays == [0.125, 0.25]  # full jitter: a draw between 0 and the ceiling


def test_retry_gives_up_after_the_attempt_budget(cloud):
    ssm = cloud("ssm")
    sends, hook = _throttle(times=None)
    ssm.meta.events.register("before-send.ssm.GetParameter", hook)
    delays: list[float] = []
    with pytest.raises(ClientError) as raised:
        retry.retry(ssm.get_parameter, Name="/drgen/x", backoff=Backoff(attempts=4, base=1, cap=3), sleep=delays.append)
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    assert len(sends) == 4 and len(delays) == 3
    assert all(0 <= delay <= ceiling for delay, ceiling in zip(delays, [1, 2, 3], strict=True))  # capped at 3


def test_retry_does_not_repeat_a_client_error(cloud):
    ssm = cloud("ssm")
    sends, _ = _throttle(times=0)
    ssm.meta.events.register("before-send.ssm.GetParameter", lambda request, **_: sends.append(request.url))
    with pytest.raises(ClientError) as raised:
        retry.retry(ssm.get_parameter, Name="/drgen/missing", sleep=pytest.fail)
    assert raised.value.response["Error"]["Code"] == "ParameterNotFound"
    assert len(sends) == 1


def test_retry_retries_connection_failures():
    attempts: list[int] = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise EndpointConnectionError(endpoint_url="https://rds.eu-west-2.amazonaws.com")
        return "answered"

    assert retry.retry(flaky, sleep=lambda _: None) == "answered"
    assert len(attempts) == 3


def test_config_names_the_missing_variable(monkeypatch):
    monkeypatch.delenv("DR_CLUSTER_ARN", raising=False)
    monkeypatch.setenv("SAMPLES", "two")
    with pytest.raises(config.ConfigError, match="DR_CLUSTER_ARN"):
        config.required("DR_CLUSTER_ARN")
    with pytest.raises(config.ConfigError, match="SAMPLES='two'"):
        config.integer("SAMPLES", 2)
    monkeypatch.setenv("SAMPLES", "3")
    assert config.integer("SAMPLES", 2) == 3
    assert config.number("SAMPLE_INTERVAL_SECONDS_UNSET", 30.0) == 30.0


def test_target_prefers_the_regions_endpoint_over_the_secrets_host(cloud):
    secret = {"username": "u", "password": "s3cr3t-value", "host": "primary.cluster", "port": 6543, "dbname": "appdb"}
    cloud("secretsmanager").create_secret(Name="db", SecretString=json.dumps(secret))
    where = db.target(cloud("secretsmanager"), "db", endpoint="dr.cluster")
    assert (where.host, where.port, where.database, where.user) == ("dr.cluster", 6543, "appdb", "u")
    assert where.password == "s3cr3t-value" and "s3cr3t" not in repr(where)


def test_connection_is_encrypted_and_a_dead_server_is_a_connection_error(database):
    connection = db.connect(database)
    try:
        assert connection.run("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") == [[True]]
    finally:
        connection.close()
    with pytest.raises(Exception) as raised:
        db.connect(unreachable(database), timeout=2)
    assert db.is_connection_error(raised.value)


def test_connection_cache_reconnects_once_when_a_kept_connection_died(database):
    opened: list[Any] = []

    def factory() -> Any:
        opened.append(db.connect(database))
        return opened[-1]

    cache = db.ConnectionCache(factory)
    assert cache.run(lambda c: c.run("SELECT 1")) == [[1]]
    opened[0].close()  # the server side went away between two invocations
    assert cache.run(lambda c: c.run("SELECT 2")) == [[2]]
    assert len(opened) == 2
    cache.discard()


def test_log_lines_are_json_objects_with_the_callers_fields(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(logs.LOGGER.handlers[0], "stream", stream)
    logs.info("promotion started", target="arn:aws:rds:eu-west-2:1:cluster:dr", attempt=2)
    line = json.loads(stream.getvalue())
    assert line["level"] == "INFO" and line["message"] == "promotion started"
    assert line["target"].endswith("cluster:dr") and line["attempt"] == 2
