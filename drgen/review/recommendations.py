"""Where the rendered bundle departs from what AWS recommends (not what it refuses: lint and preflight see
those), one line each for the change board, read from the templates.

- Aurora Serverless v2 as a global database's primary: "For a global database with Aurora Serverless v2, the
  minimum recommended capacity for the DB cluster in the primary AWS Region is 8 ACUs"
  (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database.configuration.requirements.html).
"""

from __future__ import annotations

from drgen.bundle.evaluate import Env
from drgen.bundle.manifest import LayerName
from drgen.bundle.reader import RenderedBundle

GLOBAL_PRIMARY_MIN_ACU = 8
REQUIREMENTS_URL = "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database.configuration.requirements.html"


def departures(bundle: RenderedBundle) -> list[str]:
    """What AWS recommends otherwise, as the primary region's data stack renders it."""
    entry = bundle.stack_of(LayerName.DATA, "primary")
    if entry is None:
        return []
    env = Env(bundle.templates[entry.template], entry)
    if not env.resources("AWS::RDS::GlobalCluster"):
        return []
    found = []
    for logical_id, cluster in env.resources("AWS::RDS::DBCluster").items():
        scaling = env.resolved(cluster.get("Properties", {}).get("ServerlessV2ScalingConfiguration")) or {}
        minimum = scaling.get("MinCapacity")
        if isinstance(minimum, int | float) and minimum < GLOBAL_PRIMARY_MIN_ACU:
            found.append(
                f"Against AWS's recommendation: {logical_id} ({entry.region}), the global database's primary, may "
                f"scale down to {minimum:g} ACUs; AWS recommends at least {GLOBAL_PRIMARY_MIN_ACU} for a global "
                f"database's primary cluster ({REQUIREMENTS_URL}). Raise database.serverless_min_acu for "
                "production (the monthly cost below counts the minimum)."
            )
    return found
