"""The IAM permissions CloudFormation needs for a resource type, from the resource schemas cfn-lint ships.

A resource type's schema lists its handlers (create, read, update, delete, list) and, for each, "a string
array that specifies the AWS permissions needed to invoke the ... handler"; a type without create, read and
delete handlers is one "CloudFormation cannot actually provision":
https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html

The schemas are the copies cfn-lint ships (``cfnlint/data/schemas``: ``providers/<region>.json`` maps each
type to a hash, ``resources/<hash>.json`` is the schema), read through cfn-lint's schema manager but pinned to
that directory, so a newer download in cfn-lint's user cache (``cfn-lint --update-specs``) does not change what
drgen derives from one machine to the next.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from importlib.resources import files
from pathlib import Path

from cfnlint.schema import ResourceNotFoundError
from cfnlint.schema.manager import ProviderSchemaManager
from cfnlint.version import __version__ as CFN_LINT_VERSION

from drgen.errors import DrgenError

HANDLERS = ("create", "read", "update", "delete", "list")
CUSTOM_RESOURCE = "AWS::CloudFormation::CustomResource"
# A custom resource has no handlers: its ServiceToken is "the ARN of the function that CloudFormation invokes when
# you create, update, or delete the stack" (https://docs.aws.amazon.com/lambda/latest/dg/services-cloudformation.html),
# or an SNS topic CloudFormation publishes to; the template cannot tell which, so both.
CUSTOM_RESOURCE_PERMISSIONS = ("lambda:InvokeFunction", "sns:Publish")


@cache
def _manager() -> ProviderSchemaManager:
    shipped = Path(str(files("cfnlint.data.schemas")))
    return ProviderSchemaManager(providers_dir=shipped / "providers", resources_dir=shipped / "resources")


def is_custom(resource_type: str) -> bool:
    return resource_type == CUSTOM_RESOURCE or resource_type.startswith("Custom::")


def handler_permissions(resource_type: str, region: str) -> dict[str, tuple[str, ...]]:
    """Each handler of ``resource_type`` in ``region`` -> the permissions it lists (schema order).

    A custom resource maps to one pseudo-handler, ``invoke``. Raises DrgenError naming the type when cfn-lint
    has no schema for it, or a schema without handlers (legacy types such as AWS::Route53::RecordSetGroup).
    """
    if is_custom(resource_type):
        return {"invoke": CUSTOM_RESOURCE_PERMISSIONS}
    try:
        schema = _manager().get_resource_schema(region, resource_type).schema
    except ResourceNotFoundError:
        raise DrgenError(
            f"{resource_type}: cfn-lint {CFN_LINT_VERSION} ships no resource schema for it in {region}, so the "
            "StackSets execution role cannot be derived; upgrade cfn-lint or drop the resource type"
        ) from None
    handlers = schema.get("handlers") or {}
    found = {name: tuple(handlers[name].get("permissions", ())) for name in HANDLERS if name in handlers}
    if not any(found.values()):
        raise DrgenError(
            f"{resource_type}: its resource schema (cfn-lint {CFN_LINT_VERSION}, {region}) lists no handlers, so "
            "the permissions CloudFormation needs for it are unknown; use a resource type with handlers"
        )
    for permission in (p for permissions in found.values() for p in permissions):
        service_prefix(permission, resource_type)  # a malformed entry is an error here, not a silent skip
    return found


def service_prefix(permission: str, resource_type: str = "") -> str:
    """``backup-storage:MountCapsule`` -> ``backup-storage`` (IAM service prefixes are lower case)."""
    prefix, colon, action = permission.partition(":")
    if not colon or not prefix or not action or prefix != prefix.strip():
        raise DrgenError(f"{resource_type or 'a resource type'}: malformed permission {permission!r} in its schema")
    return prefix.lower()


def permissions_by_type(resource_types: Iterable[str], region: str) -> dict[str, frozenset[str]]:
    """Every permission any handler of each type lists, by type (sorted by type)."""
    return {
        t: frozenset(p for permissions in handler_permissions(t, region).values() for p in permissions)
        for t in sorted(set(resource_types))
    }


def service_prefixes(types_by_region: Mapping[str, Iterable[str]]) -> tuple[str, ...]:
    """The sorted IAM service prefixes of every handler permission of the types deployed in each region."""
    prefixes: set[str] = set()
    for region, resource_types in types_by_region.items():
        for resource_type, permissions in permissions_by_type(resource_types, region).items():
            prefixes.update(service_prefix(p, resource_type) for p in permissions)
    return tuple(sorted(prefixes))
