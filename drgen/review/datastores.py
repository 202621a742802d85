"""Every data store of a bundle and how it replicates, read from the templates (not from the scenario).

Aurora: which cluster is the global cluster's source and which clusters join it; DynamoDB global tables: their
replica regions; buckets: their replication rules' destinations; secrets: their replica regions. Each row is
one store in one stack, with names and regions resolved the way that stack will resolve them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drgen.bundle.evaluate import Env
from drgen.bundle.manifest import StackEntry
from drgen.bundle.reader import RenderedBundle
from drgen.review.resources import Traced, placements, trace

STORE_TYPES = {
    "AWS::RDS::GlobalCluster": ("Aurora global cluster", "GlobalClusterIdentifier"),
    "AWS::RDS::DBCluster": ("Aurora cluster", "DBClusterIdentifier"),
    "AWS::DynamoDB::GlobalTable": ("DynamoDB global table", "TableName"),
    "AWS::DynamoDB::Table": ("DynamoDB table", "TableName"),
    "AWS::S3::Bucket": ("S3 bucket", "BucketName"),
    "AWS::SecretsManager::Secret": ("secret", "Name"),
}


@dataclass(frozen=True)
class Store:
    template: str
    logical_id: str
    kind: str
    stack: StackEntry
    name: str
    encryption: str
    replication: str


def data_stores(bundle: RenderedBundle) -> list[Store]:
    """One entry per data store and stack that creates it, ordered by kind, template, logical id, stack."""
    stores = []
    kinds = list(STORE_TYPES)
    for path, doc in sorted(bundle.templates.items()):
        for logical_id, resource in sorted(doc.get("Resources", {}).items()):
            rtype = resource.get("Type")
            if rtype not in STORE_TYPES:
                continue
            kind, name_property = STORE_TYPES[rtype]
            props = resource.get("Properties", {})
            for placement in placements(bundle, path, resource):
                env = Env(doc, placement.stack)
                stores.append(
                    Store(
                        template=path,
                        logical_id=logical_id,
                        kind=kind,
                        stack=placement.stack,
                        name=env.show(props.get(name_property)) or "(generated)",
                        encryption=_encryption(bundle, placement.stack, env, rtype, props),
                        replication=_replication(bundle, placement.stack, env, rtype, logical_id, props),
                    )
                )
    return sorted(stores, key=lambda s: (kinds.index(_type_of(bundle, s)), s.template, s.logical_id, s.stack.role))


def _type_of(bundle: RenderedBundle, store: Store) -> str:
    return bundle.templates[store.template]["Resources"][store.logical_id]["Type"]


def _label(traced: list[Traced]) -> str:
    return ", ".join(f"{t.logical_id} ({t.stack.layer}, {t.stack.label})" for t in traced)


def _key(bundle: RenderedBundle, stack: StackEntry, env: Env, value: Any) -> str:
    """A KMS key reference as the key resource behind it, else as written."""
    if value is None:
        return ""
    return _label(trace(bundle, stack, value)) or env.show(value)


def _encryption(bundle: RenderedBundle, stack: StackEntry, env: Env, rtype: str, props: dict[str, Any]) -> str:
    if rtype == "AWS::RDS::DBCluster":
        if not props.get("StorageEncrypted"):
            return "**not encrypted**" if "GlobalClusterIdentifier" not in props else "inherits the global cluster's"
        return "KMS " + (_key(bundle, stack, env, props.get("KmsKeyId")) or "aws/rds")
    if rtype == "AWS::RDS::GlobalCluster":
        return "its members' keys"
    if rtype == "AWS::S3::Bucket":
        rules = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
        defaults = [r.get("ServerSideEncryptionByDefault", {}) for r in rules]
        return (
            "; ".join(
                f"{env.show(d.get('SSEAlgorithm'))} {_key(bundle, stack, env, d.get('KMSMasterKeyID'))}".strip()
                for d in defaults
            )
            or "SSE-S3 (S3 default)"
        )
    if rtype == "AWS::DynamoDB::GlobalTable":
        keys = [
            _key(bundle, stack, env, r.get("SSESpecification", {}).get("KMSMasterKeyId")) or "AWS owned key"
            for r in props.get("Replicas", [])
        ]
        return (
            "KMS per replica: " + "; ".join(keys)
            if props.get("SSESpecification", {}).get("SSEEnabled")
            else ("AWS owned key")
        )
    if rtype == "AWS::DynamoDB::Table":
        sse = props.get("SSESpecification", {})
        if not sse.get("SSEEnabled"):
            return "AWS owned key"
        return "KMS " + (_key(bundle, stack, env, sse.get("KMSMasterKeyId")) or "aws/dynamodb")
    return "KMS " + (_key(bundle, stack, env, props.get("KmsKeyId")) or "aws/secretsmanager")


def _replication(
    bundle: RenderedBundle, stack: StackEntry, env: Env, rtype: str, logical_id: str, props: dict[str, Any]
) -> str:
    if rtype == "AWS::RDS::DBCluster":
        return _cluster_replication(bundle, stack, env, logical_id, props)
    if rtype == "AWS::RDS::GlobalCluster":
        return _global_cluster_members(bundle, stack, props)
    if rtype == "AWS::DynamoDB::GlobalTable":
        replicas = props.get("Replicas", [])
        pitr = all(r.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled") for r in replicas)
        regions = ", ".join(env.show(r.get("Region")) for r in replicas)
        return f"multi-active replicas in {regions}" + ("; point-in-time recovery on every replica" if pitr else "")
    if rtype == "AWS::DynamoDB::Table":
        return "none (single-region table)"
    if rtype == "AWS::S3::Bucket":
        return _bucket_replication(bundle, stack, env, props)
    replicas = props.get("ReplicaRegions", [])
    if not replicas:
        return "none"
    return "; ".join(
        f"replica in {env.show(r.get('Region'))} (KMS {_key(bundle, stack, env, r.get('KmsKeyId')) or 'default'})"
        for r in replicas
    )


def _cluster_replication(
    bundle: RenderedBundle, stack: StackEntry, env: Env, logical_id: str, props: dict[str, Any]
) -> str:
    retention = props.get("BackupRetentionPeriod")
    backups = f"; backups kept {env.show(retention)} days" if retention is not None else ""
    if "GlobalClusterIdentifier" in props:
        joined = _label(trace(bundle, stack, props["GlobalClusterIdentifier"])) or env.show(
            props["GlobalClusterIdentifier"]
        )
        source = f" from {env.show(props['SourceRegion'])}" if "SourceRegion" in props else ""
        return f"secondary: read-only replica{source}, joins the global cluster {joined}{backups}"
    for global_stack, global_id in _global_clusters(bundle):
        doc = bundle.templates[global_stack.template]
        source = doc["Resources"][global_id].get("Properties", {}).get("SourceDBClusterIdentifier")
        if any(t.stack == stack and t.logical_id == logical_id for t in trace(bundle, global_stack, source)):
            return f"source (writer) of the global cluster {global_id} ({global_stack.label}){backups}"
    return f"none (single-region cluster){backups}"


def _global_clusters(bundle: RenderedBundle) -> list[tuple[StackEntry, str]]:
    found = []
    for path, doc in sorted(bundle.templates.items()):
        for logical_id, resource in sorted(doc.get("Resources", {}).items()):
            if resource.get("Type") == "AWS::RDS::GlobalCluster":
                found += [(p.stack, logical_id) for p in placements(bundle, path, resource)]
    return found


def _global_cluster_members(bundle: RenderedBundle, stack: StackEntry, props: dict[str, Any]) -> str:
    source = _label(trace(bundle, stack, props.get("SourceDBClusterIdentifier")))
    members = []
    for path, doc in sorted(bundle.templates.items()):
        for logical_id, resource in sorted(doc.get("Resources", {}).items()):
            joins = resource.get("Properties", {}).get("GlobalClusterIdentifier")
            if resource.get("Type") != "AWS::RDS::DBCluster" or joins is None:
                continue
            for placement in placements(bundle, path, resource):
                if any(t.stack == stack for t in trace(bundle, placement.stack, joins)):
                    members.append(f"{logical_id} ({placement.stack.label})")
    parts = [f"source: {source}" if source else "source: none (empty global cluster)"]
    parts.append("secondaries: " + (", ".join(members) if members else "none"))
    return "; ".join(parts) + "; storage-level asynchronous replication, typically under a second"


def _bucket_replication(bundle: RenderedBundle, stack: StackEntry, env: Env, props: dict[str, Any]) -> str:
    versioning = env.show(props.get("VersioningConfiguration", {}).get("Status")) or "off"
    configuration = props.get("ReplicationConfiguration")
    if configuration is None or not env.show(configuration):
        return f"none from here (versioning {versioning})"
    configuration = env.branch(configuration)
    if not isinstance(configuration, dict):
        return f"if {env.show(configuration)}"
    rules = []
    for rule in configuration.get("Rules", []):
        destination = rule.get("Destination", {})
        details = []
        key = destination.get("EncryptionConfiguration", {}).get("ReplicaKmsKeyID")
        if key is not None:
            details.append(f"re-encrypted with {_key(bundle, stack, env, key)}")
        if destination.get("ReplicationTime", {}).get("Status") == "Enabled":
            minutes = destination["ReplicationTime"].get("Time", {}).get("Minutes")
            details.append(f"Replication Time Control {minutes} min")
        if rule.get("DeleteMarkerReplication", {}).get("Status") == "Enabled":
            details.append("delete markers too")
        rules.append(
            f"to {env.show(destination.get('Bucket'))} ({', '.join(details)})"
            if details
            else f"to {env.show(destination.get('Bucket'))}"
        )
    return "; ".join(rules) + f" (versioning {versioning})"
