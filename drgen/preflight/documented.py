"""What AWS documents about Aurora PostgreSQL global databases: the Regions, engine versions and instance classes.

The live check is DescribeOrderableDBInstanceOptions (``SupportsGlobalDatabases``) in each Region
(drgen/preflight/database.py). This table is what drgen knows without AWS: the note beside an UNKNOWN (the
sandbox, or credentials that may not ask RDS), and the test that every preset's engine version and instance
class are documented for a global database in both its Regions (tests/preflight/test_documented.py).

Sources, and what each confirmed:

- "Supported Regions and DB engines for Aurora global databases", section "Aurora global databases with Aurora
  PostgreSQL":
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.Aurora_Fea_Regions_DB-eng.Feature.GlobalDatabase.html
  Confirmed in AWS's own text (the page's last copy in github.com/awsdocs/amazon-aurora-user-guide, commit
  82a3f6cb0b35ae5e96b149f9a9ceeea0e7183a7b, doc_source/Concepts.Aurora_Fea_Regions_DB-eng.Feature.GlobalDatabase.md):
  every Region in GLOBAL_DATABASE_REGIONS has a row with Aurora PostgreSQL global databases, Europe (Zurich)
  eu-central-2 included, with the same floor in every Region (14.3 and higher for Aurora PostgreSQL 14). Asia
  Pacific (Melbourne) had none then, and Canada West (Calgary) and Israel (Tel Aviv) had no row yet: they are
  left out, so drgen claims nothing for them. Not confirmed in AWS's text: that copy predates Aurora PostgreSQL
  15 to 17, and the current page could not be read past its MySQL table here. Their floors below (15.2, 16.1,
  17.4, the same in every Region) are the current page's as a third-party summary of it quotes them; they agree
  with AWS's current Serverless v2 table (below), which lists 16.1 and higher in every Region above.
- "Configuration requirements of an Amazon Aurora global database":
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database.configuration.requirements.html
  Read in AWS's text: a global database "requires DB instance classes that are optimized for memory-intensive
  applications" (db.r*, db.x*; db.r5 or higher recommended), and it names Aurora Serverless v2 clusters in a global
  database (the primary's minimum recommended capacity is 8 ACUs).
- "Supported Regions and Aurora DB engines for Aurora serverless", section "Aurora serverless with Aurora
  PostgreSQL":
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.Aurora_Fea_Regions_DB-eng.Feature.ServerlessV2.html
  Read in AWS's current text: the Serverless v2 floors below (13.6, 14.3, 15.2, 16.1, 17.4, with the exceptions in
  SERVERLESS_V2_EXCEPTIONS), eu-central-2 included.

What only a live DescribeOrderableDBInstanceOptions can confirm: that the exact minor version (AWS retires old
minors) is orderable on the exact instance class in the account's Region today, with SupportsGlobalDatabases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GLOBAL_DATABASE_URL = (
    "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/"
    "Concepts.Aurora_Fea_Regions_DB-eng.Feature.GlobalDatabase.html"
)
ENGINE = "aurora-postgresql"

GLOBAL_DATABASE_REGIONS = frozenset({
    "us-east-1", "us-east-2", "us-west-1", "us-west-2",
    "af-south-1",
    "ap-east-1", "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "ca-central-1",
    "eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1", "eu-south-1", "eu-south-2",
    "me-south-1", "me-central-1",
    "sa-east-1",
})  # fmt: skip

# The lowest minor of each Aurora PostgreSQL major that supports a global database (every Region above).
GLOBAL_DATABASE_FLOORS: dict[int, tuple[int, int]] = {14: (14, 3), 15: (15, 2), 16: (16, 1), 17: (17, 4)}

# Aurora Serverless v2 (db.serverless): the lowest minor per major, and the Regions whose floors differ.
SERVERLESS_V2_FLOORS: dict[int, tuple[int, int]] = {13: (13, 6), 14: (14, 3), 15: (15, 2), 16: (16, 1), 17: (17, 4)}
SERVERLESS_V2_EXCEPTIONS: dict[str, dict[int, tuple[int, int]]] = {
    region: {13: (13, 9), 14: (14, 6)}
    for region in ("ap-south-2", "ap-southeast-4", "eu-central-2", "eu-south-2", "il-central-1", "me-central-1")
} | {"ca-west-1": {13: (13, 9), 14: (14, 6), 15: (15, 3)}}

SERVERLESS = "db.serverless"
_MEMORY_OPTIMIZED = re.compile(r"db\.[rx]\d")


@dataclass(frozen=True)
class Documented:
    supported: bool | None  # None: the table says nothing either way
    text: str


def _version(engine_version: str) -> tuple[int, int] | None:
    match = re.fullmatch(r"(\d+)\.(\d+)(?:\.\d+)?", engine_version)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _floor_text(floor: tuple[int, int]) -> str:
    return f"{floor[0]}.{floor[1]} and higher"


def documented(engine: str, engine_version: str, instance_class: str | None, region: str) -> Documented:
    """Whether AWS's documentation lists ``engine_version`` (on ``instance_class``) for an Aurora PostgreSQL
    global database in ``region``."""
    what = f"{engine} {engine_version}" + (f" on {instance_class}" if instance_class else "")
    version = _version(engine_version)
    if engine != ENGINE or version is None:
        return Documented(None, f"drgen's table covers {ENGINE} versions only, not {engine} {engine_version}")
    if region not in GLOBAL_DATABASE_REGIONS:
        return Documented(None, f"drgen's table of AWS's documentation has no row for {region} ({GLOBAL_DATABASE_URL})")
    floor = GLOBAL_DATABASE_FLOORS.get(version[0])
    if floor is None:
        return Documented(None, f"drgen's table has no Aurora PostgreSQL {version[0]} column")
    if version < floor:
        return Documented(
            supported=False, text=f"AWS documents global databases for {_floor_text(floor)} only, not {engine_version}"
        )
    if instance_class == SERVERLESS:
        serverless = SERVERLESS_V2_EXCEPTIONS.get(region, {}).get(version[0]) or SERVERLESS_V2_FLOORS.get(version[0])
        if serverless is None or version < serverless:
            return Documented(
                supported=False, text=f"AWS documents no Aurora Serverless v2 for {engine_version} in {region}"
            )
    elif instance_class is not None and not _MEMORY_OPTIMIZED.match(instance_class):
        return Documented(
            supported=False, text=f"{instance_class} is not memory optimized (db.r*, db.x*), as a global database needs"
        )
    return Documented(supported=True, text=f"AWS documents {what} global databases in {region} ({_floor_text(floor)})")
