"""The one reader: what it refuses (each as one line naming the file and what to do) and what it gives back."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from drgen.bundle.manifest import FORMAT, MANIFEST
from drgen.bundle.reader import changed_files, from_directory, from_files, read_manifest
from drgen.errors import DrgenError
from drgen.render import write_bundles


@pytest.fixture
def bundle_dir(bundles, tmp_path: Path) -> Path:
    [path] = write_bundles([bundles["database-dr"]], tmp_path)
    return path


def test_every_listed_file_is_read_and_matches_its_recorded_digest(bundle_dir: Path) -> None:
    bundle = from_directory(bundle_dir)
    listed = json.loads((bundle_dir / MANIFEST).read_text())
    expected = {s["template"]: s["sha256"] for s in listed["stacks"]} | {
        a["file"]: a["sha256"] for a in listed["artifacts"]
    }
    assert {p: hashlib.sha256(data).hexdigest() for p, data in bundle.files.items()} == expected
    assert [s.name for s in bundle.stacks] == [s["name"] for s in listed["stacks"]]
    assert bundle.templates["templates/data.json"] == json.loads((bundle_dir / "templates/data.json").read_text())
    assert bundle.rendered_files()[MANIFEST] == (bundle_dir / MANIFEST).read_bytes()


def test_an_edited_template_or_artifact_is_refused_by_name(bundle_dir: Path) -> None:
    (bundle_dir / "templates/app.json").write_text((bundle_dir / "templates/app.json").read_text() + " ")
    with pytest.raises(DrgenError, match=r"templates/app\.json was edited after rendering.*re-render the bundle$"):
        from_directory(bundle_dir)
    assert read_manifest(bundle_dir).scenario == "database-dr"  # lint and scan still read the manifest alone


def test_a_missing_file_is_refused_by_name(bundle_dir: Path) -> None:
    artifact = next(p for p in (bundle_dir / "functions").iterdir())
    artifact.unlink()
    with pytest.raises(DrgenError, match=rf"{artifact.name}: No such file or directory; re-render the bundle"):
        from_directory(bundle_dir)


def test_changed_files_names_each_edited_or_missing_file_with_its_digest_now(bundle_dir: Path) -> None:
    manifest = read_manifest(bundle_dir)
    templates = {s.template for s in manifest.stacks}
    assert changed_files(bundle_dir, manifest, templates) == {}
    edited = (bundle_dir / "templates/app.json").read_bytes() + b" "
    (bundle_dir / "templates/app.json").write_bytes(edited)
    (bundle_dir / "templates/data.json").unlink()
    assert changed_files(bundle_dir, manifest, templates) == {
        "templates/app.json": hashlib.sha256(edited).hexdigest(),
        "templates/data.json": None,
    }


def test_a_file_listed_with_two_digests_is_refused(bundle_dir: Path) -> None:
    listed = json.loads((bundle_dir / MANIFEST).read_text())
    _, second = (s for s in listed["stacks"] if s["template"] == "templates/app.json")
    second["sha256"] = "0" * 64  # the second region's stack claims other bytes for the same file
    (bundle_dir / MANIFEST).write_text(json.dumps(listed))
    with pytest.raises(DrgenError, match="listed with two different sha256 digests"):
        read_manifest(bundle_dir)


def test_another_format_is_refused_with_what_to_do(bundle_dir: Path) -> None:
    listed = json.loads((bundle_dir / MANIFEST).read_text())
    listed["format"] = FORMAT + 1
    (bundle_dir / MANIFEST).write_text(json.dumps(listed))
    with pytest.raises(DrgenError, match=rf"has format {FORMAT + 1}, this drgen reads format {FORMAT}; re-render"):
        from_directory(bundle_dir)


def test_a_bundle_of_another_suffix_and_a_directory_without_one(bundle_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(DrgenError, match="rendered for suffix 'dev', not 'x'; pass --suffix dev"):
        from_directory(bundle_dir, "x")
    with pytest.raises(DrgenError, match=r"holds no rendered bundle \(no manifest\.json\); run `drgen render` first"):
        from_directory(tmp_path / "empty")
    with pytest.raises(DrgenError, match=r"no manifest\.json"):
        from_files({}, "the rendered nothing")


def test_stacks_order_by_role_and_layers_by_deploy_order(bundle_dir: Path) -> None:
    bundle = from_directory(bundle_dir)
    assert [s.role for s in bundle.stacks_of("templates/data.json")] == ["primary", "secondary"]
    listed = json.loads((bundle_dir / MANIFEST).read_text())["stacks"]
    first_seen = list(dict.fromkeys(s["layer"] for s in listed))
    assert bundle.layers() == first_seen
