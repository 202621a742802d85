"""`--output json` writes only JSON to stdout (progress, notes and retries go to stderr), so a pipeline can parse
what every command prints."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from drgen.main import cli

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # moto's own notes on error shapes


def test_every_command_with_json_output_prints_only_json_on_stdout(sandbox):
    target = ["-s", "database-dr", "--suffix", "js", "--endpoint-url", sandbox]
    runner = CliRunner()
    commands = [
        ["deploy", *target, "--output", "json", "--require-approval", "never"],
        ["plan", *target, "--output", "json"],
        ["preflight", *target, "--json"],
        ["quotas", *target, "--json"],
        ["outputs", "-s", "database-dr", "--suffix", "js", "--output", "json"],
        ["readiness", *target, "--output", "json"],
        ["failover", *target, "--planned", "--dry-run", "--output", "json"],
        ["destroy", *target, "--yes", "--output", "json"],
    ]
    for args in commands:
        result = runner.invoke(cli, args)
        try:
            json.loads(result.stdout)
        except ValueError:
            raise AssertionError(f"{args[0]}: stdout is not one JSON document: {result.stdout[:300]!r}") from None
