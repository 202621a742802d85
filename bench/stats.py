"""Figures (several runs of one measurement) and targets, and how they are shown."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Figure:
    """One measured quantity: every run's value, summarised as min / median / max."""

    name: str
    unit: str
    runs: list[float] = field(default_factory=list)

    @property
    def low(self) -> float:
        return min(self.runs)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def high(self) -> float:
        return max(self.runs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "min": self.low,
            "median": self.median,
            "max": self.high,
            "runs": self.runs,
        }


@dataclass(frozen=True)
class Target:
    """A goal from the issue: what is compared (``value``) with what (``limit``), and whether it holds."""

    name: str
    value: float
    limit: float
    unit: str
    holds: bool
    op: str = "<"
    note: str = ""

    def line(self) -> str:
        verdict = "PASS" if self.holds else "FAIL"
        unit = f" {self.unit}" if self.unit else ""
        text = f"{verdict}  {self.name}: {_number(self.value)}{unit} (target {self.op} {_number(self.limit)})"
        return text + (f"; {self.note}" if self.note else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "op": self.op,
            "limit": self.limit,
            "unit": self.unit,
            "pass": self.holds,
            "note": self.note,
        }


def below(name: str, value: float, limit: float, unit: str, note: str = "", inclusive: bool = False) -> Target:
    """A target met when ``value`` is under ``limit`` (or at it, when ``inclusive``)."""
    holds = value <= limit if inclusive else value < limit
    return Target(name, value, limit, unit, holds, "<=" if inclusive else "<", note)


def table(figures: list[Figure], fmt: Callable[[float], str] | None = None) -> list[str]:
    """Markdown rows: figure | min | median | max | runs."""
    show = fmt or _number
    rows = ["| figure | unit | min | median | max | runs |", "|---|---|---:|---:|---:|---:|"]
    for figure in figures:
        rows.append(
            f"| {figure.name} | {figure.unit} | {show(figure.low)} | {show(figure.median)} | {show(figure.high)} "
            f"| {len(figure.runs)} |"
        )
    return rows


def _number(value: float) -> str:
    if value == int(value) or abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"
