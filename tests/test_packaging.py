"""Lambda packaging: deterministic zips (fixed stamps, modes and order), the shared code and the vendored driver
inside, content-addressed names, and the manifest's artifacts matching the bytes rendered. The tests build
their own lambda/ tree, so they do not depend on what the real handlers contain."""

from __future__ import annotations

import ast
import configparser
import hashlib
import io
import json
import os
import re
import shutil
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from drgen import packaging
from drgen.bundle.manifest import MANIFEST
from drgen.errors import DrgenError
from drgen.lambda_functions import SHARED_PACKAGE, functions_for
from drgen.packaging import LAMBDA_ROOT, VENDORED_PINS, build_artifacts, key_parameter, package_zip
from drgen.scenario import PRESETS, load

from .conftest import REPO, template


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A small lambda/ tree: one package, the shared package, and build litter that must stay out."""
    (tmp_path / "failover" / "__pycache__").mkdir(parents=True)
    (tmp_path / "failover" / "guard.py").write_text("def handler(event, context):\n    return {}\n")
    (tmp_path / "failover" / "__pycache__" / "guard.cpython-311.pyc").write_bytes(b"\x00compiled")
    (tmp_path / "failover" / ".hidden").write_text("editor state")
    (tmp_path / SHARED_PACKAGE).mkdir()
    (tmp_path / SHARED_PACKAGE / "__init__.py").write_text('"""shared"""\n')
    return tmp_path


def entries(data: bytes) -> list[zipfile.ZipInfo]:
    return zipfile.ZipFile(io.BytesIO(data)).infolist()


def test_zip_holds_the_package_at_its_root_the_shared_code_and_the_driver(root):
    names = [info.filename for info in entries(package_zip("failover", root))]
    assert "guard.py" in names
    assert f"{SHARED_PACKAGE}/__init__.py" in names
    assert "pg8000/__init__.py" in names and "scramp/__init__.py" in names  # the driver and its requirements
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or "/." in n or n.startswith(".")]
    assert not [n for n in names if n.endswith(("/RECORD", "/INSTALLER", "/direct_url.json"))]


def test_zip_bytes_depend_only_on_content(root):
    first = package_zip("failover", root)
    guard = root / "failover" / "guard.py"
    os.utime(guard, (1_000_000_000, 1_000_000_000))  # touched: new mtime, same content
    guard.chmod(0o755)
    assert package_zip("failover", root) == first
    infos = entries(first)
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}
    guard.write_text("def handler(event, context):\n    return {'changed': True}\n")
    assert package_zip("failover", root) != first


def test_a_package_that_does_not_exist_yet_still_packages_the_shared_code(root):
    names = [info.filename for info in entries(package_zip("readiness", root))]
    assert f"{SHARED_PACKAGE}/__init__.py" in names and not [n for n in names if n.endswith("guard.py")]


def test_two_different_files_under_one_name_are_refused(root):
    (root / "failover" / SHARED_PACKAGE).mkdir()
    (root / "failover" / SHARED_PACKAGE / "__init__.py").write_text("# a different copy\n")
    with pytest.raises(DrgenError, match="two different files"):
        package_zip("failover", root)


def test_artifacts_are_content_addressed_and_list_their_functions():
    scenario = load("trading-serverless", suffix="dev")
    artifacts = build_artifacts(scenario)
    catalogue = functions_for(scenario)
    assert [a.package for a in artifacts] == list(dict.fromkeys(f.package for f in catalogue))
    for artifact in artifacts:
        digest = hashlib.sha256(artifact.data).hexdigest()
        assert artifact.sha256 == digest
        assert artifact.file == f"functions/{artifact.package}-{digest[:12]}.zip"
        assert artifact.key.endswith(artifact.file) and artifact.key.startswith("drgen/trading-serverless/")
        assert list(artifact.functions) == [f.key for f in catalogue if f.package == artifact.package]
    assert build_artifacts(scenario) == artifacts


def test_a_zip_without_its_handler_is_refused(tmp_path):
    """Lambda would fail every invocation with Runtime.ImportModuleError after a green deploy: render refuses."""
    copy = tmp_path / "lambda"
    shutil.copytree(LAMBDA_ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    scenario = load("database-dr", suffix="dev")
    assert build_artifacts(scenario, copy)  # the intact copy packages
    (copy / "failover" / "promote.py").unlink()
    with pytest.raises(DrgenError, match=r"handler promote.handler is missing \(no promote.py in the zip\)"):
        build_artifacts(scenario, copy)
    (copy / "failover" / "promote.py").write_text("def status_handler(event, context):\n    return {}\n")
    with pytest.raises(DrgenError, match=r"handler promote.handler is missing \(no def handler\( in promote.py"):
        build_artifacts(scenario, copy)


def test_the_vendored_driver_is_pinned_exactly_where_pip_reads_it():
    """setup.cfg (what pip installs) and VENDORED_PINS (what render accepts) name the same versions, and the
    installed ones match: a new upstream release cannot change a committed bundle's hashes."""
    parser = configparser.ConfigParser()
    parser.read(REPO / "setup.cfg")
    requires = [line.strip() for line in parser["options"]["install_requires"].splitlines()]
    pinned = dict(line.split("==") for line in requires if "==" in line)
    assert {name: pinned[name] for name in VENDORED_PINS} == VENDORED_PINS
    assert {name: metadata.version(name) for name in VENDORED_PINS} == VENDORED_PINS


def test_another_installed_driver_version_is_refused(monkeypatch):
    monkeypatch.setitem(packaging.VENDORED_PINS, "scramp", "0.0.1")
    packaging._vendored.cache_clear()
    try:
        with pytest.raises(DrgenError, match=r"vendor scramp 0.0.1, but 1.5.0 is installed"):
            package_zip("connectivity")
    finally:
        packaging._vendored.cache_clear()


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_manifest_artifacts_match_the_zips_and_feed_the_code_key_parameters(name, bundles):
    bundle = bundles[name]
    manifest = json.loads(bundle.files[MANIFEST])
    artifacts = manifest["artifacts"]
    assert artifacts
    keys = {}
    for artifact in artifacts:
        assert set(artifact) == {"file", "key", "sha256", "package", "functions"}
        assert hashlib.sha256(bundle.files[artifact["file"]]).hexdigest() == artifact["sha256"]
        keys[key_parameter(artifact["package"])] = artifact["key"]
    for st in bundle.stacks:
        declared = template(bundle, st.layer).get("Parameters", {})
        for parameter in (p for p in declared if p.endswith("CodeKey")):
            assert st.parameters[parameter] == keys[parameter], (st.name, parameter)


def test_rendering_twice_gives_identical_zip_bytes(bundles):
    from drgen.render import render

    again = render(load("trading-ecs", suffix="dev"))
    zips = {path for path in again.files if path.endswith(".zip")}
    assert zips and {p: again.files[p] for p in zips} == {p: bundles["trading-ecs"].files[p] for p in zips}


def test_only_packages_that_reach_the_database_carry_the_driver():
    """The driver is most of a zip's bytes: the failover steps, the probe and readiness never connect."""
    artifacts = {a.package: a for a in build_artifacts(load("trading-ecs", suffix="dev"))}
    for package, artifact in artifacts.items():
        names = {info.filename for info in entries(artifact.data)}
        connects = package in {"lag_monitor", "connectivity", "app"}
        assert ("pg8000/__init__.py" in names) is connects, package
        assert "drgen_common/__init__.py" in names


def _requirement_name(line: str) -> str:
    return re.split(r"[<>=!~\[; ]", line.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _closure(names: set[str]) -> set[str]:
    """``names`` and every distribution they require, as installed (extras' requirements left out)."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        todo += [_requirement_name(r) for r in requires if "extra ==" not in r]
    return seen


def test_every_third_party_import_of_drgen_is_declared_where_pip_reads_it():
    """The installed-wheel test borrows the test environment's packages, so it cannot see an undeclared one: this
    reads every import in drgen/ (the source, not a list kept by hand) and finds each one's distribution among
    setup.cfg's install_requires (or what they require), moto and werkzeug (its server) only in the `sandbox`
    extra."""
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    lines = [line for line in config["options"]["install_requires"].splitlines() if line and not line.startswith("#")]
    declared = _closure({_requirement_name(line) for line in lines})
    sandbox = _closure({_requirement_name(line) for line in config["options.extras_require"]["sandbox"].split()})
    distributions = metadata.packages_distributions()
    imported: dict[str, set[str]] = {}
    for path in sorted((REPO / "drgen").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {  # imports under `if TYPE_CHECKING:` never run
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for inner in ast.walk(node)
        }
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                # drgen_common is drgen's own: the Lambda code, shipped in the package (drgen/lambda_code.py)
                if top not in ("drgen", SHARED_PACKAGE) and top not in sys.stdlib_module_names:
                    imported.setdefault(top, set()).add(path.relative_to(REPO).as_posix())
    assert {"troposphere", "boto3", "yaml", "moto"} <= set(imported)  # the scan sees imports at all
    undeclared = {}
    for module, where in sorted(imported.items()):
        dists = {_requirement_name(d) for d in distributions.get(module, [module])}
        allowed = sandbox if module in ("moto", "werkzeug") else declared
        if not dists & allowed:
            undeclared[module] = sorted(where)
    assert undeclared == {}
