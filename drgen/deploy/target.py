"""Where drgen's AWS calls go: the account behind the credentials, or an endpoint such as a local sandbox.

Plain data, without boto3, so the command line builds it from its options before anything heavy is imported
(``drgen --help`` stays fast); ``drgen.deploy.session.Aws`` makes the clients from it.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from drgen.errors import DrgenError

DEFAULT_POLL_SECONDS = 2.0
# Target's fields in order: the command-line options that give them (drgen/cli/options.py) are named alike.
TARGET_FIELDS = ("endpoint_url", "profile", "retry_mode", "max_attempts", "poll_seconds")


@dataclass(frozen=True)
class Target:
    """Where to deploy: the account behind the credentials, or an endpoint such as a local moto server."""

    endpoint_url: str | None = None
    profile: str | None = None
    retry_mode: str = "standard"
    max_attempts: int | None = None  # None: AWS_MAX_ATTEMPTS, or ENDPOINT_MAX_ATTEMPTS with an endpoint
    poll_seconds: float = DEFAULT_POLL_SECONDS


def check_url(url: str, option: str, example: str) -> None:
    """Refuse a URL the HTTP stack would fail on deep inside (a traceback): not http(s), no host, a bad port,
    whitespace or control characters."""
    problem = ""
    try:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problem = "not an http(s) URL with a host"
        elif any(c.isspace() or not c.isprintable() for c in url):
            problem = "it holds whitespace or a control character"
        parts.port  # noqa: B018  (raises ValueError for a port out of range or not a number)
    except ValueError as error:
        problem = str(error)
    if problem:
        raise DrgenError(f"{option} {url!r}: {problem}; give one like {example}")
