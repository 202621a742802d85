"""The catalogue of stateful types covers every data-holding type the presets render.

Independent list: the types whose DeletionPolicy may be Snapshot (CloudFormation template reference,
"DeletionPolicy attribute": AWS::EC2::Volume, AWS::ElastiCache::CacheCluster, AWS::ElastiCache::ReplicationGroup,
AWS::RDS::DBInstance, AWS::RDS::DBCluster, AWS::Redshift::Cluster) plus the stores that hold data without
snapshots: S3 buckets, DynamoDB tables, Aurora global databases, Backup vaults, EFS file systems, and KMS keys
(what they encrypted is unreadable once they are gone).
"""

from __future__ import annotations

import json

import pytest

from drgen.bundle.catalogue import STATEFUL_TYPES
from drgen.bundle.manifest import MANIFEST
from drgen.scenario import PRESETS

HOLDS_DATA = {
    "AWS::EC2::Volume",
    "AWS::ElastiCache::CacheCluster",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBCluster",
    "AWS::Redshift::Cluster",
    "AWS::S3::Bucket",
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::RDS::GlobalCluster",
    "AWS::Backup::BackupVault",
    "AWS::EFS::FileSystem",
    "AWS::KMS::Key",
}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_rendered_data_holding_type_is_stateful(name: str, bundles) -> None:
    files = bundles[name].files
    rendered = {
        resource["Type"]
        for stack in json.loads(files[MANIFEST])["stacks"]
        for resource in json.loads(files[stack["template"]]).get("Resources", {}).values()
    }
    assert sorted((rendered & HOLDS_DATA) - STATEFUL_TYPES) == []
