"""An HTTP check of an endpoint: it answers 200 with a body (an empty 200 is a broken application)."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass

TIMEOUT_SECONDS = 5.0
BODY_LIMIT = 65536


@dataclass(frozen=True)
class Answer:
    url: str
    status: int | None  # None: no HTTP answer at all
    body: str
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.body.strip())

    def describe(self) -> str:
        if self.status is None:
            return f"{self.url}: no answer ({self.error})"
        return f"{self.url}: HTTP {self.status}, {len(self.body)} characters"


def get(url: str, timeout: float = TIMEOUT_SECONDS) -> Answer:
    """GET ``url`` (http or https only); never raises for an unreachable or failing endpoint."""
    if not url.startswith(("https://", "http://")):
        return Answer(url, None, "", "not an http(s) URL")
    request = urllib.request.Request(url, headers={"User-Agent": "drgen-probe"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(url, response.status, response.read(BODY_LIMIT).decode("utf-8", "replace"))
    except urllib.error.HTTPError as error:
        return Answer(url, error.code, error.read(BODY_LIMIT).decode("utf-8", "replace"))
    except (OSError, ValueError) as error:
        return Answer(url, None, "", f"{type(error).__name__}: {error}")
