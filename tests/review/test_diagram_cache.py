"""Graphviz drawings kept by content (drgen/review/graphviz.py) and started ahead (diagram.prefetch): the same
bytes as a fresh drawing, `dot` not run again for an unchanged diagram, nothing kept with DRGEN_NO_CACHE=1."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from drgen.errors import DrgenError
from drgen.review import diagram, graphviz
from drgen.review.diagram import build_diagram

pytestmark = pytest.mark.skipif(not shutil.which("dot"), reason="Graphviz `dot` not installed")
NAME = "database-dr"


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """An empty cache of this test's own, and no drawing remembered by the process."""
    monkeypatch.setenv("DRGEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("DRGEN_NO_CACHE", raising=False)
    diagram._DRAWN.clear()
    yield tmp_path / "cache"
    diagram._DRAWN.clear()


def _no_dot(monkeypatch):
    graphviz._version()  # `dot -V` answered before dot is taken away

    def refuse(*args, **kwargs):
        raise AssertionError(f"dot was run: {args[0]}")

    monkeypatch.setattr(subprocess, "Popen", refuse)


def test_an_unchanged_diagram_is_drawn_once_and_kept_as_drawn(bundle_root, cache_dir, monkeypatch):
    monkeypatch.setenv("DRGEN_NO_CACHE", "1")
    fresh = build_diagram(bundle_root / NAME, "graphviz")
    assert not cache_dir.exists()
    diagram._DRAWN.clear()
    monkeypatch.delenv("DRGEN_NO_CACHE")

    assert build_diagram(bundle_root / NAME, "graphviz") == fresh
    assert len(list((cache_dir / "diagram").rglob("*.png"))) == 2  # the architecture and the full graph
    diagram._DRAWN.clear()  # as in a new process
    _no_dot(monkeypatch)
    assert build_diagram(bundle_root / NAME, "graphviz") == fresh


def test_a_prefetched_drawing_is_the_same_and_collected_once(bundle_root, cache_dir):
    expected = build_diagram(bundle_root / NAME, "graphviz")
    shutil.rmtree(cache_dir)
    diagram._DRAWN.clear()
    diagram.prefetch([bundle_root / NAME, bundle_root / "no-such-bundle"])  # an unreadable one is left alone
    assert len(diagram._UNDER_WAY) == 1
    assert build_diagram(bundle_root / NAME, "graphviz") == expected
    assert diagram._UNDER_WAY == {}


def test_a_failing_dot_is_reported(bundle_root, cache_dir, monkeypatch):
    monkeypatch.setenv("DRGEN_NO_CACHE", "1")
    monkeypatch.setattr(graphviz, "FORMATS", ("svg", "no-such-format"))
    with pytest.raises(DrgenError, match="Graphviz `dot -Tsvg -Tpng` failed"):
        build_diagram(bundle_root / NAME, "graphviz")
