"""The function's configuration: environment variables set by the template (see drgen/lambda_functions.py).

A missing required value is a deployment error, so it fails the invocation loudly with the variable's name
instead of surfacing later as a confusing AWS error.
"""

from __future__ import annotations

import os


class ConfigError(RuntimeError):
    """A required environment variable is missing or malformed."""


def required(name: str) -> str:
    """The value of ``name``; raises ConfigError when it is unset or empty."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigError(f"environment variable {name} is not set")
    return value


def optional(name: str, default: str = "") -> str:
    """The value of ``name``, or ``default`` when it is unset or empty."""
    return os.environ.get(name, "").strip() or default


def number(name: str, default: float | None = None) -> float:
    """``name`` as a float; ``default`` when unset (required when there is no default)."""
    raw = optional(name)
    if not raw:
        if default is None:
            raise ConfigError(f"environment variable {name} is not set")
        return default
    try:
        return float(raw)
    except ValueError as error:
        raise ConfigError(f"environment variable {name}={raw!r} is not a number") from error


def integer(name: str, default: int | None = None) -> int:
    """``name`` as a whole number; ``default`` when unset (required when there is no default)."""
    value = number(name, None if default is None else float(default))
    if not value.is_integer():
        raise ConfigError(f"environment variable {name}={value!r} is not a whole number")
    return int(value)


def region() -> str:
    """The region the function runs in (the Lambda runtime sets AWS_REGION)."""
    return optional("AWS_REGION") or required("AWS_DEFAULT_REGION")
