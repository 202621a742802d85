"""JSON log lines: one object per line, so CloudWatch Logs Insights can filter on any field.

``info("promoted", target=arn)`` writes ``{"level": "INFO", "message": "promoted", "target": "...", ...}``.
The Lambda runtime's own handler on the root logger is bypassed (propagate off) so lines stay pure JSON.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

_FIELDS = "drgen_fields"


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, message, then the caller's fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, _FIELDS, {}),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, sort_keys=True)


def _logger() -> logging.Logger:
    logger = logging.getLogger("drgen")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    return logger


LOGGER = _logger()


def info(message: str, **fields: Any) -> None:
    LOGGER.info(message, extra={_FIELDS: fields})


def warning(message: str, **fields: Any) -> None:
    LOGGER.warning(message, extra={_FIELDS: fields})


def error(message: str, *, exc_info: bool = False, **fields: Any) -> None:
    LOGGER.error(message, exc_info=exc_info, extra={_FIELDS: fields})
