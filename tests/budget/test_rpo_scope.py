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


def test_the_budget_lists_what_the_failover_path_needs_and_from_where():
    budget = budget_for_bundle(render(load("database-dr", suffix="dev")).files)
    path = budget["failover_path"]
    assert path["from_primary_region"] == []  # static stability: nothing on the failover path needs the primary
    # most calls are served in the DR region; the primary (us-east-1 here) appears only for failback, for the
    # Route 53 control plane (the second way to shift DNS) and for the best-effort return replication
    assert max(path["needs_by_region"], key=path["needs_by_region"].get) == "dr (eu-west-1)"
    primary = [place for place in path["needs_by_region"] if place.startswith("primary")]
    explained = ("failback only)", "switchover only)", "second way)", "best effort)")
    assert primary and all(p.endswith(explained) for p in primary)
