"""The application image: this region's private ECR repository (sandbox) or ``compute.image`` from the account's.

A real deploy names ``compute.image`` (drgen preflight checks it is in each region's registry); without one, the
foundation stack of an ECS scenario creates a repository the sandbox deploys against.
"""

from __future__ import annotations

import re
from typing import Any

from troposphere import GetAtt, Sub
from troposphere import ecr as tecr

from drgen.builders import inputs
from drgen.builders.context import StackContext
from drgen.builders.iam import DESTROYABLE
from drgen.scenario.model import ComputeKind

REPOSITORY = "app"


def image_repository(ctx: StackContext, key_arn: Any) -> None:
    """A private repository for the application image, when the scenario names none (ECS): the sandbox deploys
    against it. A real deploy needs ``compute.image`` (drgen preflight refuses without it)."""
    if ctx.scenario.compute.kind is not ComputeKind.ECS or ctx.scenario.compute.image is not None:
        return
    repository = ctx.add(
        tecr.Repository(
            "AppRepository",
            RepositoryName=ctx.names.fixed("generic", REPOSITORY),
            ImageScanningConfiguration=tecr.ImageScanningConfiguration(ScanOnPush=True),
            ImageTagMutability="IMMUTABLE",  # a tag always names the image it was first pushed as
            EncryptionConfiguration=tecr.EncryptionConfiguration(EncryptionType="KMS", KmsKey=key_arn),
            EmptyOnDelete=True,  # destroyable: images go with the stack
            **DESTROYABLE,
        )
    )
    ctx.output(
        inputs.REPOSITORY_URI, GetAtt(repository, "RepositoryUri"), "This region's application image repository."
    )


def private_image(reference: str) -> Sub:
    """An image of the account's private ECR (``repository:tag`` or ``@digest``), pulled in the task's region."""
    return Sub("${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/" + reference)


def repository_arn(reference: str) -> Sub:
    repository = re.split(r"[:@]", reference, maxsplit=1)[0]
    return Sub("arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/" + repository)


def own_repository_arn(ctx: StackContext) -> Sub:
    """The foundation's repository in this region (no ``compute.image``)."""
    name = ctx.names.fixed("generic", REPOSITORY)
    return Sub("arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/" + name)
