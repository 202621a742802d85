"""The StackSets execution role allows every service the handlers of each preset's regional resource types call.

The expected permissions are read here straight from the resource schemas cfn-lint ships (plain JSON files),
not through drgen.deploy.handler_permissions, so a bug in the derivation cannot hide itself.
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from drgen.deploy import bootstrap, handler_permissions
from drgen.deploy.bootstrap import ROLE_POLICY_CHARS, execution_services, roles_template
from drgen.errors import DrgenError
from drgen.render import Bundle, render
from drgen.scenario import PRESETS, load
from drgen.scenario.model import Role

SCHEMAS = Path(str(files("cfnlint.data.schemas")))


@cache
def _rendered(name: str) -> Bundle:
    return render(load(name, suffix="dev"))


def _regional_types(name: str) -> dict[str, set[str]]:
    """Region -> resource types of the stacks StackSets mode deploys as stack set instances (not the global)."""
    bundle = _rendered(name)
    by_region: dict[str, set[str]] = {}
    for entry in bundle.stacks:
        if entry.role is not Role.GLOBAL:
            resources = json.loads(bundle.files[entry.template])["Resources"]
            by_region.setdefault(entry.region, set()).update(r["Type"] for r in resources.values())
    return by_region


@cache
def _schema(region: str, resource_type: str) -> dict[str, Any]:
    providers = json.loads((SCHEMAS / "providers" / f"{region}.json").read_text(encoding="utf-8"))
    return json.loads((SCHEMAS / "resources" / f"{providers[resource_type]}.json").read_text(encoding="utf-8"))


def _execution_policy(body: bytes) -> dict[str, Any]:
    role = json.loads(body)["Resources"]["ExecutionRole"]["Properties"]
    (policy,) = role["Policies"]
    return policy["PolicyDocument"]


def _actions(name: str) -> list[str]:
    scenario = PRESETS[name]
    body = roles_template([scenario.regions.primary, scenario.regions.secondary], [scenario])
    return [a for s in _execution_policy(body)["Statement"] for a in s["Action"]]


def _allowed(permission: str, actions: list[str]) -> bool:
    # IAM matches action names case-insensitively, with * as a wildcard
    return any(fnmatchcase(permission.lower(), action.lower()) for action in actions)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_handler_permission_of_every_regional_resource_is_allowed(name):
    actions = _actions(name)
    missing = set()
    for region, types in _regional_types(name).items():
        for resource_type in types:
            handlers = _schema(region, resource_type).get("handlers")
            assert handlers, f"{resource_type} has no handlers in cfn-lint's schema"
            for handler in handlers.values():
                missing.update(f"{resource_type}: {p}" for p in handler["permissions"] if not _allowed(p, actions))
    assert not missing, sorted(missing)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_the_policy_is_one_compact_sorted_statement_within_the_iam_quota(name):
    scenario = PRESETS[name]
    body = roles_template([scenario.regions.primary], [scenario])
    policy = _execution_policy(body)
    (statement,) = policy["Statement"]
    assert statement["Resource"] == ["*"]
    actions = statement["Action"]
    assert all(a.endswith(":*") and a.count(":") == 1 for a in actions)
    prefixes = [a.removesuffix(":*") for a in actions]
    assert prefixes == sorted(set(prefixes))  # one action per service prefix, in prefix order
    assert {"cloudformation:*", "s3:*", "sns:*"} <= set(actions)  # AWS's minimum for a StackSets execution role
    assert len("".join(json.dumps(policy).split())) <= ROLE_POLICY_CHARS


@pytest.mark.parametrize(
    ("resource_type", "action"),
    [
        ("AWS::CertificateManager::Certificate", "acm:*"),
        ("AWS::ECR::Repository", "ecr:*"),
        ("AWS::Backup::BackupVault", "backup-storage:*"),
    ],
)
def test_certificates_repositories_and_backup_vaults_get_their_services(resource_type, action):
    """The services the hand-written list missed (AccessDenied in StackSets mode)."""
    users = [n for n in sorted(PRESETS) if any(resource_type in t for t in _regional_types(n).values())]
    assert users, f"no preset deploys {resource_type} any more; pick another regression"
    for name in users:
        assert action in _actions(name), name


def test_a_preset_without_a_resource_type_does_not_get_its_service():
    """Each preset's role follows its own templates: database-dr has no certificate, so no acm."""
    assert not any("AWS::CertificateManager::Certificate" in t for t in _regional_types("database-dr").values())
    assert "acm:*" not in _actions("database-dr")
    assert "acm" in bootstrap.execution_services(PRESETS.values())  # every preset together still has it


def test_the_global_layer_is_left_out():
    """The global layer is a plain stack in StackSets mode, so its types do not widen the execution role."""
    scenario = PRESETS["database-dr"]
    by_region = bootstrap.regional_resource_types(scenario)
    assert set(by_region) == {scenario.regions.primary, scenario.regions.secondary}
    bundle = _rendered("database-dr")
    global_only = {
        r["Type"]
        for e in bundle.stacks
        if e.role is Role.GLOBAL
        for r in json.loads(bundle.files[e.template])["Resources"].values()
    } - set().union(*by_region.values())
    assert "AWS::Route53::HealthCheck" in global_only


@pytest.mark.parametrize("resource_type", ["AWS::Route53::RecordSetGroup", "AWS::RDS::DBSecurityGroup"])
def test_a_type_without_handlers_is_an_error_naming_it(resource_type):
    assert not _schema("us-east-1", resource_type).get("handlers")  # the premise, read independently
    with pytest.raises(DrgenError, match=f"^{resource_type}: .*lists no handlers"):
        handler_permissions.handler_permissions(resource_type, "us-east-1")


def test_a_type_without_a_schema_is_an_error_naming_it():
    with pytest.raises(DrgenError, match=r"^AWS::Nope::Thing: cfn-lint .* no resource schema"):
        handler_permissions.service_prefixes({"us-east-1": ["AWS::S3::Bucket", "AWS::Nope::Thing"]})


@pytest.mark.parametrize("resource_type", ["AWS::CloudFormation::CustomResource", "Custom::Seeder"])
def test_custom_resources_need_to_invoke_their_service_token(resource_type):
    assert handler_permissions.handler_permissions(resource_type, "us-east-1") == {
        "invoke": ("lambda:InvokeFunction", "sns:Publish")
    }
    assert handler_permissions.service_prefixes({"us-east-1": [resource_type]}) == ("lambda", "sns")


def test_the_derivation_matches_the_schema_files():
    region, resource_type = "eu-central-1", "AWS::Backup::BackupVault"
    derived = handler_permissions.handler_permissions(resource_type, region)
    handlers = _schema(region, resource_type)["handlers"]
    assert derived == {name: tuple(h["permissions"]) for name, h in handlers.items()}


def test_the_roles_template_is_byte_identical_across_calls():
    regions = ["us-east-1", "eu-central-2"]
    first = roles_template(regions)
    handler_permissions._manager.cache_clear()  # a fresh schema manager reads the files again
    assert roles_template(regions) == first
    assert roles_template(regions, list(PRESETS.values())) == first  # the default is every preset


def test_an_oversized_policy_is_refused(monkeypatch):
    monkeypatch.setattr(bootstrap, "ROLE_POLICY_CHARS", 100)
    with pytest.raises(DrgenError, match="over IAM's 100"):
        roles_template(["us-east-1"], [PRESETS["database-dr"]])


def test_with_no_resource_of_its_own_the_role_keeps_aws_minimum_execution_policy():
    """AWS's sample AWSCloudFormationStackSetExecutionRole allows cloudformation:*, s3:* and sns:* before any
    resource's own needs (stacksets-prereqs-self-managed.html)."""
    assert execution_services([]) == ("cloudformation", "s3", "sns")
