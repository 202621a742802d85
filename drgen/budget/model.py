"""Terms, their sums and the verdict against an objective.

A term is one contribution to the RTO (a delay) or to the RPO (data a store can lose), with its source in the
bundle and, when AWS's behaviour is the term, the documented figure. ``floor`` is the least the term can be
by changing the settings named in ``setting`` (equal to ``seconds`` when no setting changes it; ``limit``
says why not). RTO terms add up phase after phase; within a phase, terms on different ``branch``es run at the
same time and the phase lasts as long as its longest branch. RPO terms are per data store: the worst one is
the RPO.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from drgen.budget.figures import ALIAS_TTL, RECORD_TTL, Figure

DNS_CACHE = (ALIAS_TTL, RECORD_TTL)  # the terms for resolvers' caches
WITHIN = "within"
EXCEEDS = "exceeds"
UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class Term:
    phase: str
    name: str
    seconds: int | float | None  # None: no bound at all
    formula: str
    source: dict[str, str]
    aws: Figure | None = None
    floor: int | float | None = None  # None: the same as seconds
    setting: str = ""
    limit: str = ""
    branch: str = ""
    # False for stores the objective does not cover (replicated files): reported, not compared.
    counted: bool = True

    @property
    def least(self) -> int | float | None:
        return self.seconds if self.floor is None else self.floor

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "phase": self.phase,
            "name": self.name,
            "seconds": self.seconds,
            "formula": self.formula,
            "source": self.source,
            "floor_seconds": self.least,
            "counted": self.counted,
        }
        for key, value in (("setting", self.setting), ("limit", self.limit), ("branch", self.branch)):
            if value:
                data[key] = value
        if self.aws is not None:
            data["aws"] = self.aws.to_dict()
        return data


def rto_total(terms: Sequence[Term], value: Callable[[Term], int | float | None] = lambda t: t.seconds) -> float:
    """Phases in order; a phase lasts as long as its longest branch."""
    phases: dict[str, dict[str, float]] = {}
    for term in terms:
        seconds = value(term)
        branches = phases.setdefault(term.phase, {})
        branches[term.branch] = branches.get(term.branch, 0) + (float("inf") if seconds is None else seconds)
    return sum(max(branches.values()) for branches in phases.values())


def rto_verdict(terms: Sequence[Term], objective: int) -> tuple[str, list[str]]:
    """Within, exceeds (and the settings that would bring it within) or unreachable (and why)."""
    total = rto_total(terms)
    if total <= objective:
        return WITHIN, []
    floor = rto_total(terms, lambda t: t.least)
    if floor > objective:
        return UNREACHABLE, _unreachable_rto(terms, objective, floor)
    changed, current = [], list(terms)
    for index in sorted(range(len(terms)), key=lambda i: (terms[i].least or 0) - (terms[i].seconds or 0)):
        term = terms[index]
        if rto_total(current) <= objective:
            break
        if term.least == term.seconds:
            continue
        current[index] = replace(term, seconds=term.least)
        changed.append(_change(term))
    return EXCEEDS, [
        f"the budget is {_s(total)} against an RTO of {_s(objective)}; these settings bring it to "
        f"{_s(rto_total(current))}:",
        *changed,
    ]


def _unreachable_rto(terms: Sequence[Term], objective: int, floor: float) -> list[str]:
    findings = [
        f"cannot be met as written: even with every setting at its least the budget is {_s(floor)} against an "
        f"RTO of {_s(objective)}"
    ]
    detect_dns = [t for t in terms if t.phase == "detect" or t.aws in DNS_CACHE]
    current = rto_total(detect_dns)
    if current > objective:
        findings.append(
            f"detection and DNS alone take {_s(current)} ("
            + " + ".join(f"{t.name} {_s(t.seconds)}" for t in detect_dns)
            + f"), {_s(rto_total(detect_dns, lambda t: t.least))} at least"
        )
    findings += [_change(t) for t in terms if t.least != t.seconds]
    findings += [f"{t.name} ({_s(t.least)}): {t.limit}" for t in terms if t.limit and (t.least or 0) >= 30]
    return findings


def _change(term: Term) -> str:
    return f"{term.name}: {term.setting} ({_s(term.seconds)} -> {_s(term.least)})"


def rpo_verdict(terms: Sequence[Term], objective: int) -> tuple[str, list[str]]:
    """Each store against the objective: the settings that fix one, or why none can."""
    status, findings = WITHIN, []
    for term in terms:
        if not term.counted or (term.seconds is not None and term.seconds <= objective):
            continue
        if term.least is not None and term.least <= objective:
            status = UNREACHABLE if status == UNREACHABLE else EXCEEDS
            findings.append(f"{term.name} ({_s(term.seconds)} > {_s(objective)}): {term.setting}")
        else:
            status = UNREACHABLE
            findings.append(
                f"{term.name} ({_s(term.seconds)} > {_s(objective)}) cannot be met as written: {term.limit}"
            )
    return status, findings


def rpo_worst(terms: Sequence[Term]) -> float | None:
    counted = [t for t in terms if t.counted]
    if any(t.seconds is None for t in counted):
        return None
    return max((t.seconds for t in counted if t.seconds is not None), default=0)


def _s(seconds: float | None) -> str:
    if seconds is None or seconds == float("inf"):
        return "unbounded"
    return f"{seconds:g} s"
