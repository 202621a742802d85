"""The engaged signal: every minute, publish FailoverEngaged from where the control table says traffic goes.

Route 53's failover-engaged health check follows the data stream of the DR region's FailoverEngaged alarm, not
its state: one datapoint from the DNS step would leave the stream empty a minute later. This function runs on a
one-minute schedule in the DR region and publishes 1 while traffic is recorded as going to the DR region, 0
otherwise, so the stream says what the last DNS step decided for as long as it stands (a failover: until the
failback's DNS step records ``primary``).
"""

from __future__ import annotations

from typing import Any

from drgen_common import aws, config, control, logs, metrics
from drgen_common.contract import CONTROL_TABLE, FAILOVER_ENGAGED, METRICS_NAMESPACE, TRAFFIC_DR
from drgen_common.metrics import Metric


def handler(_event: dict[str, Any], _context: Any) -> dict[str, Any]:
    return keep(
        aws.client("dynamodb"),
        aws.client("cloudwatch"),
        table=config.required(CONTROL_TABLE),
        namespace=config.required(METRICS_NAMESPACE),
    )


def keep(dynamodb: Any, cloudwatch: Any, *, table: str, namespace: str) -> dict[str, Any]:
    """Publish the recorded traffic direction once."""
    to = control.traffic(dynamodb, table)
    value = 1.0 if to == TRAFFIC_DR else 0.0
    metrics.publish(cloudwatch, namespace, Metric(FAILOVER_ENGAGED, value))
    logs.info("engaged signal", traffic_to=to, value=value)
    return {"traffic_to": to, "value": value}
