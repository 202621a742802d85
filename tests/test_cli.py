"""The CLI through click's CliRunner: listing, rendering, bad input (exit 2, one line, nothing written)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from drgen import __version__
from drgen.main import cli
from drgen.scenario import PRESETS


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_version(runner):
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_scenarios_lists_every_preset_with_regions(runner):
    result = runner.invoke(cli, ["scenarios"])
    assert result.exit_code == 0
    for name, s in PRESETS.items():
        line = next(line for line in result.output.splitlines() if line.startswith(name + " "))
        assert s.regions.primary in line and s.regions.secondary in line


def test_scenarios_json(runner):
    result = runner.invoke(cli, ["scenarios", "--output", "json"])
    rows = json.loads(result.output)
    assert {r["name"] for r in rows} == set(PRESETS)
    assert next(r for r in rows if r["name"] == "trading-serverless")["rto_seconds"] == 60


@pytest.mark.parametrize("command", [[], ["scenarios"], ["render"], ["lint"]])
def test_help_on_each_command(runner, command):
    result = runner.invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_render_one_preset_writes_a_bundle_and_is_byte_identical_twice(runner, tmp_path):
    out = tmp_path / "out"
    first = runner.invoke(cli, ["render", "-s", "database-dr", "--out", str(out), "--no-lint"])
    assert first.exit_code == 0, first.output
    manifest = json.loads((out / "database-dr" / "manifest.json").read_text())
    assert manifest["scenario"] == "database-dr"
    assert all((out / "database-dr" / s["template"]).is_file() for s in manifest["stacks"])
    snapshot = tree(out)
    second = runner.invoke(cli, ["render", "-s", "database-dr", "--out", str(out), "--no-lint"])
    assert second.exit_code == 0
    assert tree(out) == snapshot
    assert not list(out.glob(".render-tmp-*"))


def test_render_suffix_reaches_the_manifest_and_names(runner, tmp_path):
    args = ["render", "-s", "trading-ecs", "--suffix", "pr42", "--out", str(tmp_path), "--no-lint"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "trading-ecs" / "manifest.json").read_text())
    assert manifest["suffix"] == "pr42"
    assert all(s["name"].endswith("-pr42") for s in manifest["stacks"])


BAD_CONFIGS = {
    "same-region": "base: trading-ecs\nregions: {primary: eu-west-2, secondary: eu-west-2}\n",
    "unknown-region": "base: trading-ecs\nregions: {secondary: eu-nowhere-9}\n",
    "overlapping-cidrs": "base: healthcare-lambda\nnetwork: {secondary_cidr: 10.0.128.0/17}\n",
    "broken-yaml": "base: trading-ecs\nnetwork: {primary_cidr: [\n",
    "unknown-key": "base: trading-ecs\ndatabase: {instance_type: db.r6g.large}\n",
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_config_exits_2_with_one_line_and_writes_nothing(runner, tmp_path, case):
    config = tmp_path / "scenario.yaml"
    config.write_text(BAD_CONFIGS[case])
    out = tmp_path / "out"
    result = runner.invoke(cli, ["render", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("drgen: error: ")
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["-s", "no-such-preset"], "unknown preset 'no-such-preset'"),
        (["-s", "trading-ecs", "--suffix", "Bad_Suffix"], "bad suffix 'Bad_Suffix'"),
        (["-s", "trading-ecs", "--all"], "not both"),
    ],
)
def test_bad_arguments_exit_2_and_write_nothing(runner, tmp_path, args, needle):
    out = tmp_path / "out"
    result = runner.invoke(cli, ["render", *args, "--out", str(out)])
    assert result.exit_code == 2
    assert needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_a_bad_preset_among_good_ones_writes_none_of_them(runner, tmp_path):
    result = runner.invoke(cli, ["render", "-s", "trading-ecs", "-s", "nope", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert not (tmp_path / "o").exists()


def test_failed_render_keeps_the_previous_bundle(runner, tmp_path):
    out = tmp_path / "out"
    assert runner.invoke(cli, ["render", "-s", "database-dr", "--out", str(out), "--no-lint"]).exit_code == 0
    before = tree(out)
    # a legal prefix and suffix that together overflow an IAM role name fail during rendering
    config = tmp_path / "long.yaml"
    config.write_text("base: database-dr\nprefix: a-very-long-prefix-name-x\n")
    result = runner.invoke(cli, ["render", "--config", str(config), "--suffix", "x" * 20, "--out", str(out)])
    assert result.exit_code == 2
    assert tree(out) == before


def test_lint_without_a_bundle_exits_2(runner, tmp_path):
    result = runner.invoke(cli, ["lint", str(tmp_path)])
    assert result.exit_code == 2
    assert "no rendered bundle" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe\x00base: x\n", "not UTF-8 text (byte 0: invalid start byte); save the scenario file as UTF-8"),
        (b"base: trading-ecs\nname: a\nname: b\n", "duplicate key 'name' (line 3); keep one"),
    ],
    ids=["undecodable", "duplicate-key"],
)
def test_a_scenario_file_that_cannot_be_read_as_written_is_one_line_and_exit_2(runner, tmp_path, content, message):
    path = tmp_path / "scenario.yaml"
    path.write_bytes(content)
    result = runner.invoke(cli, ["render", "--config", str(path), "--out", str(tmp_path / "out"), "--no-lint"])
    assert result.exit_code == 2 and message in result.output
    assert result.output.count("\n") == 1 and not (tmp_path / "out").exists()


def test_an_out_directory_below_a_file_is_one_line_and_exit_2(runner, tmp_path):
    (tmp_path / "afile").write_text("in the way")
    result = runner.invoke(cli, ["render", "-s", "database-dr", "--out", str(tmp_path / "afile" / "b"), "--no-lint"])
    assert result.exit_code == 2
    assert (
        result.output == f"drgen: error: cannot write the bundles to {tmp_path / 'afile' / 'b'}: Not a directory; "
        "choose another --out\n"
    )


def test_a_variant_with_its_own_name_gets_its_own_stack_names(runner, tmp_path):
    """base: trading-ecs + name: x7 is another deployment: it must not update the trading-ecs-* stacks."""
    path = tmp_path / "variant.yaml"
    path.write_text("base: trading-ecs\nname: x7\n")
    assert runner.invoke(cli, ["render", "--config", str(path), "--out", str(tmp_path), "--no-lint"]).exit_code == 0
    manifest = json.loads((tmp_path / "x7" / "manifest.json").read_text())
    assert all(stack["name"].startswith("x7-") for stack in manifest["stacks"])


def test_review_files_are_readable_by_the_team(runner, tmp_path):
    """Review files are shared with a change board: as readable as the rest of the bundle (umask), not 0600."""
    import os

    from drgen.review.write import write_review

    assert runner.invoke(cli, ["render", "-s", "database-dr", "--out", str(tmp_path), "--no-lint"]).exit_code == 0
    previous = os.umask(0o022)
    try:
        written = write_review(tmp_path / "database-dr", [], None)
    finally:
        os.umask(previous)
    assert written and all(path.stat().st_mode & 0o777 == 0o644 for path in written)


def test_no_color_reaches_the_progress_tables(runner, monkeypatch):
    """--no-color sets NO_COLOR, which rich (the deploy and destroy progress tables) honours."""
    import io
    import os

    from drgen.deploy.progress import LiveProgress

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert runner.invoke(cli, ["--no-color", "scenarios"]).exit_code == 0
    assert os.environ.get("NO_COLOR") == "1"
    assert LiveProgress("t", [], io.StringIO())._console.no_color
    monkeypatch.delenv("NO_COLOR")
    assert not LiveProgress("t", [], io.StringIO())._console.no_color


def test_every_preset_renders_byte_identical_in_two_separate_processes(tmp_path):
    """Each render in its own interpreter with its own hash seed: no in-process memo (zips, templates) can hide a
    difference, and set or dict ordering that depends on the seed would show."""
    trees = []
    for run, seed in (("a", "1"), ("b", "2")):
        out = tmp_path / run
        subprocess.run(
            [sys.executable, "-m", "drgen", "render", "--all", "--no-lint", "--out", str(out)],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            timeout=300,
        )
        trees.append(tree(out))
    assert trees[0] == trees[1]
    assert len(trees[0]) >= 5 * 6  # every preset: manifest, budget, templates and zips at least


def test_render_without_lint_loads_neither_cfn_lint_nor_the_aws_sdk(tmp_path):
    """Imports are most of a render's time: `render --no-lint` must not pay for cfn-lint or boto3."""
    probe = (
        "import sys\nfrom drgen.main import main\n"
        "sys.argv = ['drgen', 'render', '-s', 'database-dr', '--no-lint', '--out', sys.argv[1]]\n"
        "try:\n    main()\nexcept SystemExit as stop:\n    assert not stop.code, stop.code\n"
        "print(sorted(m for m in ('boto3', 'botocore', 'cfnlint') if m in sys.modules))\n"
    )
    answer = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, check=True)
    assert answer.stdout.splitlines()[-1] == "[]"
    assert (tmp_path / "database-dr" / "manifest.json").is_file()
