"""The images the application layer starts from, in every Region it runs in.

ECS: each container image in the account's private ECR (``repository:tag`` or ``repository@sha256:...``; the
same repository name in both Regions, pulled from the task's own Region). EC2 Auto Scaling: the SSM parameter
that names the AMI (one parameter name, a Region's own AMI id in each), and that AMI, available. Both are read
from the rendered templates, so what is checked is what CloudFormation will resolve.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

from drgen.bundle.reader import Deployment, RenderedBundle
from drgen.deploy.quota_needs import template_resources
from drgen.deploy.session import CLOUD_ERRORS, Aws, error_code
from drgen.preflight.model import GLOBAL, Check, fail, ok, unknown

NAME = "image"
# How the app layer names an image of the account's ECR in the task's own Region (drgen/builders/image_repository.py).
_PRIVATE_ECR = re.compile(r"\$\{AWS::AccountId\}\.dkr\.ecr\.\$\{AWS::Region\}\.\$\{AWS::URLSuffix\}/([^$]+)")
AMI_PARAMETER_TYPE = "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"


def image_checks(aws: Aws, bundle: RenderedBundle, regions: set[str]) -> list[Check]:
    """One line per image and Region (only the Regions in ``regions``: the others are not enabled)."""
    deployment = bundle.deployment
    if deployment is None:
        return []
    checks: list[Check] = []
    if deployment.compute == "ecs" and deployment.image is None:
        checks.append(
            fail(
                GLOBAL,
                NAME,
                "compute.image is not set: push the application image to the account's ECR in both Regions "
                "(the same repository name) and set compute.image: repository:tag (or repository@sha256:<digest>)",
            )
        )
    for region, reference in ecr_images(bundle):
        if region in regions:
            checks.append(_answered(region, reference, functools.partial(_ecr, aws, bundle, region, reference)))
    for region, parameter in ami_parameters(bundle):
        if region in regions:
            checks.append(_answered(region, parameter, functools.partial(_ami, aws, bundle, region, parameter)))
    return [check.sandboxed(aws.sandbox) for check in checks]


def _answered(region: str, what: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except CLOUD_ERRORS as exc:
        return unknown(region, NAME, f"{what}: AWS did not say ({error_code(exc) or 'error'})")


def _named(bundle: RenderedBundle, kind: str) -> dict[tuple[str, str], None]:
    """``compute.image`` in the primary and the DR Region, for compute ``kind``."""
    deployment = bundle.deployment
    if deployment is None or deployment.compute != kind or deployment.image is None:
        return {}
    return {(bundle.regions[role], deployment.image): None for role in ("primary", "secondary")}


def ecr_images(bundle: RenderedBundle) -> list[tuple[str, str]]:
    """(Region, ``repository:tag`` or ``repository@digest``) of every private ECR image the tasks pull:
    ``compute.image`` and what the task definitions name (the tracing daemon's)."""
    found = _named(bundle, "ecs")
    for entry in bundle.stacks:
        for resource in template_resources(bundle, entry):
            if resource.type != "AWS::ECS::TaskDefinition":
                continue
            for container in resource.properties.get("ContainerDefinitions", []):
                image = container.get("Image")
                text = image.get("Fn::Sub") if isinstance(image, dict) else image
                text = text[0] if isinstance(text, list) else text
                match = _PRIVATE_ECR.fullmatch(text) if isinstance(text, str) else None
                if match:
                    found[(entry.region, match.group(1))] = None
    return list(found)


def ami_parameters(bundle: RenderedBundle) -> list[tuple[str, str]]:
    """(Region, SSM parameter name) of ``compute.image`` and of every AMI parameter a stack resolves."""
    found = _named(bundle, "asg")
    for entry in bundle.stacks:
        declared = json.loads(bundle.template(entry)).get("Parameters", {})
        for name, spec in declared.items():
            if spec.get("Type") == AMI_PARAMETER_TYPE:
                value = entry.parameters.get(name, spec.get("Default"))
                if isinstance(value, str):
                    found[(entry.region, value)] = None
    return list(found)


def _split(reference: str) -> tuple[str, dict[str, str]]:
    if "@" in reference:
        repository, digest = reference.split("@", 1)
        return repository, {"imageDigest": digest}
    repository, _, tag = reference.rpartition(":")
    return (repository, {"imageTag": tag}) if repository else (reference, {"imageTag": "latest"})


def _ecr(aws: Aws, bundle: RenderedBundle, region: str, reference: str) -> Check:
    repository, image_id = _split(reference)
    account = aws.account_id()
    registry = f"{account}.dkr.ecr.{region}.amazonaws.com"
    try:
        aws.client("ecr", region).describe_images(repositoryName=repository, imageIds=[image_id])
        return ok(region, NAME, f"{reference} is in {registry}")
    except CLOUD_ERRORS as exc:
        code = error_code(exc)
        if code not in ("RepositoryNotFoundException", "ImageNotFoundException"):
            raise
    missing = (
        f"repository {repository} does not exist in {region}"
        if code == "RepositoryNotFoundException"
        else f"{reference} is not in {region}'s repository {repository}"
    )
    fix = f"push it to {registry}/{repository}"
    primary = bundle.regions["primary"]
    if region != primary:
        rules = {"rules": [{"destinations": [{"region": region, "registryId": account}]}]}
        fix += (
            f", or have ECR replicate {primary} into {region}: aws ecr put-replication-configuration --region "
            f"{primary} --replication-configuration '{json.dumps(rules, separators=(',', ':'))}' "
            "(it copies what is pushed afterwards: push again)"
        )
    return fail(region, NAME, f"{missing}: {fix}")


def _ami(aws: Aws, bundle: RenderedBundle, region: str, parameter: str) -> Check:
    default = _is_default(bundle.deployment, parameter)
    try:
        ami = aws.client("ssm", region).get_parameter(Name=parameter)["Parameter"]["Value"]
    except CLOUD_ERRORS as exc:
        if error_code(exc) != "ParameterNotFound":
            raise
        return fail(
            region,
            NAME,
            f"SSM parameter {parameter} does not exist in {region}: aws ssm put-parameter --region {region} "
            f"--name {parameter} --type String --data-type aws:ec2:image --value <your AMI's id in {region}>",
        )
    images = _images(aws.client("ec2", region), ami)
    other = next((r for role, r in bundle.regions.items() if role != "global" and r != region), region)
    if not images:
        return fail(
            region,
            NAME,
            f"{parameter} in {region} names {ami}, which is no AMI there (AMI ids belong to one Region): aws ec2 "
            f"copy-image --source-region {other} --source-image-id <the AMI> --region {region} --name <name>, then "
            f"put the copy's id into {parameter} in {region}",
        )
    state = images[0].get("State", "available")
    if state != "available":
        return fail(region, NAME, f"{ami} ({parameter}) is {state}: wait until it is available, or name another AMI")
    note = " (compute.image not set: the latest Amazon Linux 2023)" if default else ""
    return ok(region, NAME, f"{parameter} -> {ami}, available{note}")


def _images(ec2: Any, ami: str) -> list[dict[str, Any]]:
    try:
        return list(ec2.describe_images(ImageIds=[ami])["Images"])
    except CLOUD_ERRORS as exc:
        if error_code(exc).startswith("InvalidAMIID"):
            return []
        raise


def _is_default(deployment: Deployment | None, parameter: str) -> bool:
    return deployment is not None and deployment.image is None and parameter.startswith("/aws/service/")
