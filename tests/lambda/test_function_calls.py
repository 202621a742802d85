"""The catalogue's calls (drgen/lambda_functions.py ``calls``) are the AWS calls the Lambda code makes.

Lint rule E9011 checks the roles against the catalogue; this test holds the catalogue against the handlers, so
neither drifts: from each handler it follows the functions it calls (in its own module and in drgen_common) and
collects every boto3 client method it reaches, ``client.method`` where the client variable names its service
(``dynamodb``, ``secrets``...) or is built in place (``client("rds", region)``), and resolves the method to its
IAM action with botocore's service models.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name

from drgen.lambda_functions import (
    APP_HEALTH,
    BACKUP_EXPORT,
    CONNECTIVITY,
    ENGAGED_SIGNAL,
    EVENT_SOURCE_MAPPING_CALLS,
    FAILOVER_STEPS,
    LAG_MONITOR,
    LEDGER_REPLAY,
    ORDER_INTAKE,
    PROBE,
    READINESS,
    RETURN_REPLICATION,
    TRADE_PROCESSOR,
    Function,
)
from drgen.packaging import LAMBDA_ROOT

ALL = (
    *FAILOVER_STEPS,
    RETURN_REPLICATION,
    ENGAGED_SIGNAL,
    LAG_MONITOR,
    CONNECTIVITY,
    READINESS,
    PROBE,
    APP_HEALTH,
    BACKUP_EXPORT,
    TRADE_PROCESSOR,
    ORDER_INTAKE,
    LEDGER_REPLAY,
)
# What the code names its clients: the boto3 services a variable may hold.
VARIABLES = {
    "dynamodb": ("dynamodb",),
    "ssm": ("ssm",),
    "rds": ("rds",),
    "cloudwatch": ("cloudwatch",),
    "sns": ("sns",),
    "route53": ("route53",),
    "secrets": ("secretsmanager",),
    "ecs": ("ecs",),
    "sfn": ("stepfunctions",),
    "autoscaling": ("autoscaling", "application-autoscaling"),
    "events": ("events",),
    "sqs": ("sqs",),
    "s3": ("s3",),
}
IAM_PREFIX = {"stepfunctions": "states"}
# Where the IAM action is not named after the API operation
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html). SQS's batch actions have
# no permission of their own: sqs:SendMessage "sets permissions for the corresponding batch versions of the actions"
# (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-batch-api.html, and the
# table of https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html).
IAM_ACTION = {"s3:PutBucketReplication": "s3:PutReplicationConfiguration", "sqs:SendMessageBatch": "sqs:SendMessage"}
# Calls the catalogue lists that no code line makes, and why the role needs them anyway.
NOT_IN_CODE = {
    TRADE_PROCESSOR.key: set(EVENT_SOURCE_MAPPING_CALLS),
    BACKUP_EXPORT.key: {"iam:PassRole"},  # StartExportTask hands RDS the export role
    RETURN_REPLICATION.key: {"iam:PassRole"},  # PutBucketReplication hands S3 the replication role
}


@cache
def _operations(service: str) -> dict[str, str]:
    """snake_case method -> the IAM action of ``service``'s operation."""
    model = botocore.session.get_session().get_service_model(service)
    prefix = IAM_PREFIX.get(service, model.metadata.get("signingName") or service)
    return {xform_name(name): IAM_ACTION.get(f"{prefix}:{name}", f"{prefix}:{name}") for name in model.operation_names}


@cache
def _module(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _defined(tree: ast.Module) -> dict[str, ast.AST]:
    """The module's functions, and its module-level values (``CONNECTIONS = db.ConnectionCache(_connect)``)."""
    found: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            found[node.name] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value
    return found


def _imports(tree: ast.Module) -> tuple[dict[str, Path], dict[str, tuple[Path, str]]]:
    """drgen_common modules imported by name, and functions imported from them."""
    modules: dict[str, Path] = {}
    functions: dict[str, tuple[Path, str]] = {}
    shared = LAMBDA_ROOT / "drgen_common"
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "drgen_common":
            for alias in node.names:
                modules[alias.asname or alias.name] = shared / f"{alias.name}.py"
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("drgen_common."):
            path = shared / f"{node.module.split('.', 1)[1]}.py"
            for alias in node.names:
                functions[alias.asname or alias.name] = (path, alias.name)
    return modules, functions


def _client_service(node: ast.expr) -> tuple[str, ...]:
    """The services the expression a method is called on may be a client of."""
    if isinstance(node, ast.Name):
        return VARIABLES.get(node.id, ())
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if callee == "client":
            return (str(node.args[0].value),)
    return ()


def calls_of(path: Path, function: str, seen: set[tuple[Path, str]] | None = None) -> set[str]:
    """The IAM actions reachable from ``function`` of the module at ``path``."""
    seen = seen if seen is not None else set()
    if (path, function) in seen or not path.is_file():
        return set()
    seen.add((path, function))
    tree = _module(path)
    local, (modules, imported) = _defined(tree), _imports(tree)
    found: set[str] = set()
    for node in ast.walk(local[function]) if function in local else ():
        if isinstance(node, ast.Attribute):
            for service in _client_service(node.value):
                action = _operations(service).get(node.attr)
                if action:
                    found.add(action)
            if isinstance(node.value, ast.Name) and node.value.id in modules:
                found |= calls_of(modules[node.value.id], node.attr, seen)
        elif isinstance(node, ast.Name):
            if node.id in local:
                found |= calls_of(path, node.id, seen)
            elif node.id in imported:
                found |= calls_of(*imported[node.id], seen)
    return found


def _handler(spec: Function) -> tuple[Path, str]:
    module, function = spec.handler.rsplit(".", 1)
    return LAMBDA_ROOT / spec.package / f"{module}.py", function


@pytest.mark.parametrize("spec", ALL, ids=[f.key for f in ALL])
def test_the_catalogue_lists_exactly_what_the_code_calls(spec: Function) -> None:
    in_code = calls_of(*_handler(spec))
    listed = set(spec.calls)
    assert in_code - listed == set(), f"{spec.key} calls these without the catalogue (and so its role) saying so"
    assert listed - in_code == NOT_IN_CODE.get(spec.key, set()), f"{spec.key}: listed but never called"


def test_the_walker_finds_calls_through_drgen_common_and_in_place_clients() -> None:
    """The analysis itself: the readiness test reaches DescribeStateMachine through ``client("stepfunctions")``
    and PutItem through drgen_common.control; the notify step SNS through drgen_common.notify."""
    assert {"states:DescribeStateMachine", "dynamodb:PutItem"} <= calls_of(*_handler(READINESS))
    notify = next(f for f in FAILOVER_STEPS if f.key == "failover-notify")
    assert "sns:Publish" in calls_of(*_handler(notify))
