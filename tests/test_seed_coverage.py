"""docs/seed-coverage.md cannot rot silently: every seed line is mapped, and every citation points at something real.

The page maps each requirement bullet of each seed to the rendered resources (a template path in backticks followed
by logical ids or output names in backticks) or says why it is done differently. These tests fail when a seed line
is missing from its preset's section, when a cited name no longer exists in the committed template, when a cited
repository path is gone, or when a partial/gap row is not listed under its section's Gaps.

The seeds live outside the repository (``../shared/seeds`` next to the checkout, or ``$DRGEN_SEEDS_DIR``); the
seed-line test is skipped when they are not there, the citation tests never are.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from drgen.scenario import PRESETS

from .conftest import REPO

DOC = REPO / "docs" / "seed-coverage.md"
SECTIONS = (
    "Core Requirements",
    "Technical Requirements",
    "Deployment Requirements",
    "Constraints",
    "Success Criteria",
    "What to deliver",
    "Optional Enhancements",
)
STATUSES = {"rendered", "built", "differently", "partial", "gap"}
CITATION = re.compile(r"`(templates_out/[\w-]+/templates/\w+\.json)`((?:[ \t]+`\w+`)+)")
NAME = re.compile(r"`(\w+)`")
REPO_PATH = re.compile(r"`((?:drgen|lambda|tests|docs|examples|templates_out)/[^`\s<>]*|README\.md|Makefile)`")
ROW = re.compile(r"^\| (\d{3}-\d{2}) \| .* \| (\w+) \| .* \|$", re.MULTILINE)


def seeds_dir() -> Path:
    return Path(os.environ.get("DRGEN_SEEDS_DIR", REPO.parent / "shared" / "seeds"))


def normalised(text: str) -> str:
    """Lower-case words only: markdown emphasis, backticks and punctuation do not matter."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def seed_lines(path: Path) -> list[str]:
    """The bullets under the requirement sections of one seed, in order."""
    lines: list[str] = []
    inside = False
    for line in path.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"#{2,4}\s+(.*)", line)
        if heading:
            inside = heading.group(1).strip().startswith(SECTIONS)
        elif inside and (bullet := re.match(r"\s*-\s+(.*\S)", line)):
            lines.append(bullet.group(1))
    return lines


@cache
def doc_sections() -> dict[str, str]:
    """The page split at its ``## <preset> (seed ...)`` headings, keyed by preset name."""
    parts = re.split(r"^## ", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE)[1:]
    return {part.split(" ", 1)[0]: part for part in parts}


@cache
def rendered(path: str) -> dict[str, Any]:
    return json.loads((REPO / path).read_text(encoding="utf-8"))


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_the_page_has_a_section_per_preset_naming_its_seed(preset):
    section = doc_sections().get(preset)
    assert section is not None, f"no '## {preset}' section in {DOC.name}"
    assert f"(seed `{PRESETS[preset].seed}`)" in section.splitlines()[0]


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_seed_line_is_mapped_in_its_presets_section(preset):
    seed = seeds_dir() / PRESETS[preset].seed
    if not seed.is_file():
        pytest.skip(f"seed {seed} not found (set DRGEN_SEEDS_DIR)")
    lines = seed_lines(seed)
    assert len(lines) > 50, f"{seed.name}: the seed parser found only {len(lines)} lines"
    section = normalised(doc_sections()[preset])
    missing = [line for line in lines if normalised(line) not in section]
    assert not missing, f"{preset}: seed lines not in {DOC.name}: {missing}"


def test_every_cited_name_exists_in_the_rendered_template():
    citations = CITATION.findall(DOC.read_text(encoding="utf-8"))
    assert len(citations) > 300
    missing = set()
    for path, names in citations:
        doc = rendered(path)
        known = doc.get("Resources", {}).keys() | doc.get("Outputs", {}).keys()
        missing |= {f"{path} {name}" for name in NAME.findall(names) if name not in known}
    assert not missing, f"cited but not in the rendered template: {sorted(missing)}"


def test_every_cited_repository_path_exists():
    paths = set(REPO_PATH.findall(DOC.read_text(encoding="utf-8")))
    assert len(paths) > 20
    assert not sorted(p for p in paths if not (REPO / p).exists())


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_rows_have_a_known_status_and_every_partial_or_gap_row_is_listed_under_gaps(preset):
    section = doc_sections()[preset]
    table, _, gaps = section.partition(f"### Gaps: {preset}")
    rows = ROW.findall(table)
    assert rows
    assert {status for _, status in rows} <= STATUSES
    open_rows = {row for row, status in rows if status in ("partial", "gap")}
    listed = set(re.findall(r"^- \*\*(\d{3}-\d{2})\*\*", gaps, flags=re.MULTILINE))
    assert listed == open_rows


def test_every_budget_figure_quoted_is_the_committed_budget():
    """A row that quotes `drgen budget` ("N s against M s") quotes what the committed budget.json says."""
    quoted = re.findall(r"\(`templates_out/([\w-]+)/budget\.json`\): (\d+) s against (\d+) s", DOC.read_text())
    assert quoted
    for scenario, seconds, objective in quoted:
        budget = json.loads((REPO / "templates_out" / scenario / "budget.json").read_text())
        assert (int(seconds), int(objective)) == (budget["rto"]["seconds"], budget["rto"]["objective_seconds"])
