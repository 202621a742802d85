"""Lint results kept by content (drgen/lint/cache.py): the same findings as a fresh lint, never stale.

The expected findings come from a lint with the cache turned off (an independent run of cfn-lint and drgen's
rules), not from the cache's own store.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from drgen.errors import DrgenError
from drgen.lint import cache, runner
from drgen.lint.runner import lint_template, lint_text

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REGIONS = ("us-east-1", "us-west-2")


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """An empty cache of this test's own, and no in-process memo."""
    monkeypatch.setenv("DRGEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("DRGEN_NO_CACHE", raising=False)
    lint_text.cache_clear()
    yield tmp_path
    lint_text.cache_clear()


def _lints(monkeypatch) -> list[str]:
    """Count the real lints (cfn-lint runs) from here on."""
    calls: list[str] = []
    real = runner._lint

    def counted(text, regions, shown):
        calls.append(shown)
        return real(text, regions, shown)

    monkeypatch.setattr(runner, "_lint", counted)
    return calls


def test_a_cached_lint_gives_what_a_fresh_lint_gives_and_runs_cfn_lint_once(fresh, monkeypatch):
    bad = FIXTURES / "E9011-bad.json"
    monkeypatch.setenv("DRGEN_NO_CACHE", "1")
    uncached = lint_template(bad, REGIONS)
    lint_text.cache_clear()
    monkeypatch.delenv("DRGEN_NO_CACHE")
    assert len(uncached) == 7  # the fixture's findings (tests/lint/test_rules.py counts them too)

    calls = _lints(monkeypatch)
    first = lint_template(bad, REGIONS)
    lint_text.cache_clear()
    elsewhere = fresh / "copy" / "E9011-bad.json"  # the same bytes at another path: found, placed there
    elsewhere.parent.mkdir()
    shutil.copy(bad, elsewhere)
    second = lint_template(elsewhere, REGIONS)
    assert first == uncached
    assert [f.message for f in second] == [f.message for f in uncached]
    assert {f.path for f in second} == {runner.shown_path(elsewhere)}
    assert len(calls) == 1  # the second came from the cache


def test_a_changed_rule_set_other_regions_or_other_bytes_are_linted_again(fresh, monkeypatch):
    good = FIXTURES / "E9011-good.json"
    calls = _lints(monkeypatch)
    lint_template(good, REGIONS)
    lint_text.cache_clear()
    lint_template(good, ("us-east-1", "eu-west-1"))  # other regions
    lint_text.cache_clear()
    edited = fresh / "edited.json"
    edited.write_text(good.read_text() + "\n")
    lint_template(edited, REGIONS)  # other bytes
    lint_text.cache_clear()
    monkeypatch.setattr(cache, "rule_set", lambda: "another rule set or cfn-lint version")
    lint_template(good, REGIONS)
    assert len(calls) == 4


def test_an_unusable_cache_only_costs_time(fresh, monkeypatch):
    blocked = fresh / "a-file"
    blocked.write_text("not a directory")
    monkeypatch.setenv("DRGEN_CACHE_DIR", str(blocked))
    calls = _lints(monkeypatch)
    assert len(lint_template(FIXTURES / "E9011-bad.json", REGIONS)) == 7
    lint_text.cache_clear()
    assert len(lint_template(FIXTURES / "E9011-bad.json", REGIONS)) == 7
    assert len(calls) == 2


def test_a_warm_lint_of_a_bundle_sends_nothing_to_the_workers(fresh, monkeypatch):
    from drgen.render import render, write_bundles
    from drgen.scenario import load

    [bundle] = write_bundles([render(load("database-dr", suffix="c"))], fresh / "out")
    sent: list[list[Path]] = []
    real = runner._run

    def recorded(jobs):
        sent.append([path for path, _ in jobs])
        return real(jobs)

    monkeypatch.setattr(runner, "_run", recorded)
    cold, count = runner.lint_bundles([bundle])
    warm, _ = runner.lint_bundles([bundle])
    assert warm == cold and count == len(sent[0]) >= 5
    assert sent[1] == []  # every template came from the cache, no worker process was started


def test_a_cache_hit_needs_no_cfn_lint_and_a_miss_still_checks_the_regions(fresh):
    """A warm lint reads its findings without importing cfn-lint (most of a warm render's time otherwise); the
    regions are still refused before any lint when the cache has nothing (an entry exists only for valid ones)."""
    good = FIXTURES / "E9011-good.json"
    expected = lint_template(good, REGIONS)
    probe = (
        "import sys; from pathlib import Path; from drgen.lint.runner import _kept; "
        f"found = _kept(Path(sys.argv[1]), {REGIONS!r}); print(found is not None, 'cfnlint' in sys.modules)"
    )
    answer = subprocess.run(
        [sys.executable, "-c", probe, str(good)], capture_output=True, text=True, check=True, cwd=Path.cwd()
    )
    assert answer.stdout.split() == ["True", "False"]
    assert runner._kept(good, REGIONS) == expected
    with pytest.raises(DrgenError, match="does not know region"):
        runner._kept(good, ("us-east-1", "xx-nowhere-1"))
    with pytest.raises(DrgenError, match="no region"):
        runner._kept(good, ())
