"""RPO terms, one per replicated data store, read from the bundle's templates.

An unplanned failover loses what a store had not replicated yet: for Aurora the replication lag (bounded in
practice by the lag alarm: beyond its threshold someone is told), for DynamoDB global tables about a second
(none with multi-Region strong consistency), for S3 what Replication Time Control has not copied yet (15
minutes guaranteed). A planned switchover (``SwitchoverGlobalCluster``) loses nothing in Aurora.
"""

from __future__ import annotations

from typing import Any

from drgen.budget import figures as f
from drgen.budget.model import Term
from drgen.budget.views import BundleDocs, Stack, amount, number
from drgen.bundle.manifest import LayerName

LAG_METRICS = ("AuroraGlobalDBReplicationLag", "AuroraGlobalDBRPOLag")
ASYNC = (
    "Aurora Global Database replicates asynchronously: an unplanned failover (AllowDataLoss) loses up to "
    "the replication lag; only a planned switchover (SwitchoverGlobalCluster, `drgen failover --planned`) "
    "is lossless"
)


def rpo_terms(docs: BundleDocs) -> list[Term]:
    terms = []
    primary_data, dr_data = docs.stack(LayerName.DATA, "primary"), docs.stack(LayerName.DATA, "secondary")
    if primary_data is not None and dr_data is not None:
        terms += _aurora(primary_data, dr_data)
        terms += _tables(primary_data)
    foundation = docs.stack(LayerName.FOUNDATION, "primary")
    if foundation is not None:
        terms += _buckets(foundation)
    return terms


def _aurora(primary: Stack, dr: Stack) -> list[Term]:
    clusters = primary.resources("AWS::RDS::GlobalCluster")
    if not clusters:
        return []
    engine = next((c["Properties"].get("Engine") for c in primary.resources("AWS::RDS::DBCluster").values()), "")
    setting = "a lower lag alarm Threshold (scenario database.lag_alarm_seconds)"
    if engine == "aurora-postgresql":
        setting += (
            f", and the cluster parameter {f.AURORA_MANAGED_RPO} (>= {f.AURORA_MANAGED_RPO_MIN} s) to block "
            "commits beyond it"
        )
    name = f"Aurora {next(iter(clusters))}"
    for logical_id, alarm in dr.resources("AWS::CloudWatch::Alarm").items():
        props = alarm["Properties"]
        if props.get("MetricName") in LAG_METRICS:
            threshold = amount(props.get("Threshold")) / 1000  # milliseconds
            seconds = max(f.AURORA_REPLICATION.figure, threshold)
            return [
                Term(
                    "rpo",
                    name,
                    _whole(seconds),
                    f"lag tolerated without an alarm: Threshold {props.get('Threshold')} ms "
                    f"(typical lag under {f.AURORA_REPLICATION.seconds} s)",
                    dr.source(logical_id, "Threshold"),
                    f.AURORA_REPLICATION,
                    floor=f.AURORA_REPLICATION.seconds,
                    setting=setting,
                    limit=ASYNC,
                )
            ]
    return [
        Term(
            "rpo",
            name,
            None,
            "no replication-lag alarm: the lag is not watched",
            primary.source(next(iter(clusters)), "SourceDBClusterIdentifier"),
            f.AURORA_REPLICATION,
            floor=f.AURORA_REPLICATION.seconds,
            setting="a replication-lag alarm (" + setting + ")",
            limit=ASYNC,
        )
    ]


def _tables(primary: Stack) -> list[Term]:
    terms = []
    for logical_id, table in primary.resources("AWS::DynamoDB::GlobalTable").items():
        consistency = table["Properties"].get("MultiRegionConsistency", "EVENTUAL")
        strong = consistency == "STRONG"
        terms.append(
            Term(
                "rpo",
                f"DynamoDB {logical_id}",
                0 if strong else f.DYNAMODB_REPLICATION.seconds,
                f"MultiRegionConsistency {consistency}"
                + (": a write returns once a second region has it" if strong else ""),
                primary.source(logical_id, "MultiRegionConsistency"),
                f.DYNAMODB_REPLICATION,
                floor=0,
                setting=f"{logical_id} MultiRegionConsistency STRONG (needs three Regions, or two and a witness)",
            )
        )
    return terms


def _buckets(foundation: Stack) -> list[Term]:
    """Replicated buckets hold artifacts, configuration and backups: the seeds' RPO is about the transactional
    data (database, sessions), so bucket replication is reported beside the budget, not held against it."""
    terms = []
    for logical_id, bucket in foundation.resources("AWS::S3::Bucket").items():
        replication = foundation.resolve_deep(bucket["Properties"].get("ReplicationConfiguration"))
        if not replication:
            continue
        terms.append(_bucket(foundation, logical_id, replication))
    return terms


def _bucket(foundation: Stack, logical_id: str, replication: dict[str, Any]) -> Term:
    rtc = [r["Destination"].get("ReplicationTime", {}) for r in replication.get("Rules", [])]
    found = [number(t.get("Time", {}).get("Minutes")) for t in rtc if t.get("Status") == "Enabled"]
    minutes = [m for m in found if m]
    source = foundation.source(logical_id, "ReplicationConfiguration.Rules[].Destination.ReplicationTime")
    if rtc and len(minutes) == len(rtc):
        seconds = max(minutes) * 60
        return Term(
            "rpo",
            f"S3 {logical_id}",
            seconds,
            f"Replication Time Control {max(minutes)} min",
            source,
            f.S3_RTC,
            counted=False,
            limit="S3 RTC's 15 minutes is its only value and no setting shortens it: keep data "
            "that needs a shorter RPO in the database or the table",
        )
    return Term(
        "rpo",
        f"S3 {logical_id}",
        None,
        "replication without Replication Time Control",
        source,
        f.S3_NO_RTC,
        floor=f.S3_RTC.seconds,
        setting=f"{logical_id} ReplicationTime Enabled (15 min)",
        counted=False,
    )


def _whole(seconds: float) -> int | float:
    return int(seconds) if float(seconds).is_integer() else seconds
