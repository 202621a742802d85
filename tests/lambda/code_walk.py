"""A walk over the Lambda code from a handler: the AWS calls it makes and the environment variables it reads.

From the handler it follows the functions it calls (in its own module and in drgen_common) and collects, in each
function reached, what a finder recognises: a boto3 client method (``client.method`` where the client variable
names its service, ``dynamodb``, ``secrets``..., or is built in place, ``client("rds", region)``), resolved to its
IAM action with botocore's service models; or a read of a contract variable (``config.required(NAME)``...).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from functools import cache
from pathlib import Path

import botocore.session
from botocore import xform_name
from drgen_common import contract

from drgen.lambda_functions import Function
from drgen.packaging import LAMBDA_ROOT

# What the code names its clients: the boto3 services a variable may hold.
VARIABLES = {
    "dynamodb": ("dynamodb",),
    "ssm": ("ssm",),
    "rds": ("rds",),
    "rds_in": ("rds",),  # a factory: ``rds_in(region)`` is a client in that Region
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
CONFIG_READS = {"required", "optional", "number", "integer"}  # lambda/drgen_common/config.py
IAM_PREFIX = {"stepfunctions": "states"}
# Where the IAM action is not named after the API operation
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html). SQS's batch actions have
# no permission of their own: sqs:SendMessage "sets permissions for the corresponding batch versions of the actions"
# (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-batch-api.html, and the
# table of https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html).
IAM_ACTION = {"s3:PutBucketReplication": "s3:PutReplicationConfiguration", "sqs:SendMessageBatch": "sqs:SendMessage"}


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
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id.endswith("_in"):
        return VARIABLES.get(node.func.id, ())
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if callee == "client":
            return (str(node.args[0].value),)
    return ()


Finder = Callable[[ast.AST], set[str]]


def reached(path: Path, function: str, found_at: Finder, seen: set[tuple[Path, str]]) -> set[str]:
    """What ``found_at`` finds in ``function`` of the module at ``path`` and in every function it reaches."""
    if (path, function) in seen or not path.is_file():
        return set()
    seen.add((path, function))
    tree = _module(path)
    local, (modules, imported) = _defined(tree), _imports(tree)
    found: set[str] = set()
    for node in ast.walk(local[function]) if function in local else ():
        found |= found_at(node)
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id in modules:
                found |= reached(modules[node.value.id], node.attr, found_at, seen)
        elif isinstance(node, ast.Name):
            if node.id in local:
                found |= reached(path, node.id, found_at, seen)
            elif node.id in imported:
                found |= reached(*imported[node.id], found_at, seen)
    return found


def _actions(node: ast.AST) -> set[str]:
    """The IAM action of a ``client.method`` node."""
    if not isinstance(node, ast.Attribute):
        return set()
    return {action for service in _client_service(node.value) if (action := _operations(service).get(node.attr))}


def _variables(node: ast.AST) -> set[str]:
    """The environment variable a ``config.required(NAME)`` (or optional, number, integer) or an
    ``os.environ[NAME]`` / ``os.environ.get(NAME)`` node reads, NAME being a contract constant."""
    name: ast.expr | None = None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
        owner, method = ast.unparse(node.func.value), node.func.attr
        if (owner == "config" and method in CONFIG_READS) or (owner == "os.environ" and method == "get"):
            name = node.args[0]
    elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
        name = node.slice
    return _contract_names(name)


def _contract_names(node: ast.expr | None) -> set[str]:
    """The contract values ``NAME``, ``contract.NAME`` or ``A if failback else B`` may be."""
    if isinstance(node, ast.IfExp):
        return _contract_names(node.body) | _contract_names(node.orelse)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "contract":
        node = ast.Name(node.attr)
    if isinstance(node, ast.Name) and isinstance(getattr(contract, node.id, None), str):
        return {getattr(contract, node.id)}
    return set()


def calls_of(path: Path, function: str) -> set[str]:
    """The IAM actions reachable from ``function`` of the module at ``path``."""
    return reached(path, function, _actions, set())


def variables_of(path: Path, function: str) -> set[str]:
    """The contract's environment variables the code reachable from ``function`` reads."""
    return reached(path, function, _variables, set())


def handler_of(spec: Function) -> tuple[Path, str]:
    module, function = spec.handler.rsplit(".", 1)
    return LAMBDA_ROOT / spec.package / f"{module}.py", function
