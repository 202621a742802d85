"""Deploying and operating a rendered bundle from disk never loads the renderer: drgen/bundle/ is the whole contract.

A change board signs off the files in the bundle; the process that deploys them should not be able to build
templates of its own, and a slim deploy host should not need troposphere's import time. The check runs a real
deploy in a fresh process against the sandbox and reads Python's own import log (``-X importtime``), so it fails
the day a deploy-side module imports a builder, even lazily.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from drgen.render import render, write_bundles
from drgen.scenario import load

RENDER_SIDE = ("troposphere", "awacs", "drgen.builders", "drgen.render", "drgen.layers")


def _imported(stderr: str) -> set[str]:
    """Module names from ``-X importtime`` lines: ``import time: self | cumulative | <indent>name``."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def test_deploy_plan_and_failover_of_a_bundle_import_nothing_of_the_renderer(sandbox: str, tmp_path: Path) -> None:
    [bundle] = write_bundles([render(load("database-dr", suffix="imp"))], tmp_path / "out")
    target = ["--bundle", str(bundle), "--suffix", "imp", "--endpoint-url", sandbox]
    commands = (
        ["deploy", *target, "--yes", "--require-approval", "never"],
        ["plan", *target],
        ["failover", *target, "--planned", "--dry-run"],  # reads the deployed stacks and the bundle's definition
    )
    for command in commands:
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "drgen", *command], capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-2000:]
        modules = _imported(done.stderr)
        assert "drgen.bundle.reader" in modules  # the log is read right
        assert sorted(m for m in modules if m.startswith(RENDER_SIDE)) == [], command[0]
        if command[0] == "deploy":
            assert "9 stack(s): 9 created" in done.stdout
        if command[0] == "failover":  # the steps come from the bundle's definition
            assert "Promote (failover-promote)" in done.stdout, done.stdout
