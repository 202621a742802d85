"""Errors the CLI turns into exit codes: a DrgenError is the user's to fix (exit 2)."""


class DrgenError(Exception):
    """A problem with the user's input: one line naming it and what to do."""


class ScenarioError(DrgenError):
    """The scenario (preset, YAML file, suffix) is invalid."""


class LintFailed(Exception):
    """Rendered templates have lint findings (exit 1)."""
