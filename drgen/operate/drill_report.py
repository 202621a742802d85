"""The drill's report: each run's steps beside the budget's terms, the verifications, the DNS timeline."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from drgen.errors import DrgenError
from drgen.operate import failover
from drgen.operate.asl import Step
from drgen.operate.readiness import Check

_TERM_SOURCE = re.compile(r"DefinitionString States\.(\w+)")


@dataclass
class Report:
    scenario: str
    where: str
    mode: str = "planned"
    created: list[str] = field(default_factory=list)
    standins: list[str] = field(default_factory=list)
    phases: list[tuple[str, failover.Outcome]] = field(default_factory=list)
    verifications: list[Check] = field(default_factory=list)  # what was verified, as readiness checks say it
    budget: dict[str, tuple[float | None, str]] = field(default_factory=dict)  # state -> (seconds, term name)
    deploy_seconds: float = 0.0
    # run -> (seconds after its DNS step, Route 53's answer by the model)
    timelines: dict[str, list[tuple[float, Any]]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(o.ok for _, o in self.phases) and all(v.ok for v in self.verifications)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "where": self.where,
            "mode": self.mode,
            "passed": self.ok,
            "deploy_seconds": round(self.deploy_seconds, 2),
            "created_through_apis": self.created,
            "stand_ins": self.standins,
            "runs": [
                {
                    "phase": phase,
                    **outcome.to_dict(),
                    "budget": {s.state: self.budget.get(s.state, (None, ""))[0] for s in _steps(outcome)},
                }
                for phase, outcome in self.phases
            ],
            "verified": [v.to_dict() for v in self.verifications],
            "dns_timeline": {
                run: [
                    {"after_dns_step_seconds": offset, "answer": moment.answer, "target": moment.target}
                    for offset, moment in samples
                ]
                for run, samples in self.timelines.items()
            },
        }


def _steps(outcome: failover.Outcome) -> list[Step]:
    return outcome.run.steps if outcome.run else []


# -- the budget column ----------------------------------------------------------------------------------------
def budget_terms(files: dict[str, bytes]) -> dict[str, tuple[float | None, str]]:
    """The budget's RTO term for each state of the failover machine, matched by the property it reads."""
    try:
        from drgen.budget import budget_for_bundle

        terms = budget_for_bundle(files)["rto"]["terms"]
    except (ImportError, DrgenError, KeyError, ValueError, StopIteration):
        return {}  # the column stays empty; the drill itself does not depend on the budget
    found: dict[str, tuple[float | None, str]] = {}
    for term in terms:
        match = _TERM_SOURCE.search(str(term.get("source", {}).get("property", "")))
        if match:
            found[match[1]] = (term.get("seconds"), str(term.get("name", "")))
    return found
