"""Which stores the RPO objective is held against: the transactional ones, not replicated files."""

from __future__ import annotations

from drgen.budget import budget_for_bundle
from drgen.render import render
from drgen.scenario import load


def test_bucket_replication_is_reported_but_not_held_against_the_rpo():
    budget = budget_for_bundle(render(load("trading-ecs", suffix="dev")).files)
    rpo = budget["rpo"]
    buckets = [t for t in rpo["terms"] if t["name"].startswith("S3 ")]
    assert buckets and all(t["seconds"] == 900 and t["counted"] is False for t in buckets)
    # Aurora's lag alarm at 60 s decides the verdict, not the 15-minute S3 replication time
    assert rpo["status"] == "within"
