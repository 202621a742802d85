"""The resource types that hold data, in one place: deploy, destroy, review and lint all ask here.

A stateful type loses something when its resource is replaced or deleted: deploy refuses a replacement without
``--allow-replace``, lint requires an explicit DeletionPolicy that does not retain, and the review marks its
changes red. A data type's contents are lost with its stack, so destroy lists them before it asks; a KMS key is
stateful (deleting it makes everything it encrypted unreadable) but is scheduled for deletion with a waiting
period rather than lost with the stack, so destroy does not list it.
"""

from __future__ import annotations

DATA_TYPES = {
    "AWS::S3::Bucket": "bucket",
    "AWS::RDS::DBCluster": "Aurora cluster",
    "AWS::RDS::DBInstance": "database instance",
    "AWS::RDS::GlobalCluster": "Aurora global database",
    "AWS::DynamoDB::Table": "DynamoDB table",
    "AWS::DynamoDB::GlobalTable": "DynamoDB global table",
    "AWS::Backup::BackupVault": "AWS Backup vault",
}

STATEFUL_TYPES = frozenset({*DATA_TYPES, "AWS::KMS::Key"})
