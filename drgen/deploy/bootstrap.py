"""``drgen bootstrap --stacksets``: the roles self-managed StackSets need, as one small CloudFormation stack.

AWSCloudFormationStackSetAdministrationRole (trusted by CloudFormation, and by its regional principal for each
opt-in region used) may only assume AWSCloudFormationStackSetExecutionRole, which only the administration
role may assume. The execution role builds drgen's stacks, so it is scoped to the services drgen's templates
use: per service, because CloudFormation calls whatever actions a resource type needs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from awacs import sts
from awacs.aws import Action, Allow, PolicyDocument, Principal, Statement
from troposphere import GetAtt, Output, Sub, Template, iam

from drgen.deploy.bundle import DeployBundle
from drgen.deploy.stacksets import ADMINISTRATION_ROLE, EXECUTION_ROLE
from drgen.regions import ROUTE53_METRICS_REGION, is_opt_in
from drgen.render import StackEntry, serialize
from drgen.scenario.model import Role

STACK_NAME = "drgen-stackset-roles"
TEMPLATE_PATH = "templates/stackset-roles.json"
# The IAM prefixes of every resource type drgen's layers create (CloudFormation calls their APIs).
EXECUTION_SERVICES = (
    "apigateway",
    "application-autoscaling",
    "autoscaling",
    "backup",
    "cloudformation",
    "cloudwatch",
    "dynamodb",
    "ec2",
    "ecs",
    "elasticloadbalancing",
    "events",
    "iam",
    "kms",
    "lambda",
    "logs",
    "rds",
    "route53",
    "s3",
    "secretsmanager",
    "sns",
    "sqs",
    "ssm",
    "states",
)


def roles_template(regions: Iterable[str]) -> bytes:
    """The administration and execution roles; ``regions`` decides which regional principals are trusted."""
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
            AssumeRolePolicyDocument=_trust(Principal("AWS", GetAtt(admin, "Arn"))),
            Policies=[
                iam.Policy(
                    PolicyName="DeployDrgenStacks",
                    PolicyDocument=PolicyDocument(
                        Version="2012-10-17",
                        Statement=[
                            # Resource "*": the stacks create resources whose ARNs do not exist before the call.
                            Statement(Effect=Allow, Action=[Action(s, "*") for s in EXECUTION_SERVICES], Resource=["*"])
                        ],
                    ),
                )
            ],
        )
    )
    template.add_output(Output("AdministrationRoleArn", Value=GetAtt(admin, "Arn")))
    template.add_output(Output("ExecutionRoleName", Value=execution.ref()))
    return serialize(template.to_dict())


def _trust(principal: Principal) -> PolicyDocument:
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[Statement(Effect=Allow, Principal=principal, Action=[sts.AssumeRole])],
    )


def roles_bundle(regions: Iterable[str]) -> DeployBundle:
    """A one-stack bundle for the deployer: the roles stack in the StackSets administration region."""
    body = roles_template(regions)
    entry = StackEntry(
        name=STACK_NAME,
        layer="bootstrap",
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
    return DeployBundle("drgen-bootstrap", "", regions_map, (entry,), {TEMPLATE_PATH: body}, ())
