"""Run checkov over rendered templates and report its failed checks as drgen Findings.

checkov pins libraries that clash with drgen's (boto3, packaging, networkx), so it lives in its own
virtualenv, ``.venv-checkov`` beside the checkout (created on first use with the pinned version), or wherever
``$DRGEN_CHECKOV`` points (a checkov executable). It runs as a subprocess, offline (``--skip-download``),
once for all templates, with ``-o json --framework cloudformation``.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drgen.bundle.reader import read_manifest
from drgen.errors import DrgenError
from drgen.lint.findings import Finding, by_location
from drgen.lint.runner import shown_path
from drgen.scan.skips import Skip

CHECKOV_VERSION = "3.3.30"
ENV_VARIABLE = "DRGEN_CHECKOV"
VENV_NAME = ".venv-checkov"
SOURCE = "checkov"
SCAN_TIMEOUT_SECONDS = 600
INSTALL_TIMEOUT_SECONDS = 900
PARSE_RULE = "CKV_PARSE"


@dataclass(frozen=True)
class ScanResult:
    """checkov's verdict on a set of templates."""

    findings: list[Finding]  # failed checks and unparseable templates (severity error)
    skips: list[Skip]  # checks skipped by template Metadata, with the written reason
    passed: int
    templates: int


def default_venv() -> Path:
    """``.venv-checkov`` in the checkout drgen runs from (an editable install), else in the user's cache."""
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "setup.cfg").is_file():
        return checkout / VENV_NAME
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "drgen" / VENV_NAME


def find_checkov() -> Path | None:
    """The checkov executable to use, if one is set up (``$DRGEN_CHECKOV`` or the pinned virtualenv)."""
    configured = os.environ.get(ENV_VARIABLE)
    if configured:
        return Path(configured)
    venv = default_venv()
    executable = venv / "bin" / "checkov"
    return executable if executable.is_file() and _stamp(venv).is_file() else None


def ensure_checkov(echo: Any = None) -> Path:
    """The checkov executable, creating the pinned virtualenv first when needed (one process at a time)."""
    found = find_checkov()
    if found is not None:
        if not os.access(found, os.X_OK):
            raise DrgenError(f"${ENV_VARIABLE} is {found}, which is not an executable checkov; fix or unset it")
        return found
    venv = default_venv()
    venv.parent.mkdir(parents=True, exist_ok=True)
    with _locked(venv.parent / f"{VENV_NAME}.lock"):
        if not _stamp(venv).is_file():  # another process may have finished it while we waited
            if echo is not None:
                echo(f"drgen: setting up checkov {CHECKOV_VERSION} in {venv} (first use; about a minute)")
            _create_venv(venv)
    return venv / "bin" / "checkov"


def _stamp(venv: Path) -> Path:
    return venv / f".drgen-checkov-{CHECKOV_VERSION}"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _create_venv(venv: Path) -> None:
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"checkov=={CHECKOV_VERSION}",
        ],
    ]
    for step in steps:
        try:
            result = subprocess.run(step, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_SECONDS, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise DrgenError(f"could not set up checkov in {venv}: {error}") from error
        if result.returncode != 0:
            tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise DrgenError(
                f"could not set up checkov in {venv} ({tail}); set ${ENV_VARIABLE} to a checkov executable instead"
            )
    _stamp(venv).touch()


def scan_templates(paths: Sequence[Path], checkov: Path | None = None) -> ScanResult:
    """checkov's failed checks and skips for ``paths`` (CloudFormation templates), in one run."""
    if not paths:
        return ScanResult([], [], 0, 0)
    executable = checkov or ensure_checkov(lambda m: print(m, file=sys.stderr))
    command = [str(executable), "--skip-download", "--framework", "cloudformation", "-o", "json", "--compact"]
    for path in sorted(paths):
        command += ["-f", str(path)]
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=SCAN_TIMEOUT_SECONDS,
            check=False,
            env={**os.environ, "LOG_LEVEL": "WARNING"},
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise DrgenError(f"checkov did not run ({error}); check {executable} or set ${ENV_VARIABLE}") from error
    if result.returncode not in (0, 1):
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise DrgenError(f"checkov failed with exit status {result.returncode}: {tail}")
    return _parse(result.stdout, len(paths))


def _parse(output: str, templates: int) -> ScanResult:
    try:
        reports = json.loads(output) if output.strip() else []
    except ValueError as error:
        raise DrgenError(f"checkov printed something that is not JSON ({error}); run it by hand to see why") from error
    reports = reports if isinstance(reports, list) else [reports]
    findings: list[Finding] = []
    skips: list[Skip] = []
    passed = 0
    for report in reports:
        results = report.get("results", {}) if isinstance(report, dict) else {}
        passed += len(results.get("passed_checks", []))
        findings += [_finding(check) for check in results.get("failed_checks", [])]
        skips += [_skip(check) for check in results.get("skipped_checks", [])]
        findings += [_parse_error(path) for path in results.get("parsing_errors", [])]
    findings.sort(key=by_location)
    skips.sort(key=lambda s: (s.template, s.resource, s.check))
    return ScanResult(findings, skips, passed, templates)


def _path(check: dict[str, Any]) -> str:
    return shown_path(Path(os.path.normpath(check.get("file_abs_path") or check.get("file_path", ""))))


def _finding(check: dict[str, Any]) -> Finding:
    resource = str(check.get("resource", ""))
    lines = check.get("file_line_range") or [1, 1]
    guideline = f" (see {check['guideline']})" if check.get("guideline") else ""
    return Finding(
        rule=str(check.get("check_id", "CKV_UNKNOWN")),
        severity="error",
        message=f"{resource}: {check.get('check_name', 'failed check')}{guideline}",
        path=_path(check),
        line=int(lines[0]),
        column=1,
        source=SOURCE,
        shortdesc=str(check.get("check_name", "")),
    )


def _skip(check: dict[str, Any]) -> Skip:
    reason = str((check.get("check_result") or {}).get("suppress_comment", ""))
    return Skip(
        check=str(check.get("check_id", "")),
        reason=reason,
        resource=str(check.get("resource", "")),
        template=_path(check),
    )


def _parse_error(path: str) -> Finding:
    return Finding(
        rule=PARSE_RULE,
        severity="error",
        message="checkov could not parse this template",
        path=shown_path(Path(os.path.normpath(path))),
        line=1,
        column=1,
        source=SOURCE,
        shortdesc="Template parses",
    )


def bundle_templates(bundle_dirs: Sequence[Path]) -> list[Path]:
    """Every template the bundles' manifests name (each once)."""
    templates: set[Path] = set()
    for bundle_dir in bundle_dirs:
        templates |= {bundle_dir / s.template for s in read_manifest(bundle_dir).stacks}
    return sorted(templates)


def scan_bundles(bundle_dirs: Sequence[Path], checkov: Path | None = None) -> ScanResult:
    """checkov over every template of the given bundles."""
    return scan_templates(bundle_templates(bundle_dirs), checkov)
