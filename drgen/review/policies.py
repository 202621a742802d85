"""Who may do what: every IAM role and every resource policy of a bundle, statement by statement.

Roles show who can assume them (their trust principals) and what they may do (inline policies, attached
AWS::IAM::Policy / ManagedPolicy resources, managed policy ARNs). Resource policies (KMS key policies,
bucket, queue and topic policies, Lambda permissions, secret policies) show who they admit. A ``*`` in an
action, a resource or a principal is flagged, with the reason when drgen documents one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from drgen.bundle.evaluate import Env, references
from drgen.bundle.reader import RenderedBundle
from drgen.review.resources import where

# Reasons drgen documents for the wildcards its own statements use, by statement id.
WILDCARD_REASONS = {
    "AccountAdministersThroughIam": (
        "AWS's default key-policy statement: the account administers the key through IAM, so IAM policies can "
        "grant its use and the key cannot become unmanageable. It grants nothing by itself."
    ),
    "CloudWatchLogsEncryptLogGroups": (
        "AWS-documented grant for encrypted log groups: ReEncrypt* and GenerateDataKey* name the variants "
        "CloudWatch Logs calls; the encryption-context condition holds it to this account's log groups here."
    ),
    "SnsToEncryptedQueues": (
        "GenerateDataKey* covers GenerateDataKey and GenerateDataKeyWithoutPlaintext, which SNS uses to "
        "deliver into encrypted queues; the encryption-context condition holds it to this account's queues."
    ),
    "AlarmsAndEventsToEncryptedTopics": (
        "GenerateDataKey* covers the data-key calls CloudWatch and EventBridge make to publish to encrypted "
        "topics; the encryption-context condition holds it to this account's topics."
    ),
    "AlarmsToGlobalTopic": (
        "GenerateDataKey* covers the data-key calls CloudWatch makes to publish to the encrypted global topic."
    ),
    "EventsToEncryptedQueues": (
        "GenerateDataKey* covers the data-key calls EventBridge makes to park undeliverable events in the "
        "encrypted dead-letter queue; the encryption-context condition holds it to this account's queues."
    ),
    "EventsToDeadLetterQueue": (
        "GenerateDataKey* covers the data-key calls EventBridge makes to park undeliverable alarm events in the "
        "encrypted dead-letter queue; the encryption-context condition holds it to this account's queues."
    ),
    "AutoScalingUsesKeyForVolumes": (
        "AWS-documented grant for EC2 Auto Scaling launching instances with volumes under this key: ReEncrypt* "
        "and GenerateDataKey* name the variants EC2 calls for the service-linked role."
    ),
}
NO_REASON = "NO REASON DOCUMENTED"
KEY_POLICY_RESOURCE = "In a key policy, Resource * means this key and nothing else."
DENY_REASON = "A Deny: the wildcard widens what is refused and grants nothing."
# Actions AWS authorizes only with Resource "*" (no resource-level permissions in the Service Authorization
# Reference); a role that needs them cannot name a narrower resource.
RESOURCE_STAR_ONLY = {
    "ec2:CreateNetworkInterface": "Lambda in a VPC",
    "ec2:DescribeNetworkInterfaces": "Lambda in a VPC",
    "ec2:DescribeSubnets": "Lambda in a VPC",
    "ec2:DeleteNetworkInterface": "Lambda in a VPC",
    "ec2:AssignPrivateIpAddresses": "Lambda in a VPC",
    "ec2:UnassignPrivateIpAddresses": "Lambda in a VPC",
    "xray:PutTraceSegments": "X-Ray tracing",
    "xray:PutTelemetryRecords": "X-Ray tracing",
    "xray:GetSamplingRules": "X-Ray tracing",
    "xray:GetSamplingTargets": "X-Ray tracing",
    "ecr:GetAuthorizationToken": "pulling container images",
    "application-autoscaling:DescribeScalableTargets": "listing scalable targets",
    "cloudwatch:PutMetricData": "metrics (scoped by a namespace condition where set)",
    "logs:CreateLogDelivery": "vended log delivery (Step Functions, API Gateway)",
    "logs:GetLogDelivery": "vended log delivery",
    "logs:UpdateLogDelivery": "vended log delivery",
    "logs:DeleteLogDelivery": "vended log delivery",
    "logs:ListLogDeliveries": "vended log delivery",
    "logs:PutResourcePolicy": "vended log delivery",
    "logs:DescribeResourcePolicies": "vended log delivery",
    "logs:DescribeLogGroups": "vended log delivery",
    "cloudwatch:GetMetricData": "reading metrics",
    "rds:DescribeGlobalClusters": "listing global clusters",
    "route53:GetChange": "polling a DNS change",
    "states:ListStateMachines": "listing state machines",
}

# Resource policy types: (property holding the document, property naming what it protects)
RESOURCE_POLICIES = {
    "AWS::KMS::Key": ("KeyPolicy", None, "KMS key policy"),
    "AWS::S3::BucketPolicy": ("PolicyDocument", "Bucket", "bucket policy"),
    "AWS::SQS::QueuePolicy": ("PolicyDocument", "Queues", "queue policy"),
    "AWS::SNS::TopicPolicy": ("PolicyDocument", "Topics", "topic policy"),
    "AWS::SecretsManager::ResourcePolicy": ("ResourcePolicy", "SecretId", "secret policy"),
    "AWS::Logs::ResourcePolicy": ("PolicyDocument", None, "log resource policy"),
    "AWS::Events::EventBusPolicy": ("Statement", "EventBusName", "event bus policy"),
}
ATTACHED_POLICIES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")


@dataclass(frozen=True)
class StatementView:
    sid: str
    effect: str
    principal: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: str
    flags: tuple[str, ...]  # one line per wildcard: what it is and why (or that no reason is documented)


@dataclass(frozen=True)
class PolicyHolder:
    """An IAM role or a resource policy, with its statements."""

    template: str
    logical_id: str
    kind: str  # "IAM role", "KMS key policy", ...
    where: str
    subject: str  # the role name, or what the policy protects
    trust: tuple[StatementView, ...]  # roles: who may assume them
    statements: tuple[StatementView, ...]
    managed: tuple[str, ...]  # managed policy ARNs (content not in the template)

    @property
    def wildcards(self) -> int:
        return sum(len(s.flags) for s in self.statements + self.trust)


def policy_holders(bundle: RenderedBundle) -> list[PolicyHolder]:
    """Every role and resource policy in the bundle, by template then logical id."""
    holders: list[PolicyHolder] = []
    for path, doc in sorted(bundle.templates.items()):
        env = Env(doc)
        resources = doc.get("Resources", {})
        for logical_id, resource in sorted(resources.items()):
            rtype = resource.get("Type", "")
            props = resource.get("Properties", {})
            if rtype == "AWS::IAM::Role":
                holders.append(_role(bundle, path, env, logical_id, resource, resources))
            elif rtype in RESOURCE_POLICIES:
                document_key, target_key, kind = RESOURCE_POLICIES[rtype]
                subject = env.show(props.get(target_key)) if target_key else logical_id
                document = _document(props.get(document_key))
                statements = _statements(env, document, key_policy=rtype == "AWS::KMS::Key")
                holders.append(
                    PolicyHolder(path, logical_id, kind, where(bundle, path, resource), subject, (), statements, ())
                )
            elif rtype == "AWS::Lambda::Permission":
                holders.append(_lambda_permission(bundle, path, env, logical_id, resource))
            elif rtype in ATTACHED_POLICIES and not _attached_roles(props, resources):
                statements = _statements(env, _document(props.get("PolicyDocument")))
                holders.append(
                    PolicyHolder(
                        path, logical_id, "IAM policy", where(bundle, path, resource), logical_id, (), statements, ()
                    )
                )
    return holders


def _role(
    bundle: RenderedBundle, path: str, env: Env, logical_id: str, resource: dict[str, Any], resources: dict[str, Any]
) -> PolicyHolder:
    props = resource.get("Properties", {})
    statements: list[StatementView] = []
    for policy in props.get("Policies", []) or []:
        statements += _statements(env, _document(policy.get("PolicyDocument")))
    for _, other in sorted(resources.items()):
        attached = other.get("Properties", {})
        if other.get("Type") in ATTACHED_POLICIES and logical_id in _attached_roles(attached, resources):
            statements += _statements(env, _document(attached.get("PolicyDocument")))
    managed = tuple(env.show(arn) for arn in props.get("ManagedPolicyArns", []) or [])
    trust = _statements(env, _document(props.get("AssumeRolePolicyDocument")))
    subject = env.show(props.get("RoleName")) or logical_id
    return PolicyHolder(
        path, logical_id, "IAM role", where(bundle, path, resource), subject, trust, tuple(statements), managed
    )


def _attached_roles(props: dict[str, Any], resources: dict[str, Any]) -> set[str]:
    """Logical ids of this template's roles an AWS::IAM::Policy / ManagedPolicy attaches to."""
    return {r for r in references(props.get("Roles", [])) if r in resources}


def _lambda_permission(
    bundle: RenderedBundle, path: str, env: Env, logical_id: str, resource: dict[str, Any]
) -> PolicyHolder:
    props = resource.get("Properties", {})
    statement = {
        "Effect": "Allow",
        "Principal": props.get("Principal"),
        "Action": props.get("Action"),
        "Resource": props.get("FunctionName"),
    }
    if "SourceArn" in props:
        statement["Condition"] = {"ArnLike": {"AWS:SourceArn": props["SourceArn"]}}
    statements = _statements(env, {"Statement": [statement]})
    subject = env.show(props.get("FunctionName"))
    return PolicyHolder(
        path, logical_id, "Lambda permission", where(bundle, path, resource), subject, (), statements, ()
    )


def _document(value: Any) -> dict[str, Any]:
    """A policy document; a JSON string (AWS::Logs::ResourcePolicy) is parsed, a bare statement wrapped."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {"Statement": []}
    if isinstance(value, dict) and "Statement" not in value and "Effect" in value:
        return {"Statement": [value]}
    return value if isinstance(value, dict) else {"Statement": []}


def _statements(env: Env, document: dict[str, Any], key_policy: bool = False) -> tuple[StatementView, ...]:
    raw = document.get("Statement", [])
    raw = raw if isinstance(raw, list) else [raw]
    return tuple(_statement(env, s, key_policy) for s in raw if isinstance(s, dict))


def _listed(env: Env, value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [] if value is None else [value]
    return tuple(env.show(v) for v in items)


def _statement(env: Env, statement: dict[str, Any], key_policy: bool) -> StatementView:
    sid = str(statement.get("Sid", ""))
    effect = str(statement.get("Effect", ""))
    actions = _listed(env, statement.get("Action"))
    not_actions = _listed(env, statement.get("NotAction"))
    resources = _listed(env, statement.get("Resource"))
    not_resources = _listed(env, statement.get("NotResource"))
    principal = _principal(env, statement)
    all_actions = actions + tuple(f"NOT {a}" for a in not_actions)
    all_resources = resources + tuple(f"NOT {r}" for r in not_resources)
    flags = _flags(sid, effect, principal, actions + not_actions, resources, key_policy)
    return StatementView(sid, effect, principal, all_actions, all_resources, _condition(env, statement), flags)


def _principal(env: Env, statement: dict[str, Any]) -> str:
    """Who a statement names, in words: ``*`` in a Deny is whom it refuses (a TLS-only rule: anyone without TLS),
    never a grant to anyone."""
    principal = statement.get("Principal")
    if principal is None:
        return ""
    if principal == "*":
        if statement.get("Effect") != "Deny":
            return "* (anyone)"
        tests = [
            (operator, key.lower(), str(value).lower())
            for operator, found in (statement.get("Condition") or {}).items()
            for key, value in (found.items() if isinstance(found, dict) else [("", "")])
        ]
        tls_only = len(tests) == 1 and tests[0] in (
            ("Bool", "aws:securetransport", "false"),
            ("BoolIfExists", "aws:securetransport", "false"),
        )
        return "* (denies anyone without TLS)" if tls_only else "* (denies anyone)"
    if isinstance(principal, dict):
        return "\n".join(
            f"{kind}: {value}" for kind, values in sorted(principal.items()) for value in _listed(env, values)
        )
    return env.show(principal)


def _condition(env: Env, statement: dict[str, Any]) -> str:
    condition = statement.get("Condition") or {}
    lines = []
    for operator, tests in sorted(condition.items()):
        for key, value in sorted((tests or {}).items()):
            lines.append(f"{operator} {key} = {', '.join(_listed(env, value))}")
    return "\n".join(lines)


def _flags(
    sid: str, effect: str, principal: str, actions: tuple[str, ...], resources: tuple[str, ...], key_policy: bool
) -> tuple[str, ...]:
    flags = []
    for action in actions:
        if "*" in action:
            flags.append(f"action `{action}`: {_reason(sid, effect)}")
    if "*" in resources:
        flags.append(f"resource `*`: {_resource_reason(sid, effect, actions, key_policy)}")
    if principal.startswith("*"):
        flags.append(f"principal `*`: {_reason(sid, effect)}")
    return tuple(flags)


def _reason(sid: str, effect: str) -> str:
    if effect == "Deny":
        return DENY_REASON
    return WILDCARD_REASONS.get(sid, NO_REASON)


def _resource_reason(sid: str, effect: str, actions: tuple[str, ...], key_policy: bool) -> str:
    if key_policy:
        return KEY_POLICY_RESOURCE
    if effect == "Deny":
        return DENY_REASON
    needs = sorted({RESOURCE_STAR_ONLY[a] for a in actions if a in RESOURCE_STAR_ONLY})
    if needs and all(a in RESOURCE_STAR_ONLY for a in actions):
        return "these actions support no resource-level permissions (" + "; ".join(needs) + ")"
    return WILDCARD_REASONS.get(sid, NO_REASON)
