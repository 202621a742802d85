"""Errors the CLI turns into exit codes: a DrgenError is the user's to fix (exit 2), a Declined prompt exit 3."""


class DrgenError(Exception):
    """A problem with the user's input: one line naming it and what to do."""


class ScenarioError(DrgenError):
    """The scenario (preset, YAML file, suffix) is invalid."""


class LintFailed(Exception):
    """Rendered templates have lint findings (exit 1)."""


class Declined(Exception):
    """A question that guards data was answered no, or could not be asked (no terminal): nothing was changed."""


DECLINED_EXIT = 3
