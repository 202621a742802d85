"""Cold processes: ``drgen render --all --no-lint`` (wall time and peak memory, all presets and each one) and
``drgen lint`` against the naive way (the ``cfn-lint`` command once per template, one after another)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.stats import Figure, Target, below

BIN = Path(sys.executable).parent
DRGEN = str(BIN / "drgen")
CFN_LINT = str(BIN / "cfn-lint")
RULES_DIR = Path(__file__).resolve().parent.parent / "drgen" / "lint" / "rules"
RENDER_SECONDS = 1.5
RENDER_MB = 300
LINT_RATIO = 0.5


@dataclass(frozen=True)
class Run:
    """One child process: its wall time and peak resident memory."""

    seconds: float
    peak_mb: float


def run(args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> Run:
    """Run ``args`` to completion as a fresh process; peak memory from its own rusage (wait4), not the sum of
    every child so far (RUSAGE_CHILDREN keeps the largest ever seen)."""
    started = time.perf_counter()
    process = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    errors = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.stderr:
        process.stderr.close()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {process.returncode}: {errors.strip()[-2000:]}")
    return Run(seconds, usage.ru_maxrss / 1024)  # ru_maxrss is in KiB on Linux


def render_figures(presets: list[str], runs: int, scratch: Path) -> tuple[list[Figure], list[Target]]:
    """All presets in one cold process, then each preset alone; ``runs`` times each, interleaved."""
    total = Figure("render --all --no-lint (5 presets), wall", "s")
    memory = Figure("render --all --no-lint (5 presets), peak RSS", "MB")
    each = {p: Figure(f"render -s {p} --no-lint, wall", "s") for p in presets}
    each_memory = {p: Figure(f"render -s {p} --no-lint, peak RSS", "MB") for p in presets}
    out = scratch / "render"
    for _ in range(runs):
        result = run([DRGEN, "render", "--all", "--no-lint", "--out", str(out)])
        total.runs.append(result.seconds)
        memory.runs.append(result.peak_mb)
        for preset in presets:
            result = run([DRGEN, "render", "-s", preset, "--no-lint", "--out", str(out)])
            each[preset].runs.append(result.seconds)
            each_memory[preset].runs.append(result.peak_mb)
    figures = [total, memory]
    for preset in presets:
        figures += [each[preset], each_memory[preset]]
    targets = [
        below("render all presets, cold (median)", total.median, RENDER_SECONDS, "s"),
        below("render all presets, peak memory (max)", memory.high, RENDER_MB, "MB"),
    ]
    return figures, targets


def lint_jobs(out: Path) -> list[tuple[Path, tuple[str, ...]]]:
    """Each template of each bundle under ``out`` with the regions its stacks deploy to (as drgen lints it)."""
    jobs = []
    for manifest in sorted(out.glob("*/manifest.json")):
        regions: dict[str, set[str]] = {}
        for stack in json.loads(manifest.read_text())["stacks"]:
            regions.setdefault(stack["template"], set()).add(stack["region"])
        jobs += [(manifest.parent / t, tuple(sorted(r))) for t, r in sorted(regions.items())]
    return jobs


def naive_lint(jobs: list[tuple[Path, tuple[str, ...]]]) -> float:
    """The ``cfn-lint`` command once per template, one after another, with the same regions and drgen's rules."""
    started = time.perf_counter()
    for path, regions in jobs:
        args = [CFN_LINT, "--config-file", os.devnull, "--regions", *regions, "--append-rules", str(RULES_DIR)]
        run([*args, "--", str(path)])
    return time.perf_counter() - started


def lint_figures(runs: int, scratch: Path) -> tuple[list[Figure], list[Target]]:
    """``drgen lint`` over every preset's bundle (a cold lint: an empty lint cache each run) and the naive way,
    paired in each run; the ratio per pair."""
    out = scratch / "lint"
    run([DRGEN, "render", "--all", "--no-lint", "--out", str(out)])
    jobs = lint_jobs(out)
    drgen = Figure(f"drgen lint, 5 bundles ({len(jobs)} templates), wall", "s")
    naive = Figure(f"cfn-lint once per template ({len(jobs)} runs, sequential), wall", "s")
    ratio = Figure("drgen lint / naive", "ratio")
    for i in range(runs):
        cold_cache = {**os.environ, "DRGEN_CACHE_DIR": str(scratch / f"lint-cache-{i}")}  # nothing linted yet
        drgen.runs.append(run([DRGEN, "lint", str(out)], env=cold_cache).seconds)
        naive.runs.append(naive_lint(jobs))
        ratio.runs.append(drgen.runs[-1] / naive.runs[-1])
    target = below("lint vs naive (median ratio)", ratio.median, LINT_RATIO, "x", inclusive=True)
    return [drgen, naive, ratio], [target]
