"""Preflight: what the account must hold before a deploy creates anything, checked per Region.

One line per check: the account is the scenario's, each Region is enabled, the Aurora engine version and instance
class are orderable for a global database, the zone is delegated, the images exist, the service-linked roles
exist (or can be created), the service quotas fit. ``drgen preflight`` prints them; ``drgen plan`` and
``drgen deploy`` run them first and refuse on a FAIL.
"""

from drgen.preflight.model import Check, Report, Status
from drgen.preflight.run import run

__all__ = ["Check", "Report", "Status", "run"]
