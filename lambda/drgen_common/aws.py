"""boto3 clients for the functions: region from the environment, no hidden retries, short timeouts.

botocore's own retries are switched off (one attempt) so that ``retry.retry`` is the only retry layer and its
budget is exact. ``AWS_ENDPOINT_URL`` (a local stand-in such as moto) is honoured by boto3 itself.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from drgen_common import config

CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1},
    connect_timeout=5,
    read_timeout=30,
)


def client(service: str, region: str | None = None) -> Any:
    """A client for ``service`` in ``region`` (default: the function's own region)."""
    return boto3.client(service, region_name=region or config.region(), config=CLIENT_CONFIG)


def arn_region(arn: str) -> str:
    """The region field of an ARN (``arn:aws:rds:eu-west-2:123:cluster:x`` -> ``eu-west-2``)."""
    parts = arn.split(":")
    if len(parts) < 6 or not parts[3]:
        raise ValueError(f"not a regional ARN: {arn!r}")
    return parts[3]
