"""The Lambda boundary's names are spelled once, in lambda/drgen_common/contract.py.

Every string constant in drgen/ and lambda/ (f-strings' constant parts included, docstrings not) is held against
the contract's values: a builder, a command or a function that spells one of them as a literal instead of
importing it fails here, with file:line. Three ways to spell one:

- the whole literal is the value (``"FailoverEngaged"``, ``"CONTROL_TABLE"``);
- a segment of a JSONPath in it (``"$.confirmation.confirmed"``, a Parameters key ``"error.$"``): the state
  machine's definition addresses the steps' payload this way;
- a distinctive value inside a longer text (``"DB_NAME=${Database}"``, ``"publishes FailoverEngaged"``):
  environment variables (UPPER_SNAKE) and metric and error names (CamelCase), which mean nothing else.

Short, generic values (``"name"``, ``"error"``, ``"failover"``) are ordinary words elsewhere: each is excluded
below, with where and why, from the whole-literal check only; JSONPaths still must not spell it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from drgen_common import contract, failover

from ..conftest import REPO

CONTRACT = Path("lambda/drgen_common/contract.py")
SCANNED = ("drgen", "lambda")

# Values that are ordinary words in drgen/ and lambda/, allowed as literals anywhere, and why.
GENERIC = {
    "failover": "the function package (lambda/failover), resource and policy names, RDS's failover action",
    "mode": "botocore's retry mode, the deployment's mode (stacks or StackSets), the drill report's mode",
    "error": "every result and JSON output (lint findings, preflight, the functions' own results, HTTP bodies)",
    "reason": "every result that explains itself (deploy records, the probe's and scale step's results)",
    "status": "HTTP answers, stack and export statuses, every JSON output",
    "name": "every named thing drgen reports (stacks, checks, terms)",
    "ok": "every pass/fail result (preflight, evidence, the DNS step's and return replication's results)",
    "detail": "every check's explanation, and EventBridge patterns' ``detail``",
    "id": "ids of dashboard metrics, DynamoDB items, findings and ASL states",
    "dr": "the DR role's short name in drgen (lint rules, stability, dashboard labels)",
    "primary": "Role.PRIMARY's value and every per-role mapping in drgen",
    "ecs": "boto3's ECS client and the scenario's compute kind",
}
# Values allowed as literals only in these files, where they mean something else.
ELSEWHERE = {
    "asg": ("the image check's compute kind", {"drgen/preflight/images.py"}),
    "checks": ("`drgen readiness --output json`'s own fields", {"drgen/commands/operate.py"}),
    "ready": ("`drgen readiness`'s own verdict", {"drgen/commands/operate.py"}),
    "waiting": ("a stack's deploy progress state", {"drgen/deploy/progress.py"}),
    "execution": (
        "the execution's name in drgen's outputs",
        {"drgen/commands/operate.py", "drgen/operate/failover.py"},
    ),
    "planned": (
        "drgen's planned/unplanned labels and the promote step's own result",
        {
            "drgen/commands/operate.py",
            "drgen/operate/drill.py",
            "drgen/operate/drill_report.py",
            "drgen/operate/execution.py",
            "lambda/failover/promote.py",
        },
    ),
    "failback": (
        "a trigger rule's target id, the drill's phase and the `drgen failback` command's name",
        {"drgen/builders/events.py", "drgen/operate/drill.py", "drgen/main.py"},
    ),
    "dns": (
        "the validation's check name, an RTO branch and a Region switch step",
        {"lambda/failover/validate.py", "drgen/budget/rto.py", "drgen/builders/arc_plan.py"},
    ),
    "writer": (
        "the promotion's and lag monitor's own results, the validation's check name, an RTO branch",
        {
            "lambda/failover/promote.py",
            "lambda/failover/validate.py",
            "lambda/lag_monitor/app.py",
            "drgen/budget/rto.py",
        },
    ),
    "database": (
        "the confirm step's signal and a Region switch step",
        {"lambda/failover/confirm.py", "drgen/builders/arc_plan.py"},
    ),
    "since": (
        "a confirm signal's start and the replay's window",
        {"lambda/failover/confirm.py", "lambda/failover/replay.py"},
    ),
    "to": ("a returned bucket's destination", {"lambda/failover/returns.py"}),
    "primary-probe": ("the probe function's catalogue key, a name of the function", {"drgen/lambda_functions.py"}),
}
DISTINCTIVE = re.compile(r"^(?:[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)+)$")
JSONPATH = re.compile(r"\$\$?(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


def contract_values() -> dict[str, set[str]]:
    """Each value the contract defines, with the names that hold it (module constants, dict values, tuples)."""
    found: dict[str, set[str]] = {}
    for name, value in vars(contract).items():
        if not name.isupper():
            continue
        items = value.values() if isinstance(value, dict) else value if isinstance(value, tuple) else (value,)
        for item in items:
            if isinstance(item, str):
                found.setdefault(item, set()).add(name)
    return found


def _docstrings(tree: ast.Module) -> set[int]:
    nodes = [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef))]
    return {
        id(node.body[0].value)
        for node in nodes
        if node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }


def spellings(source: str, path: str, values: dict[str, set[str]]) -> Iterator[str]:
    """``path:line: how`` for each contract value ``source`` spells as a literal."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    distinctive = [v for v in values if DISTINCTIVE.match(v)]
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str) or id(node) in docstrings:
            continue
        text, where = node.value, f"{path}:{node.lineno}"
        if text in values and text not in GENERIC and path not in ELSEWHERE.get(text, ("", set()))[1]:
            yield f"{where}: {text!r} is contract.{'/'.join(sorted(values[text]))}"
        paths = JSONPATH.findall(text) + ([text.removesuffix(".$")] if text.endswith(".$") else [])
        for segment in {s for p in paths for s in p.lstrip("$").split(".") if s in values}:
            yield f"{where}: {text!r} spells {segment!r} (contract.{'/'.join(sorted(values[segment]))}) in a path"
        for value in distinctive:
            if value != text and re.search(rf"(?<![A-Za-z0-9_]){re.escape(value)}(?![A-Za-z0-9_])", text):
                yield f"{where}: {text!r} spells {value!r} (contract.{'/'.join(sorted(values[value]))})"


def _sources() -> Iterator[Path]:
    for top in SCANNED:
        for path in sorted((REPO / top).rglob("*.py")):
            if path.relative_to(REPO) != CONTRACT and "__pycache__" not in path.parts:
                yield path


def test_no_builder_command_or_function_spells_a_contract_name():
    values = contract_values()
    found = [
        finding
        for path in _sources()
        for finding in spellings(path.read_text(encoding="utf-8"), path.relative_to(REPO).as_posix(), values)
    ]
    assert not found, "import these from drgen_common.contract (drgen: drgen.lambda_code):\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("source", "spelled"),
    [
        ('METRIC = "FailoverEngaged"', "'FailoverEngaged' is contract.FAILOVER_ENGAGED"),
        ('env = {"CONTROL_TABLE": table}', "'CONTROL_TABLE' is contract.CONTROL_TABLE"),
        ('choice = {"Variable": "$.promotion_status.promoted"}', "spells 'promoted' (contract.PROMOTED) in a path"),
        ('parameters = {"error.$": path}', "spells 'error' (contract.ERROR) in a path"),
        ('user_data = f"DB_NAME={name}\\n"', "spells 'DB_NAME' (contract.DB_NAME)"),
        ('raise ValueError("ReplicationLagError, retried")', "spells 'ReplicationLagError'"),
    ],
)
def test_the_check_finds_each_way_of_spelling_a_name(source, spelled):
    (finding,) = spellings(source, "drgen/builders/example.py", contract_values())
    assert finding.startswith("drgen/builders/example.py:1: ") and spelled in finding


def test_the_check_lets_docstrings_and_generic_words_be():
    source = '"""Publishes FailoverEngaged to METRICS_NAMESPACE."""\nresult = {"name": "dns", "ok": True}\n'
    assert list(spellings(source, "lambda/failover/validate.py", contract_values())) == []
    assert list(spellings('result = {"dns": 1}', "lambda/failover/notify.py", contract_values()))


def test_every_exclusion_is_a_contract_value_still_spelled_where_it_says():
    """An exclusion outlives its reason unnoticed otherwise."""
    values = contract_values()
    assert set(GENERIC) | set(ELSEWHERE) <= set(values)
    literals: dict[str, set[str]] = {}
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                literals.setdefault(node.value, set()).add(path.relative_to(REPO).as_posix())
    for value, (_, files) in ELSEWHERE.items():
        assert files <= literals.get(value, set()), f"{value!r} is no longer spelled in {files - literals[value]}"
    assert all(literals.get(value) for value in GENERIC)


def test_each_refusal_is_the_name_of_the_guards_exception():
    """Lambda reports an exception's class name as the error the state machine's Retry and Catch match."""
    raised = {cls.__name__ for cls in failover.RefusedError.__subclasses__()}
    assert raised == set(contract.REFUSALS) and set(contract.QUIET_REFUSALS) < raised
