"""drgen against the CDK anchor: the same two-region trading platform as an AWS CDK v2 app
(``../shared/bench/cdk-anchor``, a sibling of the repository; ``$DRGEN_CDK_ANCHOR`` overrides it).

The anchor is copied to the scratch directory and ``npm ci`` runs there once, untimed. Then, in the same run and
alternating (the order reversed every other run, so a drift in the machine's load hits every command alike), each
of these runs ``runs`` times as a fresh process:

- ``node app.js``: one CDK synth with CDK's CloudFormation validation on (its default), as the anchor's run.sh;
- ``drgen render -s trading-serverless``: as a user runs it (lint and review on, scan off), into a fresh --out,
  with a fresh, empty lint cache ($DRGEN_CACHE_DIR);
- ``drgen render -s trading-serverless --no-lint``: the render alone (no lint, no review);
- ``drgen render --no-lint`` then ``drgen lint``: render + lint without the review (two processes), for reference;
- the warm re-render: the first command again, into an --out that already holds the same bundle, with the cache
  that rendering it left behind.

Targets (issue 17): render + lint at most 0.5x the CDK synth, the render alone at most 0.1x (both as the ratio of
the medians), the warm re-render at most 0.5 s (median). Without node or npm the section is skipped (one line).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bench.cold import DRGEN, run
from bench.stats import Figure, Target, below

REPO = Path(__file__).resolve().parent.parent
ANCHOR = Path(os.environ.get("DRGEN_CDK_ANCHOR") or REPO.parent / "shared" / "bench" / "cdk-anchor")
PRESET = "trading-serverless"
SUFFIX = "dev"
LINT_RATIO = 0.5
RENDER_RATIO = 0.1
WARM_SECONDS = 0.5
NPM_TIMEOUT_SECONDS = 600


def cdk_figures(runs: int, scratch: Path) -> tuple[list[Figure], list[Target], list[str]]:
    """The figures, the targets and notes (why the section was skipped, when it was)."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        return [], [], [f"cdk: skipped, {' and '.join(missing)} not found on PATH"]
    if not (ANCHOR / "app.js").is_file():
        return [], [], [f"cdk: skipped, no CDK anchor at {ANCHOR} (set DRGEN_CDK_ANCHOR)"]
    app = scratch / "cdk-anchor"
    shutil.copytree(ANCHOR, app, ignore=shutil.ignore_patterns("node_modules", "cdk.out"), dirs_exist_ok=True)
    failure = _npm_ci(app)
    if failure:
        return [], [], [f"cdk: skipped, `npm ci` failed: {failure}"]
    return _measure(runs, scratch, app)


def _npm_ci(app: Path) -> str:
    """Install the anchor's locked dependencies (untimed); the last line of npm's complaint on failure."""
    try:
        result = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=app,
            capture_output=True,
            text=True,
            check=False,
            timeout=NPM_TIMEOUT_SECONDS,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        return lines[-1] if lines else f"exit status {result.returncode}"
    return ""


def drgen_env() -> dict[str, str]:
    """The environment of the drgen processes: this checkout's drgen first on the path (the console script of
    a shared virtualenv would otherwise import the checkout it was installed from), and bytecode caching on,
    as for an installed drgen (pip compiles it at install time)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _measure(runs: int, scratch: Path, app: Path) -> tuple[list[Figure], list[Target], list[str]]:
    env = drgen_env()
    render = [DRGEN, "render", "-s", PRESET, "--suffix", SUFFIX]
    node_env = {**os.environ, "CDK_OUTDIR": "cdk.out", "CDK_CONTEXT_JSON": f'{{"suffix":"{SUFFIX}"}}'}
    node_env.pop("CDK_VALIDATION", None)  # validation on: CDK's default
    warm_out, warm_cache = scratch / "cdk-warm-out", scratch / "cdk-warm-cache"

    node = Figure("CDK synth: node app.js (validation on), wall", "s")
    cold = Figure(f"drgen render -s {PRESET} (lint + review, cold lint cache), wall", "s")
    alone = Figure(f"drgen render -s {PRESET} --no-lint (render alone), wall", "s")
    linted = Figure(f"drgen render -s {PRESET} --no-lint, then drgen lint (no review, cold cache), wall", "s")
    warm = Figure(f"drgen render -s {PRESET}, warm re-render (same bundle on disk, warm cache), wall", "s")
    cold_ratio = Figure("render + lint + review (cold) / CDK synth, per run", "ratio")
    alone_ratio = Figure("render alone / CDK synth, per run", "ratio")

    def synth() -> None:
        shutil.rmtree(app / "cdk.out", ignore_errors=True)
        node.runs.append(run(["node", "app.js"], cwd=app, env=node_env).seconds)

    def render_cold(i: int) -> None:
        out, cache = scratch / f"cdk-cold-out-{i}", scratch / f"cdk-cold-cache-{i}"
        cold.runs.append(run([*render, "--out", str(out)], env={**env, "DRGEN_CACHE_DIR": str(cache)}).seconds)

    def render_alone(i: int) -> None:
        alone.runs.append(run([*render, "--no-lint", "--out", str(scratch / f"cdk-alone-{i}")], env=env).seconds)

    def render_then_lint(i: int) -> None:
        out, cache = scratch / f"cdk-lint-out-{i}", scratch / f"cdk-lint-cache-{i}"
        first = run([*render, "--no-lint", "--out", str(out)], env=env).seconds
        second = run([DRGEN, "lint", str(out / PRESET)], env={**env, "DRGEN_CACHE_DIR": str(cache)}).seconds
        linted.runs.append(first + second)

    def render_warm(_: int) -> None:
        warm_env = {**env, "DRGEN_CACHE_DIR": str(warm_cache)}
        warm.runs.append(run([*render, "--out", str(warm_out)], env=warm_env).seconds)

    # untimed: the OS page cache, drgen's bytecode, and the warm re-render's bundle and lint cache
    run(["node", "app.js"], cwd=app, env=node_env)
    run([*render, "--out", str(warm_out)], env={**env, "DRGEN_CACHE_DIR": str(warm_cache)})
    steps: list[Callable[[int], None]] = [lambda _: synth(), render_cold, render_alone, render_then_lint, render_warm]
    for i in range(runs):
        for step in steps if i % 2 == 0 else reversed(steps):
            step(i)
        cold_ratio.runs.append(cold.runs[-1] / node.runs[-1])
        alone_ratio.runs.append(alone.runs[-1] / node.runs[-1])
        print(f"bench: cdk run {i + 1} of {runs}", file=sys.stderr, flush=True)

    def versus(figure: Figure) -> str:
        return f"median {figure.median:.2f} s vs node app.js {node.median:.2f} s"

    targets = [
        below(
            f"render -s {PRESET} with lint (+ review) vs CDK synth (ratio of medians)",
            cold.median / node.median,
            LINT_RATIO,
            "x",
            note=versus(cold),
            inclusive=True,
        ),
        below(
            f"render -s {PRESET} --no-lint vs CDK synth (ratio of medians)",
            alone.median / node.median,
            RENDER_RATIO,
            "x",
            note=versus(alone),
            inclusive=True,
        ),
        below(f"warm re-render of {PRESET} (median)", warm.median, WARM_SECONDS, "s", inclusive=True),
    ]
    notes = [
        f"cdk: {_versions(app)}",
        f"cdk: render + lint without the review: {linted.median / node.median:.2f}x the CDK synth "
        f"(median {linted.median:.2f} s, two processes)",
    ]
    # no peak memory: a child's ru_maxrss starts from this process's size at fork, which the deploy section
    # (moto) makes larger than node or drgen ever get
    figures = [node, cold, alone, linted, warm, cold_ratio, alone_ratio]
    return figures, targets, notes


def _versions(app: Path) -> str:
    """node's version and the CDK library's, as the anchor's run.sh prints them."""
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    try:
        library = json.loads((app / "node_modules" / "aws-cdk-lib" / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        library = "?"
    return f"node {node}, aws-cdk-lib {library}"
