"""`drgen review --out`: the review of a committed bundle written elsewhere, the bundle left as committed (the
README's examples must not rewrite committed files)."""

from __future__ import annotations

import hashlib

from click.testing import CliRunner

from drgen.main import cli
from drgen.render import render, write_bundles
from drgen.scenario import load


def _digests(directory):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_review_out_writes_elsewhere_and_leaves_the_bundle_untouched(tmp_path):
    [bundle] = write_bundles([render(load("database-dr", suffix="o"))], tmp_path / "bundles")
    before = _digests(bundle)
    result = CliRunner().invoke(cli, ["review", str(bundle), "--no-scan", "--out", str(tmp_path / "review")])
    assert result.exit_code == 0, result.output
    assert _digests(bundle) == before
    written = tmp_path / "review" / "database-dr"
    assert (written / "REVIEW.md").read_text().startswith("# ") and (written / "review.html").is_file()
