"""review.html in headless Chromium: it loads without a console error, and the test keeps a screenshot."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from drgen.review import build_review

from .test_diagram import PNG_SIGNATURE

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-logging=stderr",
    "--v=0",
]
TIMEOUT_SECONDS = 120


def chromium_run(chromium: str, page: Path, work: Path, *extra: str) -> tuple[str, list[str]]:
    """Load ``page`` in a fresh profile; (stdout, the console messages Chromium logged)."""
    profile = work / f"profile-{len(list(work.glob('profile-*')))}"
    result = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, [line for line in result.stderr.splitlines() if ":CONSOLE" in line]


def test_the_console_check_catches_errors(chromium, tmp_path):
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html><body><script>console.error('boom'); nope();</script></body></html>")
    _, console = chromium_run(chromium, page, tmp_path, f"--screenshot={tmp_path / 'bad.png'}")
    assert any("boom" in line for line in console) and any("nope" in line for line in console)


@pytest.mark.parametrize("name", ["database-dr", "trading-serverless"])
def test_review_html_loads_in_chromium_without_console_errors(name, chromium, bundle_root, tmp_path):
    page = tmp_path / "review.html"
    page.write_bytes(build_review(bundle_root / name, [], [], None)["review.html"])
    screenshot = tmp_path / f"{name}-review.png"
    _, console = chromium_run(chromium, page, tmp_path, "--window-size=1400,2200", f"--screenshot={screenshot}")
    assert console == []
    assert screenshot.read_bytes().startswith(PNG_SIGNATURE) and screenshot.stat().st_size > 50_000
    dom, console = chromium_run(chromium, page, tmp_path, "--dump-dom")
    assert console == []
    assert f"Change review: {name}</h1>" in dom and "<svg" in dom and 'id="iam-roles-and-resource-policies"' in dom
