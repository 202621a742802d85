"""The questions that guard data: asked on the terminal, skipped with --yes, never answered by default.

A question that is declined, or cannot be asked because nothing answers it (no terminal, stdin closed, as in
CI), raises Declined: exit status 3, distinct from a failed stack (1) and bad input (2), and nothing changed.
"""

from __future__ import annotations

import click

from drgen.errors import Declined


def ask(question: str, *, yes: bool, skip_with: str = "--yes") -> None:
    """Go on only if the operator answers yes (or passed ``skip_with``, which ``yes`` says)."""
    if yes:
        return
    try:
        agreed = click.confirm(question, default=False, err=True)
    except click.Abort:
        raise _unanswered(question, skip_with) from None
    if not agreed:
        raise Declined("declined; nothing changed")


def typed(expected: str, question: str, *, yes: bool) -> None:
    """Go on only if the operator types ``expected`` (as the destroy of data asks for the scenario's name)."""
    if yes:
        return
    try:
        answer = click.prompt(f"{question} Type {expected} to confirm", default="", show_default=False, err=True)
    except click.Abort:
        raise _unanswered(question) from None
    if answer.strip() != expected:
        raise Declined(f"'{answer.strip()}' is not {expected}; declined, nothing changed")


def _unanswered(question: str, skip_with: str = "--yes") -> Declined:
    return Declined(f"{question} could not be asked (no terminal): pass {skip_with} to go ahead; nothing changed")
