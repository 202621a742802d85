"""What a stack holds, and which of its databases AWS reports with deletion protection on.

A database with deletion protection on makes its stack's delete fail, whatever is emptied first: RDS, on the
DeletionProtection of DB clusters, instances and global clusters
(https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBCluster.html): "The database can't be deleted
when deletion protection is enabled." drgen turns it off with an update of the stack's ``DeletionProtection``
parameter where the stack takes an update; where it does not (ROLLBACK_FAILED, DELETE_FAILED, ...), only the
user can, so destroy, and deploy before deleting a stack to create it again, refuse up front and say how.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from drgen.bundle.catalogue import DATA_TYPES
from drgen.deploy.session import Aws, error_code

# resource type: (describe call, its identifier argument, the answer's list, the AWS CLI that turns protection off)
_DATABASES = {
    "AWS::RDS::DBCluster": (
        "describe_db_clusters",
        "DBClusterIdentifier",
        "DBClusters",
        "modify-db-cluster --db-cluster-identifier",
    ),
    "AWS::RDS::DBInstance": (
        "describe_db_instances",
        "DBInstanceIdentifier",
        "DBInstances",
        "modify-db-instance --db-instance-identifier",
    ),
    "AWS::RDS::GlobalCluster": (
        "describe_global_clusters",
        "GlobalClusterIdentifier",
        "GlobalClusters",
        "modify-global-cluster --global-cluster-identifier",
    ),
}


def stack_resources(aws: Aws, region: str, stack_id: str) -> list[dict[str, Any]]:
    cf = aws.client("cloudformation", region)
    pages = cf.get_paginator("list_stack_resources").paginate(StackName=stack_id)
    summaries = (r for page in pages for r in page.get("StackResourceSummaries", []))
    # a stack left by a failed create lists the resources its rollback deleted: nothing there to empty or lose
    return [r for r in summaries if r.get("PhysicalResourceId") and r.get("ResourceStatus") != "DELETE_COMPLETE"]


def protected_databases(aws: Aws, region: str, stack_id: str) -> list[str]:
    """One line per database of the stack that RDS reports with deletion protection on, with the command that
    turns it off; empty when there is none."""
    found = []
    for resource in stack_resources(aws, region, stack_id):
        if resource["ResourceType"] not in _DATABASES:
            continue
        call, argument, listed, command = _DATABASES[resource["ResourceType"]]
        identifier = resource["PhysicalResourceId"]
        try:
            answer = getattr(aws.client("rds", region), call)(**{argument: identifier})[listed]
        except ClientError as exc:
            if "NotFound" in error_code(exc):  # already gone: nothing to protect
                continue
            raise
        if any(database.get("DeletionProtection") for database in answer):
            kind = DATA_TYPES[resource["ResourceType"]]
            found.append(
                f"{kind} {identifier} has deletion protection on, so the delete would fail: "
                f"`aws rds {command} {identifier} --no-deletion-protection "
                f"--region {region}`, then rerun"
            )
    return found
