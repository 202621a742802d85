"""Replication-lag monitor: a heartbeat written in the writer region, its age measured in the replica region.

EventBridge schedules run at most once a minute and the failover's confirm step reads the heartbeat as a failure
signal within seconds, so one invocation takes SAMPLES samples SAMPLE_INTERVAL_SECONDS apart (drgen renders 6
and 10; seed 001 asks for at least one every 30 s).

Which region writes is found by trying: DB_ENDPOINT is this region's cluster writer endpoint, inactive while the
cluster is a secondary (the connection then goes to DB_READER_ENDPOINT), and a write fails with SQLSTATE 25006
(read-only transaction) on a replica. So the monitor measures wherever the replica is now: in the DR region
before a failover, in the primary region after one.

The writer beats every second for SAMPLES x SAMPLE_INTERVAL_SECONDS + OVERLAP_SECONDS (90 s, within the Lambda's
time): consecutive invocations overlap, so a schedule that fires up to 30 s late leaves no gap in the beats (a
scheduled rule's precision is one minute), and the age the replica sees is the replication lag plus at most
one beat interval: a heartbeat older than a few seconds means the writer stopped, not that a run started late.
The replica publishes ReplicationLagSeconds = its clock - the other region's latest beat, once per sample.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drgen_common import aws, config, db, logs, metrics
from drgen_common.contract import METRICS_NAMESPACE, REPLICATION_LAG, SAMPLE_INTERVAL_SECONDS, SAMPLES
from drgen_common.metrics import Metric
from drgen_common.schema import HEARTBEAT_DDL, HEARTBEAT_TABLE, table_exists

BEAT_SECONDS = 1.0
MARGIN_SECONDS = 5.0
OVERLAP_SECONDS = 30.0  # the writer beats on into the next invocation

BEAT_SQL = (
    f"INSERT INTO {HEARTBEAT_TABLE} (region, beat) VALUES (:region, clock_timestamp()) "
    "ON CONFLICT (region) DO UPDATE SET beat = EXCLUDED.beat"
)
# The newest beat another region wrote (after a failover the old writer's row stays behind, older).
AGE_SQL = (
    f"SELECT EXTRACT(EPOCH FROM clock_timestamp() - beat) FROM {HEARTBEAT_TABLE} "
    "WHERE region <> :region ORDER BY beat DESC LIMIT 1"
)


@dataclass(frozen=True)
class Schedule:
    samples: int = 2
    interval: float = 30.0
    beat: float = BEAT_SECONDS
    overlap: float = OVERLAP_SECONDS
    budget: float = math.inf  # seconds this invocation may still run (the Lambda timeout minus a margin)

    @property
    def window(self) -> float:
        """How long the writer keeps beating: well into the next invocation, within the budget."""
        return min(self.samples * self.interval + self.overlap, self.budget)

    @property
    def sample_count(self) -> int:
        """How many samples, ``interval`` apart, the replica can take within the budget."""
        if math.isinf(self.budget):
            return self.samples
        return max(1, min(self.samples, int(self.budget // self.interval) + 1))


def handler(_event: dict[str, Any], context: Any) -> dict[str, Any]:
    writer = db.configured_target(aws.client("secretsmanager"))
    cloudwatch = aws.client("cloudwatch")
    namespace = config.required(METRICS_NAMESPACE)
    # The writer endpoint where it is active; after a failover this region's cluster is the replica, its writer
    # endpoint inactive, and the lag to measure is here (the failback's guard reads it): the reader endpoint.
    connection = db.connect_first([writer, db.reader_of(writer)])
    try:
        return monitor(
            connection,
            region=config.region(),
            schedule=Schedule(
                samples=config.integer(SAMPLES, 2),
                interval=config.number(SAMPLE_INTERVAL_SECONDS, 30.0),
                budget=_budget(context),
            ),
            publish=lambda *values: metrics.publish(cloudwatch, namespace, *values),
        )
    finally:
        connection.close()


def _budget(context: Any) -> float:
    """The Lambda's remaining time minus a margin for closing up; unlimited outside Lambda."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return remaining() / 1000 - MARGIN_SECONDS if remaining else math.inf


def monitor(
    connection: Any,
    *,
    region: str,
    schedule: Schedule,
    publish: Callable[..., None],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Beat as the writer, or measure as the replica; the first write attempt decides which."""
    try:
        connection.run(HEARTBEAT_DDL)
        connection.run(BEAT_SQL, region=region)
    except Exception as error:
        if not db.is_read_only(error):
            raise
        return _measure(connection, region, schedule, publish, sleep)
    return _beat(connection, region, schedule, clock, sleep)


def _beat(
    connection: Any, region: str, schedule: Schedule, clock: Callable[[], float], sleep: Callable[[float], None]
) -> dict[str, Any]:
    """Keep the heartbeat fresh for the schedule's window (the first beat is already written)."""
    deadline = clock() + schedule.window
    beats = 1
    while (remaining := deadline - clock()) > 0:
        sleep(min(schedule.beat, remaining))
        connection.run(BEAT_SQL, region=region)
        beats += 1
    logs.info("heartbeat written", region=region, beats=beats)
    return {"role": "writer", "region": region, "beats": beats}


def _measure(
    connection: Any, region: str, schedule: Schedule, publish: Callable[..., None], sleep: Callable[[float], None]
) -> dict[str, Any]:
    """Sample the age of the writer's heartbeat and publish each sample."""
    lags: list[float | None] = []
    for sample in range(schedule.sample_count):
        if sample:
            sleep(schedule.interval)
        lag = heartbeat_age(connection, region)
        lags.append(lag)
        if lag is None:
            logs.warning("no heartbeat from the writer region yet", region=region)
            continue
        publish(Metric(REPLICATION_LAG, lag, "Seconds"))
        logs.info("replication lag", region=region, lag_seconds=lag)
    return {"role": "replica", "region": region, "lag_seconds": lags}


def heartbeat_age(connection: Any, region: str) -> float | None:
    """Seconds since the other region's newest beat (never negative); None before any beat arrived."""
    if not table_exists(connection, HEARTBEAT_TABLE):
        return None
    rows = connection.run(AGE_SQL, region=region)
    return max(0.0, round(float(rows[0][0]), 3)) if rows else None
