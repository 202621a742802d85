"""Sandbox deploys: each preset to moto's server (started in this process), through ``drgen deploy
--endpoint-url``, with every AWS API call counted by botocore's ``before-call`` / ``after-call`` events.

The seam is ``drgen.deploy.session.Aws``: the command builds one, and every client comes from its ``client``
method. The benchmark swaps in a subclass whose clients carry the two hooks (registered once per event
emitter), so the deploy code runs unchanged.
"""

from __future__ import annotations

import contextlib
import io
import json
import statistics
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.stats import Figure, Target, below

DEPLOY_SECONDS = 10.0
POLL_SECONDS = 2.0
MAX_POLLS_PER_WINDOW = 1
SUFFIX = "bench"
_MUTATIONS = ("CreateStack", "UpdateStack", "ExecuteChangeSet", "DeleteStack", "ContinueUpdateRollback")


@dataclass
class Call:
    """One API call as the hooks saw it (one call, however many HTTP attempts botocore's retries made)."""

    operation: str  # service.Operation
    region: str
    stack: str  # StackName as sent (a name or a stack id), for CloudFormation calls that name one
    started: float
    ended: float = 0.0
    status: str = ""  # StackStatus of a DescribeStacks answer
    stack_id: str = ""  # StackId in a CreateStack / UpdateStack answer


@dataclass
class Recorder:
    """Collects the calls of one deploy, from every worker thread."""

    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def before(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        body = params.get("body")
        stack = body.get("StackName", "") if isinstance(body, dict) else ""
        operation = f"{model.service_model.service_name}.{model.name}"
        context["bench_call"] = call = Call(operation, context.get("client_region", ""), stack, time.monotonic())
        with self.lock:
            self.calls.append(call)

    @staticmethod
    def after(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        call: Call | None = context.get("bench_call")
        if call is None:
            return
        call.ended = time.monotonic()
        stacks = parsed.get("Stacks") or [{}]
        call.status = stacks[0].get("StackStatus", "") if isinstance(stacks, list) else ""
        call.stack_id = parsed.get("StackId", "")


def counting_aws(recorder: Recorder) -> type:
    """A drop-in ``Aws`` whose clients report every call to ``recorder``."""
    from drgen.deploy.session import Aws

    class CountingAws(Aws):
        def client(self, service: str, region: str) -> Any:
            client = super().client(service, region)
            client.meta.events.register("before-call", recorder.before, unique_id="drgen-bench-before")
            client.meta.events.register("after-call", recorder.after, unique_id="drgen-bench-after")
            return client

    return CountingAws


@contextlib.contextmanager
def _swapped_aws(recorder: Recorder) -> Iterator[None]:
    import drgen.deploy.session as session

    original = session.Aws
    session.Aws = counting_aws(recorder)  # type: ignore[misc]
    try:
        yield
    finally:
        session.Aws = original  # type: ignore[misc]


@dataclass(frozen=True)
class Deploy:
    seconds: float
    calls: Counter[str]
    stacks: int
    max_polls_per_window: int
    polls: int


def deploy_once(url: str, preset: str) -> Deploy:
    """Reset moto, then ``drgen deploy -s PRESET --endpoint-url URL --yes`` in this process, timed and counted."""
    from drgen.main import cli  # the assembled program (drgen/cli/ is its frame)

    _post(f"{url}/moto-api/reset")
    recorder = Recorder()
    args = ["deploy", "-s", preset, "--suffix", SUFFIX, "--endpoint-url", url, "--yes", "--require-approval",
            "never", "--poll-seconds", str(POLL_SECONDS), "--output", "json"]  # fmt: skip
    stdout, stderr = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    with _swapped_aws(recorder), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            cli.main(args, prog_name="drgen", standalone_mode=False)
        except SystemExit as exc:
            if exc.code:
                said = (stdout.getvalue() + stderr.getvalue())[-2000:]
                raise RuntimeError(f"drgen deploy -s {preset} exited {exc.code}: {said}") from None
    seconds = time.perf_counter() - started
    results = json.loads(stdout.getvalue())
    failed = [r for r in results if r["outcome"] != "created"]
    if failed:
        raise RuntimeError(f"drgen deploy -s {preset}: not created: {failed}")
    windows = poll_windows(recorder.calls)
    return Deploy(
        seconds=seconds,
        calls=Counter(c.operation for c in recorder.calls),
        stacks=len(results),
        max_polls_per_window=max(windows.values(), default=0),
        polls=sum(1 for c in recorder.calls if c.operation == "cloudformation.DescribeStacks"),
    )


def poll_windows(calls: list[Call]) -> dict[tuple[str, str], int]:
    """Per running stack (region, name): the most DescribeStacks calls on it inside any POLL_SECONDS window.

    A stack runs from the end of the call that starts an operation on it (create, update, execute, delete)
    until the first DescribeStacks that answers a settled status; the lookups before that (preflight, settle)
    are not polls of a running stack.
    """
    names: dict[tuple[str, str], str] = {}  # (region, stack id or name) -> stack name
    running: dict[tuple[str, str], float] = {}
    polls: dict[tuple[str, str], list[float]] = {}
    for call in sorted(calls, key=lambda c: c.started):
        if not call.stack:
            continue
        key = (call.region, names.get((call.region, call.stack), call.stack))
        if call.stack_id:
            names[(call.region, call.stack_id)] = key[1]
        if call.operation.split(".")[1] in _MUTATIONS:
            running[key] = call.ended
        elif call.operation == "cloudformation.DescribeStacks" and key in running:
            polls.setdefault(key, []).append(call.started)
            if not call.status.endswith("_IN_PROGRESS"):
                del running[key]
    return {key: _densest(times) for key, times in polls.items()}


def _densest(times: list[float]) -> int:
    """The most of ``times`` that fall inside one half-open window of POLL_SECONDS."""
    return max(sum(1 for t in times if start <= t < start + POLL_SECONDS) for start in times)


def _post(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=30).close()


@contextlib.contextmanager
def moto_server(scratch: Path) -> Iterator[str]:
    """drgen's sandbox server (the one `drgen sandbox` serves) on a free port, test credentials, and ``scratch``
    as the working directory (the deploy record goes to ``.drgen/`` there)."""
    from drgen.operate.drill import SANDBOX_CREDENTIALS
    from drgen.operate.local import environment
    from drgen.operate.moto_server import moto_server as sandbox

    scratch.mkdir(parents=True, exist_ok=True)
    unset = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "DRGEN_POLL_SECONDS")
    with environment(SANDBOX_CREDENTIALS, remove=unset), contextlib.chdir(scratch), sandbox() as url:
        yield url


def deploy_figures(
    presets: list[str], runs: int, scratch: Path
) -> tuple[list[Figure], list[Target], dict[str, dict[str, float]]]:
    """Each preset ``runs`` times (after one untimed warm-up deploy that loads boto3, botocore's models and
    moto's backends); wall time, API calls, and the densest polling of any running stack."""
    figures: list[Figure] = []
    targets: list[Target] = []
    calls_by_preset: dict[str, dict[str, float]] = {}
    with moto_server(scratch / "deploy") as url:
        deploy_once(url, presets[0])
        for preset in presets:
            results = [deploy_once(url, preset) for _ in range(runs)]
            wall = Figure(f"deploy -s {preset} to moto ({results[0].stacks} stacks), wall", "s")
            wall.runs = [r.seconds for r in results]
            calls = Figure(f"deploy -s {preset}, AWS API calls", "calls")
            calls.runs = [float(sum(r.calls.values())) for r in results]
            figures += [wall, calls]
            operations = sorted({op for r in results for op in r.calls})
            calls_by_preset[preset] = {op: statistics.median([r.calls[op] for r in results]) for op in operations}
            densest = max(r.max_polls_per_window for r in results)
            polls = statistics.median([r.polls for r in results])
            targets += [
                below(f"deploy {preset} (median)", wall.median, DEPLOY_SECONDS, "s"),
                below(
                    f"deploy polls {preset} (max per running stack per {POLL_SECONDS:.0f} s)",
                    densest,
                    MAX_POLLS_PER_WINDOW,
                    "polls",
                    note=f"{polls:.0f} DescribeStacks per deploy (median)",
                    inclusive=True,
                ),
            ]
    return figures, targets, calls_by_preset
