"""Run the failover state machine here instead of in Step Functions: the definition's steps, the Lambda code.

Used where Step Functions cannot run drgen's machine: against moto (it cannot execute a state machine created
by CloudFormation nor run Lambda code without Docker) and so in ``drgen drill``. Each Task calls the handler
of the catalogue function its Resource names (the code in lambda/, imported by ``lambdas``), with the
environment the orchestration template gives that function and the AWS endpoint of the run. The functions'
JSON log lines are kept with the run instead of mixing with drgen's output.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.parsers import ResponseParserError

from drgen.bundle.names import substitution
from drgen.deploy.moto_templates import placeholder
from drgen.deploy.session import Aws, error_text
from drgen.errors import DrgenError
from drgen.lambda_code import contract
from drgen.lambda_functions import FAILOVER_STEPS, LEDGER_REPLAY, RETURN_REPLICATION, Function
from drgen.operate import asl, lambdas
from drgen.operate.environment import Environment
from drgen.operate.simclock import SimClock
from drgen.scenario.model import Role

PLACEHOLDER = placeholder("")  # what drgen/deploy/moto_templates.py puts where a skipped resource was
_ENVIRONMENT_LOCK = threading.Lock()  # os.environ is the process's: one local run at a time
LAMBDA_LOGGER = "drgen"  # lambda/drgen_common/logs.py logs through this logger


def functions_by_resource() -> dict[str, Function]:
    """The Task Resource placeholder of each failover function (``${FailoverGuardArn}``) -> the function."""
    return {"${" + substitution(f.key) + "}": f for f in (*FAILOVER_STEPS, LEDGER_REPLAY, RETURN_REPLICATION)}


@contextlib.contextmanager
def environment(values: Mapping[str, str], remove: tuple[str, ...] = ()) -> Iterator[None]:
    """``os.environ`` with ``values`` set and ``remove`` unset; exactly as it was afterwards."""
    saved = {key: os.environ.get(key) for key in (*values, *remove)}
    for key in remove:
        os.environ.pop(key, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def lambda_environment(values: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` as the function sees it in AWS, restored afterwards."""
    with _ENVIRONMENT_LOCK, environment(values):
        yield


@contextlib.contextmanager
def captured_logs(sink: io.StringIO) -> Iterator[None]:
    """The functions' log lines into ``sink`` while the run lasts."""
    lambdas.shared("logs")  # the logger and its handler exist once the module is imported
    handlers = [h for h in logging.getLogger(LAMBDA_LOGGER).handlers if isinstance(h, logging.StreamHandler)]
    previous = [h.stream for h in handlers]
    for handler in handlers:  # not setStream, which flushes the stream it replaces: it may be closed by now
        handler.stream = sink  # (the handler took sys.stdout at import, perhaps a CliRunner's since gone)
    try:
        yield
    finally:
        for handler, stream in zip(handlers, previous, strict=True):
            handler.stream = stream


def function_environment(aws: Aws, environment: Environment, function: Function) -> dict[str, str]:
    """The deployed function's environment variables, as CloudFormation resolved them in the DR region.

    In a sandbox the values that came from resources moto could not create are ``sandbox-...`` placeholders;
    those drgen knows by name (the global cluster, the DR cluster) or can look up (the clusters' endpoints, which
    the sandbox created through the API) are put back, any other is an error.
    """
    name = environment.function_name(function.key)
    lam = aws.client("lambda", environment.dr)
    values = dict(lam.get_function_configuration(FunctionName=name).get("Environment", {}).get("Variables", {}))
    known = environment.known_values()
    for key, value in values.items():
        if value.startswith(PLACEHOLDER):
            if key in CLUSTER_ENDPOINTS:
                known[key] = _cluster_endpoint(aws, environment, CLUSTER_ENDPOINTS[key])
            if key not in known:
                raise DrgenError(f"{name}: {key} is {value} (not created in the sandbox) and drgen cannot fill it in")
            values[key] = known[key]
    return values


# Settings holding a cluster's writer endpoint (a database-only scenario's failover record targets).
CLUSTER_ENDPOINTS = {contract.DR_ENDPOINT: Role.SECONDARY, contract.PRIMARY_ENDPOINT: Role.PRIMARY}


def _cluster_endpoint(aws: Aws, environment: Environment, role: Role) -> str:
    clusters = aws.client("rds", environment.region(role)).describe_db_clusters(
        DBClusterIdentifier=environment.cluster_id(role)
    )["DBClusters"]
    return str(clusters[0].get("Endpoint", "")) if clusters else ""


def runtime_environment(aws: Aws, environment: Environment, function: Function) -> dict[str, str]:
    """The function's configuration plus what the Lambda runtime sets (its region) and where AWS is."""
    values = function_environment(aws, environment, function)
    values |= {"AWS_REGION": environment.dr, "AWS_DEFAULT_REGION": environment.dr}
    if aws.target.endpoint_url:
        values["AWS_ENDPOINT_URL"] = aws.target.endpoint_url
    if aws.target.profile:
        values["AWS_PROFILE"] = aws.target.profile
    return values


def call(
    aws: Aws,
    environment: Environment,
    function: Function,
    payload: dict[str, Any],
    overrides: Mapping[str, str] | None = None,
) -> Any:
    """Run a DR-region function's handler once, in its deployed environment (plus ``overrides``), here. Its log
    lines stay out of drgen's output (which may be JSON); the result says what it did."""
    handler: Callable[[dict[str, Any], Any], Any] = lambdas.handler(function)  # type: ignore[assignment]
    settings = runtime_environment(aws, environment, function) | dict(overrides or {})
    with captured_logs(io.StringIO()), lambda_environment(settings):
        return handler(payload, None)


def invoker(aws: Aws, environment: Environment, overrides: Mapping[str, str]) -> asl.Invoke:
    """Call the handler a Task Resource names in its deployed environment (plus ``overrides``); its exception
    becomes the Task's error, as in Lambda."""
    functions = functions_by_resource()
    settings: dict[str, dict[str, str]] = {}

    def invoke(resource: str, payload: dict[str, Any]) -> Any:
        function = functions.get(resource)
        if function is None:
            raise asl.TaskFailed("States.Runtime", f"no failover function behind {resource}")
        handler: Callable[[dict[str, Any], Any], Any] = lambdas.handler(function)  # type: ignore[assignment]
        if function.key not in settings:
            settings[function.key] = runtime_environment(aws, environment, function) | dict(overrides)
        with lambda_environment(settings[function.key]):
            try:
                return handler(payload, None)
            except ResponseParserError as error:  # a sandbox's error page: one line, not the page
                raise asl.TaskFailed(type(error).__name__, error_text(error)) from error
            except Exception as error:  # the Lambda service reports any exception as the Task's error
                raise asl.TaskFailed(type(error).__name__, str(error)) from error

    return invoke


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN Step Functions gives the execution ``name`` of the machine."""
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


def run(
    aws: Aws,
    environment: Environment,
    name: str,
    request: Mapping[str, Any],
    *,
    overrides: Mapping[str, str] | None = None,
    on_step: Callable[[asl.Step], None] = lambda _: None,
    clock: SimClock | None = None,
) -> tuple[asl.Run, str]:
    """One execution named ``name`` of the failover machine with ``request`` as its input; also the logs.

    ``overrides`` replace function settings (the drill points HEALTH_URL at its stand-in endpoint). Without a
    ``clock`` the Wait states take no time; with one (the drill's simulated clock) they advance it."""
    started = clock.now() if clock else time.time()
    context = {
        "Execution": {
            "Id": execution_arn(environment.state_machine_arn, name),
            "Name": name,
            "StartTime": datetime.fromtimestamp(started, UTC).isoformat(),
            "Input": dict(request),
        }
    }
    logs = io.StringIO()
    with captured_logs(logs):
        result = asl.run(
            environment.definition,
            dict(request),
            context,
            invoker(aws, environment, overrides or {}),
            time_scale=1.0 if clock else 0.0,
            on_step=on_step,
            clock=clock.now if clock else time.monotonic,
            sleep=clock.advance if clock else time.sleep,
        )
    return result, logs.getvalue()
