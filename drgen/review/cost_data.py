"""The data stores' share of the cost estimate: Aurora instances and Serverless v2 capacity, which bill by the hour,
and DynamoDB on demand and S3 replication, which only bill with traffic (their per-use prices are shown)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drgen.bundle.evaluate import Env
from drgen.bundle.manifest import StackEntry
from drgen.review.cost_model import price_text
from drgen.review.cost_reader import OfType, Reader, properties, referenced


def databases(reader: Reader, stack: StackEntry, env: Env, resources: dict[str, Any], of_type: OfType) -> None:
    dr = stack.role == "secondary"
    for lid, resource in of_type("AWS::RDS::DBInstance"):
        props = properties(resource)
        klass = env.known(props.get("DBInstanceClass")) or "unknown class"
        engine = env.known(props.get("Engine")) or "aurora"
        if klass == "db.serverless":
            cluster = properties(resources.get(referenced(props.get("DBClusterIdentifier")) or "", {}))
            scaling = cluster.get("ServerlessV2ScalingConfiguration") or {}
            low = Decimal(env.known(scaling.get("MinCapacity")) or "0.5")
            high = Decimal(env.known(scaling.get("MaxCapacity")) or str(low))
            reader.add(
                stack,
                "aurora_acu",
                "Aurora Serverless v2 capacity (ACU)",
                low,
                high if dr else low,
                detail=f"{lid} {low.normalize():f}-{high.normalize():f} ACU ({engine})",
                order="acu",
            )
            continue
        priced = reader.prices.price("aurora_instance", klass) is not None
        item = f"Aurora {klass} instance" + ("" if priced else " (not in the price table)")
        reader.add(stack, "aurora_instance", item, 1, detail=f"{lid} ({engine})", order="aurora", price_kind=klass)


def tables_and_buckets(reader: Reader, stack: StackEntry, env: Env, of_type: OfType) -> None:
    prices = reader.prices
    for lid, resource in of_type("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"):
        props = properties(resource)
        if (env.known(props.get("BillingMode")) or "PROVISIONED") != "PAY_PER_REQUEST":
            reader.add(
                stack,
                "dynamodb_provisioned",
                "DynamoDB provisioned table (not in the price table)",
                1,
                detail=lid,
                order="dynamodb",
            )
            continue
        replicas = props.get("Replicas") or []
        extra = []
        if len(replicas) > 1:
            replicated = price_text(prices.usd("dynamodb_replicated_write"))
            extra.append(f"{len(replicas)} replicas, replicated writes USD {replicated} per million")
        pitr = [props.get("PointInTimeRecoverySpecification") or {}] + [
            r.get("PointInTimeRecoverySpecification") or {} for r in replicas if isinstance(r, dict)
        ]
        if any(env.known(p.get("PointInTimeRecoveryEnabled")) == "true" for p in pitr):
            extra.append(f"PITR USD {price_text(prices.usd('dynamodb_pitr'))} per GB-month")
        reader.note_usage(
            stack,
            "dynamodb_write",
            "DynamoDB on-demand table",
            ": ".join([lid, ", ".join(extra)] if extra else [lid]),
            order="dynamodb",
        )
    for lid, resource in of_type("AWS::S3::Bucket"):
        configuration = env.expand(properties(resource).get("ReplicationConfiguration"))
        rules = configuration.get("Rules", []) if isinstance(configuration, dict) else []
        rules = [r for r in rules if isinstance(r, dict) and r.get("Status") == "Enabled"]
        if not rules:
            continue
        reader.note_usage(stack, "inter_region_transfer", "S3 cross-region replication (transfer)", lid, "s3")
        if any((r.get("Destination") or {}).get("ReplicationTime", {}).get("Status") == "Enabled" for r in rules):
            reader.note_usage(stack, "s3_replication_time_control", "S3 Replication Time Control", lid, "rtc")
