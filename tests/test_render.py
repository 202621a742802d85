"""Rendering: the manifest's graph and fields, determinism, atomic writes, the committed bundles."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from drgen.bundle.manifest import MANIFEST
from drgen.errors import DrgenError
from drgen.packaging import ARTIFACT_BUCKET_PARAMETER
from drgen.render import TEMPLATE_DIR, render, write_bundles
from drgen.scenario import PRESETS, load

from .conftest import REPO, stack, template

STACK_FIELDS = {"name", "layer", "region", "role", "template", "sha256", "depends_on", "parameters", "inputs", "tags"}
REVIEWED = (".json", ".md", ".html")  # what templates_out/ commits; the Lambda zips are build output (git-ignored)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_rendering_twice_gives_identical_bytes(name):
    first = render(load(name, suffix="dev"))
    second = render(load(name, suffix="dev"))
    assert first.files == second.files


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_committed_bundle_matches_a_fresh_render(name, bundles):
    """templates_out/ is what the change board reviews: it must be exactly what drgen renders today."""
    bundle_dir = REPO / "templates_out" / name
    committed = {
        str(p.relative_to(bundle_dir)): p.read_bytes()
        for p in sorted(bundle_dir.rglob("*"))
        if p.is_file() and p.suffix in REVIEWED
    }
    fresh = {path: data for path, data in bundles[name].files.items() if path.endswith(REVIEWED)}
    stale = sorted(p for p in fresh if committed.get(p) != fresh[p])
    assert not stale, f"templates_out/{name} is stale; run `make render` and commit: {stale}"


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_manifest_lists_every_stack_with_its_fields(name, bundles):
    bundle = bundles[name]
    manifest = json.loads(bundle.files[MANIFEST])
    s = PRESETS[name]
    assert manifest["scenario"] == name and manifest["suffix"] == "dev"
    regions = {"primary": s.regions.primary, "secondary": s.regions.secondary, "global": "us-east-1"}
    assert manifest["regions"] == regions
    assert manifest["objectives"] == {"rto_seconds": s.objectives.rto_seconds, "rpo_seconds": s.objectives.rpo_seconds}
    names = [st["name"] for st in manifest["stacks"]]
    assert len(names) == len(set(names))
    for st in manifest["stacks"]:
        assert set(st) == STACK_FIELDS
        assert hashlib.sha256(bundle.files[st["template"]]).hexdigest() == st["sha256"]
        expected_region = {"primary": s.regions.primary, "secondary": s.regions.secondary, "global": "us-east-1"}
        assert st["region"] == expected_region[st["role"]]
        assert st["name"].endswith("-dev")


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_manifest_order_respects_dependencies_and_cross_region_ordering(name, bundles):
    bundle = bundles[name]
    position = {st.name: i for i, st in enumerate(bundle.stacks)}
    for st in bundle.stacks:
        assert all(position[d] < position[st.name] for d in st.depends_on), st.name

    def before(a, b):
        return position[stack(bundle, *a).name] < position[stack(bundle, *b).name]

    # DR buckets (replication destinations) and the DR key exist before the primary's foundation
    assert stack(bundle, "foundation", "secondary").name in stack(bundle, "foundation", "primary").depends_on
    # the secondary cluster joins the global cluster the primary's data stack creates
    assert stack(bundle, "data", "primary").name in stack(bundle, "data", "secondary").depends_on
    assert before(("data", "secondary"), ("global", "global"))


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_input_names_an_upstream_output_that_exists(name, bundles):
    bundle = bundles[name]
    by_name = {st.name: st for st in bundle.stacks}
    # The one value no stack outputs and render cannot know: the deployer's artifact bucket in each region.
    manifest = json.loads(bundle.files[MANIFEST])
    deployer_fed = {ARTIFACT_BUCKET_PARAMETER} if manifest["artifacts"] else set()
    # ... and the existing hosted zone, when the scenario names it by its domain: deploy finds it (deploy/zone.py).
    zone = manifest["deployment"]["zone"]
    if not zone["create"] and zone["id"] is None:
        deployer_fed.add("HostedZoneId")
    for st in bundle.stacks:
        params = template(bundle, st.layer).get("Parameters", {})
        for parameter, source in st.inputs.items():
            assert parameter in params
            upstream = by_name[source["stack"]]
            assert source["stack"] in st.depends_on
            assert source["region"] == upstream.region
            assert source["output"] in template(bundle, upstream.layer)["Outputs"], (st.name, parameter)
        # every parameter without a default is given, at render time or from an upstream output
        for parameter, spec in params.items():
            if "Default" not in spec:
                assert parameter in st.parameters or parameter in st.inputs or parameter in deployer_fed, (
                    st.name,
                    parameter,
                )


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_one_regional_template_serves_both_roles(name, bundles):
    bundle = bundles[name]
    s = PRESETS[name]
    regional = [f.removeprefix(f"{TEMPLATE_DIR}/").removesuffix(".json") for f in bundle.template_regions]
    regional = [
        layer for layer in regional if any(st.layer == layer and st.role.value == "primary" for st in bundle.stacks)
    ]
    assert {"foundation", "data", "app", "orchestration"} <= set(regional)
    for layer in regional:
        primary, secondary = stack(bundle, layer, "primary"), stack(bundle, layer, "secondary")
        assert primary.template == secondary.template
        assert primary.parameters["Role"] == "primary" and secondary.parameters["Role"] == "secondary"
        assert primary.parameters["PeerRegion"] == s.regions.secondary
        assert secondary.parameters["PeerRegion"] == s.regions.primary
        body = bundle.files[primary.template].decode()
        for region in (s.regions.primary, s.regions.secondary):
            assert f'"{region}"' not in body, f"{layer} template hard-codes {region}"


def test_stack_tags_resolve_placeholders(bundles):
    bundle = bundles["trading-ecs"]
    st = stack(bundle, "data", "secondary")
    assert st.tags["Region"] == "eu-west-2" and st.tags["DR-Role"] == "secondary" and st.tags["Environment"] == "dev"


@pytest.mark.parametrize("failing_call", [2, 3])
def test_write_is_atomic_when_a_write_fails(tmp_path, monkeypatch, bundles, failing_call):
    out = tmp_path / "out"
    write_bundles([bundles["database-dr"]], out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    calls = {"n": 0}
    real = os.replace

    def flaky_replace(src, dst):
        calls["n"] += 1
        if calls["n"] == failing_call:  # moving the old bundle aside, or the new one in, fails
            raise OSError("disk full")
        return real(src, dst)

    monkeypatch.setattr("drgen.render.os.replace", flaky_replace)
    changed = render(load("database-dr", suffix="other"))
    with pytest.raises(DrgenError, match=r"cannot write the bundles to .*: disk full; choose another --out"):
        write_bundles([bundles["trading-ecs"], changed], out)
    monkeypatch.undo()
    assert {p: p.read_bytes() for p in (out / "database-dr").rglob("*") if p.is_file()} == before
    assert not list(out.glob(".render-tmp-*"))
