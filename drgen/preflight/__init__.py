"""Preflight: what the account must hold before a deploy creates anything, checked per Region.

One line per check: the account is the scenario's, each Region is enabled, the Aurora engine version and instance
class are orderable for a global database, the zone is delegated, the images exist, the service-linked roles
exist (or can be created), the service quotas fit. ``drgen preflight`` prints them; ``drgen plan`` and
``drgen deploy`` run them first and refuse on a FAIL.

``run`` (and boto3 behind it) is imported on first use: every render validates its scenario against
``drgen.preflight.documented``, which must not cost a render the AWS SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drgen.preflight.model import Check, Report, Status

if TYPE_CHECKING:
    from drgen.preflight.run import run

__all__ = ["Check", "Report", "Status", "run"]


def __getattr__(name: str) -> Any:
    if name == "run":
        from drgen.preflight.run import run as checks

        globals()["run"] = checks  # importing the submodule bound its name here: the function replaces it
        return checks
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
