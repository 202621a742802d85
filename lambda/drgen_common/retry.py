"""Retries with exponential backoff and full jitter, for throttling and transient AWS errors.

The boto3 clients drgen builds (``aws.client``) do not retry on their own, so this is the one retry layer:
an attempt budget is exact, and every retry is logged. Full jitter (a uniform delay between 0 and the
exponential cap) spreads the retries of many concurrent callers, e.g. every function of a region retrying
after the same throttling burst.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from drgen_common import logs

T = TypeVar("T")

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "PriorRequestNotComplete",
        "SlowDown",
        "EC2ThrottledException",
        "BandwidthLimitExceeded",
    }
)
# A strongly consistent global table refuses a write while another region modifies the same item; it succeeds
# once that write is done (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html).
CONFLICT_CODES = frozenset({"ReplicatedWriteConflictException"})
TRANSIENT_CODES = frozenset(
    {
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)


@dataclass(frozen=True)
class Backoff:
    """How often and how long to retry: delay before retry n is uniform(0, min(cap, base * 2**n))."""

    attempts: int = 5
    base: float = 0.25
    cap: float = 8.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("Backoff.attempts counts the first try too: it must be at least 1")

    def ceiling(self, retry_number: int) -> float:
        """The largest delay before retry ``retry_number`` (0 for the first retry)."""
        return min(self.cap, self.base * 2**retry_number)


DEFAULT = Backoff()


def error_code(error: BaseException) -> str:
    """The AWS error code of a ClientError ("" for anything else)."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return ""


def is_retryable(error: BaseException) -> bool:
    """Throttling, a transient service error (5xx, timeouts), a replicated write conflict or a connection
    failure."""
    if isinstance(error, BotoConnectionError | HTTPClientError):
        return True
    if not isinstance(error, ClientError):
        return False
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    code = error_code(error)
    return (
        code in THROTTLING_CODES or code in TRANSIENT_CODES or code in CONFLICT_CODES or status == 429 or status >= 500
    )


def retry(
    call: Callable[..., T],
    /,
    *args: Any,
    backoff: Backoff = DEFAULT,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[float, float], float] = random.uniform,
    **kwargs: Any,
) -> T:
    """``call(*args, **kwargs)``, retried on retryable errors up to ``backoff.attempts`` attempts in all."""
    for attempt in range(backoff.attempts):
        try:
            return call(*args, **kwargs)
        except Exception as error:
            if attempt + 1 >= backoff.attempts or not is_retryable(error):
                raise
            delay = jitter(0.0, backoff.ceiling(attempt))
            logs.warning(
                "retrying",
                call=getattr(call, "__name__", repr(call)),
                attempt=attempt + 1,
                error=error_code(error) or type(error).__name__,
                delay_seconds=round(delay, 3),
            )
            sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")
