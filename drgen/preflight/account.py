"""The account behind the credentials: the one the scenario names, its Regions enabled, its service-linked roles."""

from __future__ import annotations

from typing import Any

from drgen.bundle.reader import RenderedBundle
from drgen.deploy.service_roles import IAM_REGION, named_roles
from drgen.deploy.session import CLOUD_ERRORS, Aws, error_code
from drgen.preflight.model import GLOBAL, Check, fail, ok, unknown

ENABLED = frozenset({"opt-in-not-required", "opted-in"})  # EC2 DescribeRegions OptInStatus


def account_guard(aws: Aws, bundle: RenderedBundle) -> Check:
    """STS GetCallerIdentity's account against the scenario's ``account:``."""
    account = aws.account_id()
    named = bundle.deployment.account if bundle.deployment else None
    if named is None:
        return ok(GLOBAL, "account", f"{account}; the scenario names no account (set `account:` to guard)")
    if named == account:
        return ok(GLOBAL, "account", f"{account}, the account the scenario names")
    if aws.sandbox:
        return unknown(GLOBAL, "account", f"sandbox: its account {account} stands in for {named}, the scenario's")
    return fail(
        GLOBAL,
        "account",
        f"credentials are for account {account}, the scenario names {named}: use a profile for {named} (--profile) "
        "or fix `account:`",
    )


def regions_enabled(aws: Aws, bundle: RenderedBundle) -> list[Check]:
    """Each Region the bundle deploys to is enabled for the account (opt-in Regions, such as eu-central-2, are
    not until enabled). Asked once, in the global layer's Region (always enabled)."""
    regions = sorted(set(bundle.stack_regions) | {r for role, r in bundle.regions.items() if role != "global"})
    try:
        listed = aws.client("ec2", bundle.regions["global"]).describe_regions(AllRegions=True)["Regions"]
    except CLOUD_ERRORS as exc:
        reason = f"EC2 DescribeRegions did not answer ({error_code(exc) or 'error'})"
        return [unknown(region, "region", reason) for region in regions]
    status = {r["RegionName"]: r.get("OptInStatus", "") for r in listed}
    return [_enabled(region, status.get(region)).sandboxed(aws.sandbox) for region in regions]


def _enabled(region: str, status: str | None) -> Check:
    if status is None:
        return fail(region, "region", f"{region} is not a Region of this partition; fix regions: in the scenario")
    if status in ENABLED:
        return ok(region, "region", f"enabled ({status})")
    return fail(
        region,
        "region",
        f"{region} is not enabled ({status}): aws account enable-region --region-name {region} (then wait until "
        f"`aws account get-region-opt-status --region-name {region}` says ENABLED)",
    )


def service_roles(aws: Aws, bundle: RenderedBundle) -> list[Check]:
    """The service-linked roles the key policies name: a missing one is created by deploy, if the credentials may."""
    roles = named_roles(bundle)
    if not roles:
        return [ok(GLOBAL, "service-role", "the key policies name no service-linked role")]
    iam = aws.client("iam", IAM_REGION)
    checks = []
    for service, role in roles:
        try:
            checks.append(_role(aws, iam, service, role))
        except CLOUD_ERRORS as exc:
            checks.append(unknown(GLOBAL, "service-role", f"{role}: IAM did not say ({error_code(exc) or 'error'})"))
    return checks


def _role(aws: Aws, iam: Any, service: str, role: str) -> Check:
    fix = f"aws iam create-service-linked-role --aws-service-name {service}"
    try:
        iam.get_role(RoleName=role)
        return ok(GLOBAL, "service-role", f"{role} exists")
    except iam.exceptions.NoSuchEntityException:
        pass
    if aws.sandbox:
        return ok(GLOBAL, "service-role", f"{role} missing; deploy creates it ({fix})")
    decision = _may_create(aws, iam, service, role)
    if decision == "allowed":
        return ok(GLOBAL, "service-role", f"{role} missing; deploy creates it (the credentials may)")
    if decision in ("implicitDeny", "explicitDeny"):
        return fail(
            GLOBAL,
            "service-role",
            f"{role} is missing and these credentials may not create it (iam:CreateServiceLinkedRole: {decision}): "
            f"have an administrator run `{fix}`",
        )
    return unknown(
        GLOBAL,
        "service-role",
        f"{role} missing; deploy creates it if the credentials allow iam:CreateServiceLinkedRole ({decision}); "
        f"else: {fix}",
    )


def _may_create(aws: Aws, iam: Any, service: str, role: str) -> str:
    """IAM's policy simulator on the caller for iam:CreateServiceLinkedRole: allowed, implicitDeny, explicitDeny,
    or why it could not say."""
    try:
        principal = _principal_arn(aws, iam)
        if principal is None:
            return "the caller is not an IAM user or role: not simulated"
        if principal.endswith(":root"):
            return "allowed"
        account = aws.account_id()
        result = iam.simulate_principal_policy(
            PolicySourceArn=principal,
            ActionNames=["iam:CreateServiceLinkedRole"],
            ResourceArns=[f"arn:aws:iam::{account}:role/aws-service-role/{service}/{role}"],
            ContextEntries=[
                {"ContextKeyName": "iam:AWSServiceName", "ContextKeyValues": [service], "ContextKeyType": "string"}
            ],
        )["EvaluationResults"]
    except CLOUD_ERRORS as exc:
        return f"could not simulate: {error_code(exc) or 'error'}"
    return str(result[0]["EvalDecision"]) if result else "the simulator gave no decision"


def _principal_arn(aws: Aws, iam: Any) -> str | None:
    """The IAM user or role behind the credentials (an assumed role's session is simulated as its role)."""
    arn = str(aws.client("sts", "us-east-1").get_caller_identity()["Arn"])
    kind, _, rest = arn.split(":", 5)[-1].partition("/")
    if ":iam::" in arn and kind in ("user", "root"):
        return arn
    if ":sts::" in arn and kind == "assumed-role":
        return str(iam.get_role(RoleName=rest.split("/", 1)[0])["Role"]["Arn"])
    return None
