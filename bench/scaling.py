"""Scaling: render 1, 10 and 50 scenarios in one process and report the time per scenario, which should stay
flat. The scenarios come from the presets in turn, each with its own name, suffix and CIDR pair, written as
scenario files (``base: <preset>``) and loaded like ``drgen render --config`` loads one.

Each measurement runs in a fresh interpreter (``python -m bench.scaling N OUT``) that first renders every
preset once in memory, so imports and per-process caches (the Lambda zips) are warm: the figure is the
marginal cost of a scenario. The cold cost is what the render figures measure. The presets differ in size, so
every size renders the same mix: 10 and 50 cycle through all five, and the figure for 1 is the mean of five
processes, one per preset.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.stats import Figure, Target, below

SIZES = (1, 10, 50)
FLATNESS = 0.2


def scenario_files(count: int, directory: Path, first: int = 0) -> list[Path]:
    """``count`` scenario files cycling through the presets from scenario number ``first``; scenario i gets
    10.(2i).0.0/16 and 10.(2i+1).0.0/16."""
    from drgen.scenario import PRESETS

    presets = sorted(PRESETS)
    files = []
    for i in range(first, first + count):
        base = presets[i % len(presets)]
        path = directory / f"s{i:03d}.yaml"
        path.write_text(
            f"base: {base}\nname: {base}-s{i:03d}\nsuffix: s{i:03d}\n"
            f"network:\n  primary_cidr: 10.{2 * i}.0.0/16\n  secondary_cidr: 10.{2 * i + 1}.0.0/16\n"
        )
        files.append(path)
    return files


def measure(count: int, out: Path, first: int = 0) -> float:
    """Seconds to load, render and write ``count`` scenarios (after a warm-up render of every preset)."""
    from drgen.render import render, write_bundles
    from drgen.scenario import PRESETS, load

    for name in PRESETS:
        render(load(name, suffix="warm"))
    with tempfile.TemporaryDirectory() as directory:
        files = scenario_files(count, Path(directory), first)
        started = time.perf_counter()
        bundles = [render(load(config=path)) for path in files]
        write_bundles(bundles, out)
        return time.perf_counter() - started


def scaling_figures(runs: int, scratch: Path) -> tuple[list[Figure], list[Target]]:
    """Per-scenario render time at each size, ``runs`` fresh processes each, sizes interleaved."""
    from drgen.scenario import PRESETS

    figures = {n: Figure(f"render {n} scenario(s), per scenario", "s") for n in SIZES}
    mix = len(PRESETS)
    for _ in range(runs):
        for n in SIZES:
            starts = range(mix) if n < mix else (0,)
            seconds = [_worker(n, scratch / f"scale-{n}", first) / n for first in starts]
            figures[n].runs.append(sum(seconds) / len(seconds))
    first, last = figures[SIZES[0]].median, figures[SIZES[-1]].median
    drift = abs(last / first - 1)
    target = below(
        f"per-scenario render at {SIZES[-1]} vs {SIZES[0]} (median, |ratio - 1|)",
        drift,
        FLATNESS,
        "",
        note=f"{last * 1000:.0f} ms vs {first * 1000:.0f} ms",
        inclusive=True,
    )
    return list(figures.values()), [target]


def _worker(count: int, out: Path, first: int) -> float:
    args = [sys.executable, "-m", "bench.scaling", str(count), str(out), str(first)]
    answer = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return float(json.loads(answer)["seconds"])


if __name__ == "__main__":
    print(json.dumps({"seconds": measure(int(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))}))
