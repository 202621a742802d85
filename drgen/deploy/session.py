"""AWS access: one boto3 session, a client per (service, region), retries, and errors a user can act on.

Clients are thread-safe once built; building them is not, so the cache is locked. Throttling is retried by
botocore itself (``standard`` or ``adaptive`` retry mode). Against a moto endpoint fewer attempts are
configured: its 500s are bugs that no retry fixes, and retrying them only slows the run down.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)
from botocore.parsers import ResponseParserError

from drgen.deploy.target import Target
from drgen.errors import DrgenError

AWS_MAX_ATTEMPTS = 10
ENDPOINT_MAX_ATTEMPTS = 3
# What an AWS call may raise (an unparseable body is how a moto 500 arrives).
CLOUD_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError, ResponseParserError)
# What a node of the graph may raise that is not a drgen bug: reported as that stack's failure.
AWS_ERRORS: tuple[type[Exception], ...] = (*CLOUD_ERRORS, DrgenError)


class Aws:
    """Clients for every region of a deployment, sharing one session and one retry configuration."""

    def __init__(self, target: Target) -> None:
        self.target = target
        try:
            self._session = boto3.session.Session(profile_name=target.profile)
        except ProfileNotFound:
            raise DrgenError(
                f"AWS profile '{target.profile}' not found; check ~/.aws/config or drop --profile"
            ) from None
        default_attempts = ENDPOINT_MAX_ATTEMPTS if target.endpoint_url else AWS_MAX_ATTEMPTS
        self._config = Config(
            retries={"mode": target.retry_mode, "max_attempts": target.max_attempts or default_attempts},
            connect_timeout=5,
            read_timeout=60,
        )
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}
        self._account: str | None = None
        self.sandbox = bool(target.endpoint_url) and is_moto(target.endpoint_url or "")

    def client(self, service: str, region: str) -> Any:
        with self._lock:
            key = (service, region)
            if key not in self._clients:
                self._clients[key] = self._session.client(
                    service, region_name=region, endpoint_url=self.target.endpoint_url, config=self._config
                )
            return self._clients[key]

    def has_credentials(self) -> bool:
        return self._session.get_credentials() is not None

    def account_id(self, region: str = "us-east-1") -> str:
        """The account behind the credentials; the first call is the reachability check, in plain words. STS is
        asked in ``region``: an operation that must not depend on a lost Region asks in one it relies on."""
        if self._account is None:
            where = self.target.endpoint_url or "AWS"
            try:
                identity = self.client("sts", region).get_caller_identity()
            except (NoCredentialsError, PartialCredentialsError):
                raise DrgenError(
                    "no AWS credentials found; pass --profile, or set AWS_PROFILE or AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY"
                ) from None
            except EndpointConnectionError:
                raise DrgenError(f"cannot reach {where}; check --endpoint-url and your network") from None
            except NoRegionError:
                raise DrgenError("no AWS region configured; set AWS_DEFAULT_REGION") from None
            except ClientError as exc:
                raise DrgenError(f"{where} refused the credentials: {error_text(exc)}") from None
            except BotoCoreError as exc:
                raise DrgenError(f"cannot reach {where}: {exc}") from None
            self._account = str(identity["Account"])
        return self._account


def is_moto(endpoint_url: str) -> bool:
    """A moto server answers ``/moto-api/config`` with its JSON configuration; nothing else does."""
    try:
        with urllib.request.urlopen(endpoint_url.rstrip("/") + "/moto-api/config", timeout=3) as response:
            return isinstance(json.loads(response.read()), dict)
    except (OSError, ValueError, urllib.error.URLError):
        return False


# drgen's sandbox server (drgen/operate/moto_server.py) answers an exception moto raised with a 500 whose body is
# this and the exception, in one line; botocore keeps the body in its error.
MOTO_RAISED = "moto raised "
_MOTO_RAISED = re.compile(re.escape(MOTO_RAISED) + r"[^'\\\n]*")


def error_text(exc: BaseException) -> str:
    """One line for a failure: the AWS error code and message, or the exception's own text."""
    if isinstance(exc, ResponseParserError):
        raised = _MOTO_RAISED.search(str(exc))
        cause = raised.group(0) if raised else "moto: a gap, see its log"
        return f"the endpoint answered with an error page instead of an AWS error ({cause})"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", ""), error.get("Message", "")
        return f"{code}: {message}" if code and message else str(exc)
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def error_code(exc: BaseException) -> str:
    return exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
