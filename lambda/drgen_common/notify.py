"""Notices to the region's alert topic: a short subject and the details as JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from drgen_common import logs
from drgen_common.retry import retry

# SNS Publish: "Subjects must be UTF-8 text with no line breaks or control characters, and less than 100
# characters long" (ASCII here, so that no client renders it differently).
SUBJECT_LIMIT = 99


def subject_line(text: str) -> str:
    """``text`` made acceptable as an SNS subject."""
    ascii_text = text.encode("ascii", "replace").decode("ascii")
    return " ".join(ascii_text.split())[:SUBJECT_LIMIT]


def publish(sns: Any, topic_arn: str, subject: str, details: Mapping[str, Any]) -> str:
    """Publish to ``topic_arn``; returns the message id."""
    response = retry(
        sns.publish,
        TopicArn=topic_arn,
        Subject=subject_line(subject),
        Message=json.dumps(details, indent=2, sort_keys=True, default=str),
    )
    return str(response["MessageId"])


def publish_best_effort(sns: Any, topic_arn: str, subject: str, details: Mapping[str, Any]) -> bool:
    """``publish``, where a failure is logged and reported as False: callers record their outcome (metrics,
    state) first, so that a notice that cannot get out (an SNS outage, a missing KMS grant) loses nothing."""
    try:
        publish(sns, topic_arn, subject, details)
    except Exception as error:
        logs.error("the notice could not be published", topic=topic_arn, error=f"{type(error).__name__}: {error}")
        return False
    return True
