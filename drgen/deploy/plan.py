"""The plan as plain data: the graph's waves, what each stack needs, and what a change set would do.

Nothing here talks to AWS. The deployer fills a ``Plan`` from describe calls and change sets, ``drgen plan``
prints it, and the executor walks the same graph.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from drgen.bundle.catalogue import STATEFUL_TYPES
from drgen.bundle.manifest import StackEntry
from drgen.errors import DrgenError

# A stateful type (drgen/bundle/catalogue.py) is never replaced or removed without --allow-replace.


class Decision(enum.StrEnum):
    """What a stack's current state calls for before its change set."""

    CREATE = "create"
    UPDATE = "update"
    RECREATE = "recreate"  # a first create failed (ROLLBACK_COMPLETE): delete the empty stack, create again
    DISCARD_REVIEW = "discard-review"  # a create change set was never executed: delete the empty stack, create
    CONTINUE_ROLLBACK = "continue-rollback"  # UPDATE_ROLLBACK_FAILED: continue the rollback, then update
    WAIT = "wait"  # another operation is running: wait for it to settle, then decide again
    BLOCKED = "blocked"  # needs a human (DELETE_FAILED, ...)


FAILED_FIRST_CREATE = frozenset({"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED"})
# Those that may still hold resources: ROLLBACK_COMPLETE does not ("Any resources that were created during the
# create stack operation are deleted", stack status codes, view-stack-events.html).
LEFT_RESOURCES = FAILED_FIRST_CREATE - {"ROLLBACK_COMPLETE"}
RECREATE_ADVICE = "a first create failed; rerun with --yes to delete and recreate it"  # Decision.RECREATE, not agreed


def decide(status: str | None, sandbox: bool = False) -> Decision:
    """The decision for a stack in ``status`` (None: no such stack).

    moto never finishes a failed create (the stack stays ``*_IN_PROGRESS``), so in the sandbox an
    in-progress stack is a failed first create.
    """
    if status is None or status == "DELETE_COMPLETE":
        return Decision.CREATE
    if status == "REVIEW_IN_PROGRESS":
        return Decision.DISCARD_REVIEW
    if status in FAILED_FIRST_CREATE or (sandbox and status == "CREATE_IN_PROGRESS"):
        return Decision.RECREATE
    if status == "UPDATE_ROLLBACK_FAILED":
        return Decision.CONTINUE_ROLLBACK
    if status.endswith("_IN_PROGRESS"):
        return Decision.WAIT
    if status.endswith("_COMPLETE"):
        return Decision.UPDATE
    return Decision.BLOCKED


def stack_name(stack_id: str) -> str:
    """The name in a stack's ARN (``arn:...:stack/NAME/uuid``), for the commands a message suggests."""
    parts = stack_id.split("/")
    return parts[1] if len(parts) == 3 else stack_id


def blocked_advice(stack_id: str, region: str, status: str) -> str:
    """What to do about a stack whose status takes no update (``Decision.BLOCKED``), as AWS documents it."""
    where = f"--stack-name {stack_name(stack_id)} --region {region}"
    if status == "DELETE_FAILED":
        # Stack status codes (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html):
        # DELETE_FAILED "you can't work with or update the stack. Delete the stack again or view the stack events".
        return (
            f"its delete failed and it takes no update: see its events, then delete it again "
            f"(`aws cloudformation delete-stack {where}`, or `drgen destroy` for the whole scenario) and rerun"
        )
    if status == "UPDATE_FAILED":
        # RollbackStack (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_RollbackStack.html):
        # "Rolls back the specified stack to the last known stable state from CREATE_FAILED or UPDATE_FAILED".
        return f"an update failed with rollback disabled: `aws cloudformation rollback-stack {where}`, then rerun"
    return (
        f"it takes no update: see its events (`aws cloudformation describe-stack-events {where}`), "
        "bring it to a *_COMPLETE status or delete it, then rerun"
    )


@dataclass(frozen=True)
class Change:
    """One resource change of a change set."""

    action: str  # Add | Modify | Remove | Import | Dynamic
    logical_id: str
    resource_type: str
    replacement: str | None = None  # True | False | Conditional (absent in moto)

    @property
    def destructive(self) -> bool:
        """Loses data: a stateful resource is removed, or (maybe) replaced."""
        if self.resource_type not in STATEFUL_TYPES:
            return False
        return self.action == "Remove" or self.replacement in ("True", "Conditional")

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "logical_id": self.logical_id,
            "type": self.resource_type,
            "replacement": self.replacement,
            "destructive": self.destructive,
        }


@dataclass(frozen=True)
class StackPlan:
    """One stack (or stack-set instance) of the plan: its state, the decision, and the changes if known."""

    entry: StackEntry
    wave: int
    status: str | None = None
    decision: Decision | None = None  # None: unknown (no AWS access)
    stack_id: str | None = None  # the deployed stack (or stack set instance's stack), when there is one
    changes: tuple[Change, ...] | None = None  # None: not computed (no credentials, or inputs not deployed yet)
    note: str = ""

    @property
    def destructive(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes or () if c.destructive)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.entry.name,
            "region": self.entry.region,
            "layer": self.entry.layer,
            "wave": self.wave,
            "depends_on": list(self.entry.depends_on),
            "status": self.status,
            "decision": self.decision.value if self.decision else None,
            "changes": None if self.changes is None else [c.to_dict() for c in self.changes],
            "note": self.note,
        }


@dataclass(frozen=True)
class Plan:
    scenario: str
    suffix: str
    mode: str
    stacks: tuple[StackPlan, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "suffix": self.suffix,
            "mode": self.mode,
            "waves": [[s.entry.name for s in self.stacks if s.wave == w] for w in range(self.wave_count)],
            "stacks": [s.to_dict() for s in self.stacks],
        }

    @property
    def wave_count(self) -> int:
        return max((s.wave for s in self.stacks), default=-1) + 1


def graph_only(scenario: str, suffix: str, mode: str, entries: Sequence[StackEntry]) -> Plan:
    """The plan without AWS access: the graph and its waves, nothing about the stacks' state."""
    waves = wave_numbers(entries)
    return Plan(scenario, suffix, mode, tuple(StackPlan(e, waves[e.name]) for e in entries))


def wave_numbers(stacks: Sequence[StackEntry]) -> dict[str, int]:
    """Each stack's wave: 0 for no dependencies, else one more than its latest dependency.

    Stacks of one wave can run together; the executor starts each as soon as its own dependencies are done,
    which is never later than its wave. Dependencies outside ``stacks`` (``--only``) count as done.
    """
    by_name = {e.name: e for e in stacks}
    waves: dict[str, int] = {}

    def wave(name: str) -> int:
        if name not in waves:
            deps = [d for d in by_name[name].depends_on if d in by_name]
            waves[name] = 1 + max((wave(d) for d in deps), default=-1)
        return waves[name]

    for entry in stacks:
        wave(entry.name)
    return waves


def dependencies(stacks: Sequence[StackEntry]) -> dict[str, tuple[str, ...]]:
    """Forward edges within ``stacks``: a stack waits for these."""
    names = {e.name for e in stacks}
    return {e.name: tuple(d for d in e.depends_on if d in names) for e in stacks}


def dependents(stacks: Sequence[StackEntry]) -> dict[str, tuple[str, ...]]:
    """Reverse edges, for destroy: a stack goes only after every stack that depends on it is gone."""
    reverse: dict[str, list[str]] = {e.name: [] for e in stacks}
    for name, deps in dependencies(stacks).items():
        for dep in deps:
            reverse[dep].append(name)
    return {name: tuple(sorted(users)) for name, users in reverse.items()}


def select(stacks: Sequence[StackEntry], only: str | None) -> tuple[StackEntry, ...]:
    """Every stack, or just ``--only NAME`` (its dependencies must already be deployed)."""
    if only is None:
        return tuple(stacks)
    chosen = tuple(e for e in stacks if e.name == only)
    if not chosen:
        known = ", ".join(e.name for e in stacks)
        raise DrgenError(f"--only {only}: no such stack; choose one of: {known}")
    return chosen
