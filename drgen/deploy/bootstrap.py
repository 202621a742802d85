"""``drgen bootstrap --stacksets``: the roles self-managed StackSets need, as one small CloudFormation stack.

AWSCloudFormationStackSetAdministrationRole (trusted by CloudFormation, and by its regional principal for each
opt-in region used) may only assume AWSCloudFormationStackSetExecutionRole, which only the administration
role may assume. The execution role builds drgen's stack set instances, so it is scoped to the services their
templates need: every IAM service prefix in the handler permissions of every resource type in the regional
templates of the chosen scenarios (``handler_permissions``), one ``<prefix>:*`` each, plus the minimum StackSets
itself needs in a target account.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Sequence

from awacs import sts
from awacs.aws import Action, Allow, PolicyDocument, Principal, Statement
from troposphere import GetAtt, Output, Sub, Template, iam

from drgen.bundle.manifest import LayerName, Manifest, StackEntry, serialize
from drgen.bundle.reader import RenderedBundle
from drgen.deploy.deployer import uses_stack_set
from drgen.deploy.handler_permissions import service_prefixes
from drgen.deploy.stacksets import ADMINISTRATION_ROLE, EXECUTION_ROLE
from drgen.errors import DrgenError
from drgen.regions import ROUTE53_METRICS_REGION, is_opt_in
from drgen.render import render
from drgen.scenario import PRESETS
from drgen.scenario.model import Role, Scenario

STACK_NAME = "drgen-stackset-roles"
TEMPLATE_PATH = "templates/stackset-roles.json"
# "Your target account always needs full AWS CloudFormation permissions" and the S3 actions StackSets "uses ... to
# notify the stack instance state"; AWS's sample execution role's minimum policy allows cloudformation:*, s3:* and
# sns:*: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs-self-managed.html
STACKSETS_MINIMUM = ("cloudformation", "s3", "sns")
# "the total aggregate policy size (the sum size of all inline policies)" of a role: 10,240 characters, white
# space not counted: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
ROLE_POLICY_CHARS = 10_240
# The prefixes come from AWS's own schemas, and cfn-lint's list of IAM services (W3037) lags them: the
# AWS::AutoScaling::AutoScalingGroup handlers list managed-fleets actions that cfn-lint 1.58 does not know. IAM
# stores actions of services it does not recognise (the console lists them under "Unrecognized services"):
# https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_policies.html#unrecognized-services-actions
UNLISTED_PREFIXES_OK = {"cfn-lint": {"config": {"ignore_checks": ["W3037"]}}}
RENDER_SUFFIX = "dev"  # resource types do not depend on the suffix; any valid one renders the same types


def regional_resource_types(scenario: Scenario) -> dict[str, frozenset[str]]:
    """Region -> the resource types of the templates StackSets mode deploys there (the regional layers)."""
    if scenario.suffix is None:
        scenario = dataclasses.replace(scenario, suffix=RENDER_SUFFIX)
    bundle = render(scenario)  # in memory, no lint: an installed drgen needs no templates_out
    by_region: dict[str, set[str]] = {}
    for entry in bundle.stacks:
        if uses_stack_set("stacksets", entry):
            resources = json.loads(bundle.files[entry.template]).get("Resources", {})
            by_region.setdefault(entry.region, set()).update(r["Type"] for r in resources.values())
    return {region: frozenset(types) for region, types in sorted(by_region.items())}


def execution_services(scenarios: Iterable[Scenario]) -> tuple[str, ...]:
    """The sorted IAM service prefixes the execution role allows for the stack set instances of ``scenarios``."""
    by_region: dict[str, set[str]] = {}
    for scenario in scenarios:
        for region, types in regional_resource_types(scenario).items():
            by_region.setdefault(region, set()).update(types)
    return tuple(sorted({*STACKSETS_MINIMUM, *service_prefixes(by_region)}))


def roles_template(regions: Iterable[str], scenarios: Sequence[Scenario] | None = None) -> bytes:
    """The administration and execution roles; ``regions`` decides which regional principals are trusted and
    ``scenarios`` (default every preset) the services the execution role allows."""
    services = execution_services(PRESETS.values() if scenarios is None else scenarios)
    principals = ["cloudformation.amazonaws.com"]
    principals += [f"cloudformation.{r}.amazonaws.com" for r in sorted(set(regions)) if is_opt_in(r)]
    template = Template(Description="drgen: the roles self-managed CloudFormation StackSets run with.")
    template.set_version("2010-09-09")
    admin = template.add_resource(
        iam.Role(
            "AdministrationRole",
            RoleName=ADMINISTRATION_ROLE,
            AssumeRolePolicyDocument=_trust(Principal("Service", principals)),
            Policies=[
                iam.Policy(
                    PolicyName="AssumeExecutionRole",
                    PolicyDocument=PolicyDocument(
                        Version="2012-10-17",
                        Statement=[
                            Statement(
                                Effect=Allow,
                                Action=[sts.AssumeRole],
                                Resource=[
                                    Sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{EXECUTION_ROLE}")
                                ],
                            )
                        ],
                    ),
                )
            ],
        )
    )
    execution = template.add_resource(
        iam.Role(
            "ExecutionRole",
            RoleName=EXECUTION_ROLE,
            Metadata=UNLISTED_PREFIXES_OK,
            AssumeRolePolicyDocument=_trust(Principal("AWS", GetAtt(admin, "Arn"))),
            Policies=[
                iam.Policy(
                    PolicyName="DeployDrgenStacks",
                    PolicyDocument=PolicyDocument(
                        Version="2012-10-17",
                        Statement=[
                            # Resource "*": the stacks create resources whose ARNs do not exist before the call.
                            Statement(Effect=Allow, Action=[Action(s, "*") for s in services], Resource=["*"])
                        ],
                    ),
                )
            ],
        )
    )
    _check_size(execution.Policies)
    template.add_output(Output("AdministrationRoleArn", Value=GetAtt(admin, "Arn")))
    template.add_output(Output("ExecutionRoleName", Value=execution.ref()))
    return serialize(template.to_dict())


def _check_size(policies: list[iam.Policy]) -> None:
    size = sum(len("".join(json.dumps(p.to_dict()["PolicyDocument"]).split())) for p in policies)
    if size > ROLE_POLICY_CHARS:
        raise DrgenError(
            f"the StackSets execution role's inline policy has {size} characters, over IAM's {ROLE_POLICY_CHARS}; "
            "choose fewer presets with --scenario (the role then serves those only)"
        )


def _trust(principal: Principal) -> PolicyDocument:
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[Statement(Effect=Allow, Principal=principal, Action=[sts.AssumeRole])],
    )


def roles_bundle(regions: Iterable[str], scenarios: Sequence[Scenario] | None = None) -> RenderedBundle:
    """A one-stack bundle for the deployer: the roles stack in the StackSets administration region."""
    body = roles_template(regions, scenarios)
    entry = StackEntry(
        name=STACK_NAME,
        layer=LayerName.BOOTSTRAP,
        region=ROUTE53_METRICS_REGION,
        role=Role.GLOBAL,
        template=TEMPLATE_PATH,
        sha256=hashlib.sha256(body).hexdigest(),
        depends_on=(),
        parameters={},
        inputs={},
        tags={"drgen:purpose": "stackset-roles"},
    )
    regions_map = {"primary": entry.region, "secondary": entry.region, "global": entry.region}
    manifest = Manifest("drgen-bootstrap", "", regions_map, (entry,), (), None, None, {})
    return RenderedBundle(manifest, {TEMPLATE_PATH: body})
