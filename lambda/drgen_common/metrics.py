"""Custom CloudWatch metrics: publish them, and read the latest value back (lag checks).

Metrics carry no dimensions: each region's CloudWatch is separate already, and the alarms the templates
define watch the metric name in METRICS_NAMESPACE without dimensions. The names are in ``contract``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from drgen_common import clock
from drgen_common.retry import retry

PERIOD_SECONDS = 60


@dataclass(frozen=True)
class Metric:
    name: str
    value: float
    unit: str = "None"
    # 1: a high-resolution datapoint, which an alarm with a 10 s period can see (standard resolution is 60 s)
    resolution: int = 60


def publish(cloudwatch: Any, namespace: str, *metrics: Metric) -> None:
    """Put the metrics in one call, stamped with the function's clock."""
    stamp = clock.utcnow()
    retry(
        cloudwatch.put_metric_data,
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": m.name,
                "Value": float(m.value),
                "Unit": m.unit,
                "Timestamp": stamp,
                **({"StorageResolution": 1} if m.resolution == 1 else {}),
            }
            for m in metrics
        ],
    )


def latest_maximum(cloudwatch: Any, namespace: str, name: str, window_seconds: int) -> float | None:
    """The maximum of the most recent minute with data within the window; None when there is no data."""
    end = clock.utcnow()
    response = retry(
        cloudwatch.get_metric_data,
        MetricDataQueries=[
            {
                "Id": "latest",
                "MetricStat": {
                    "Metric": {"Namespace": namespace, "MetricName": name},
                    "Period": PERIOD_SECONDS,
                    "Stat": "Maximum",
                },
            }
        ],
        StartTime=end - timedelta(seconds=window_seconds),
        EndTime=end + timedelta(seconds=PERIOD_SECONDS),
        ScanBy="TimestampDescending",
    )
    values = response["MetricDataResults"][0]["Values"]
    return float(values[0]) if values else None
