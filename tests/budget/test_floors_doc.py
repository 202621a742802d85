"""docs/budget-floors.md states each budget figure as drgen/budget/figures.py has it: number, address, kind."""

from __future__ import annotations

import re

import pytest

from drgen.budget import figures
from drgen.budget.figures import Figure

from ..conftest import REPO

DOC = (REPO / "docs" / "budget-floors.md").read_text(encoding="utf-8")
FIGURES = {name: value for name, value in vars(figures).items() if isinstance(value, Figure)}


def _rows(name: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in DOC.splitlines()
        if line.startswith(f"| `{name}`")
    ]


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_figure_has_a_row_with_its_number_address_and_kind(name):
    figure = FIGURES[name]
    rows = _rows(name)
    assert rows, f"docs/budget-floors.md has no row for {name}"
    row = rows[0]
    assert figure.url in row[4]
    assert row[5] == ("estimate" if figure.estimate else "documented")
    if figure.seconds is not None:
        assert re.search(rf"\b{figure.seconds} s\b", row[2]), (name, row[2])


def test_every_row_names_a_figure_of_the_budget():
    named = set(re.findall(r"^\| `([A-Z_]+)`", DOC, flags=re.MULTILINE))
    assert named <= set(FIGURES)
