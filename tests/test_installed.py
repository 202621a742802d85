"""drgen as a user installs it: the built wheel in a fresh virtualenv, run from a directory outside the checkout.

The wheel must carry the Lambda code (setup.py copies lambda/ into drgen/_lambda): without it a render writes
zips without their handlers. The fresh virtualenv gets the wheel alone (--no-deps) and finds the dependencies
through a path entry to the test environment's site-packages, whose .pth files (the editable install) are not
processed, so ``drgen`` can only come from the wheel.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from drgen.operate import moto_standins
from drgen.render import render
from drgen.scenario import PRESETS, load

from .conftest import REPO, sandbox_environment

# tests/lambda/servers.py ("lambda" is a keyword, so no plain import statement can name the package)
http_endpoint = importlib.import_module("tests.lambda.servers").http_endpoint

SOURCES = ("setup.cfg", "setup.py", "pyproject.toml", "MANIFEST.in", "README.md", "drgen", "lambda")


def _run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``drgen`` executable of a fresh virtualenv holding only the wheel built from this checkout."""
    root = tmp_path_factory.mktemp("installed")
    source = root / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        source,
        "-w",
        root / "dist",
        cwd=root,
    )
    [wheel] = (root / "dist").glob("drgen-*.whl")
    environment = root / "venv"
    venv.create(environment, with_pip=False)
    python = environment / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel, cwd=root)
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(_run(python, "-c", purelib, cwd=root).stdout.strip())
    (site / "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return environment / "bin" / "drgen"


def test_the_wheel_carries_the_lambda_code(installed):
    [wheel] = (installed.parents[2] / "dist").glob("drgen-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for source in sorted((REPO / "lambda").rglob("*.py")):
        if "__pycache__" not in source.parts:
            assert "drgen/_lambda/" + source.relative_to(REPO / "lambda").as_posix() in names


def test_the_installed_drgen_renders_every_preset_as_the_checkout_does(installed, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    show_root = "import drgen.packaging as p; print(p.LAMBDA_ROOT)"
    where = _run(installed.with_name("python"), "-c", show_root, cwd=elsewhere)
    assert where.stdout.strip().endswith("drgen/_lambda") and str(REPO) not in where.stdout

    _run(installed, "render", "--all", "--no-lint", "--out", "bundles", cwd=elsewhere)

    for name in PRESETS:
        manifest = json.loads((elsewhere / "bundles" / name / "manifest.json").read_bytes())
        for artifact in manifest["artifacts"]:
            data = (elsewhere / "bundles" / name / artifact["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == artifact["sha256"]
        # The same bytes as a render from the checkout: the zips hold the same code, handlers included.
        expected = render(load(name)).files["manifest.json"]
        assert (elsewhere / "bundles" / name / "manifest.json").read_bytes() == expected, name


def test_the_installed_drgen_drills_from_another_directory(installed, tmp_path):
    result = _run(installed, "drill", "-s", "trading-ecs", cwd=tmp_path)
    assert "drill PASSED" in result.stdout


@pytest.mark.filterwarnings("ignore::UserWarning")  # moto's own notes on error shapes
def test_the_installed_drgen_deploys_operates_and_destroys_a_scenario_file(installed, moto_url, monkeypatch, tmp_path):
    """Every deploy and operate command of the installed drgen, each in its own process, against the test's moto
    server (in this process, so the promotion stand-in answers what moto lacks, as in `drgen drill`)."""
    url = sandbox_environment(moto_url, monkeypatch, tmp_path, poll_seconds=0.05)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "orders.yaml").write_text("base: trading-ecs\nname: orders\n")
    config = ["--config", "orders.yaml", "--suffix", "inst"]
    target = [*config, "--endpoint-url", url]

    def drgen(*args: str, cwd: Path = elsewhere) -> str:
        return _run(installed, *args, cwd=cwd).stdout

    drgen("render", *config, "--out", "bundles", "--no-lint")
    assert (elsewhere / "bundles" / "orders" / "manifest.json").is_file()
    assert "plan: orders (suffix inst" in drgen("plan", *target)
    assert "FAIL" not in drgen("preflight", *target)
    drgen("quotas", *target)
    deployed = drgen(
        "deploy",
        "--bundle",
        "bundles/orders",
        "--suffix",
        "inst",
        "--endpoint-url",
        url,
        "--yes",
        "--require-approval",
        "never",
    )
    assert "deploy: 9 stack(s): 9 created" in deployed
    with http_endpoint() as health_endpoint:
        health = ["--health-url", f"{health_endpoint}/ok"]
        assert "orders (inst): ready" in drgen("readiness", *target, *health)
        with moto_standins.promotion_standin() as promotions:
            assert "SUCCEEDED" in drgen("failover", *target, "--unplanned", "--yes", "--force", "--wait", *health)
            assert "SUCCEEDED" in drgen("failback", *target, "--planned", "--force", "--wait", *health)
        # a directory without the deployment record (another machine): the deployment is read from CloudFormation
        other = tmp_path / "other"
        other.mkdir()
        shutil.copy2(elsewhere / "orders.yaml", other)
        assert "orders (inst): ready" in drgen("readiness", *target, *health, cwd=other)
    assert [action for action, _ in promotions] == ["switchover", "switchover"]
    assert "Seed outputs" in drgen("outputs", *target)
    assert "Seed outputs" in drgen("outputs", "--bundle", "bundles/orders", "--suffix", "inst", "--endpoint-url", url)
    assert "destroy: 9 stack(s): 9 deleted" in drgen("destroy", *target, "--yes", cwd=other)


def test_without_moto_the_drill_names_the_extra_that_installs_it(without_moto):
    from drgen.errors import DrgenError
    from drgen.operate.moto_server import moto_server

    with pytest.raises(DrgenError, match=r"pip install 'drgen\[sandbox\]'"), moto_server():
        pass
