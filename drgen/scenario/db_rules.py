"""Aurora PostgreSQL's rule for the cluster's master user name, refused here rather than by CreateDBCluster."""

from __future__ import annotations

import re

# CreateDBCluster MasterUsername: "Must be 1 to 16 letters or numbers. First character must be a letter. Can't be
# a reserved word for the chosen database engine."
# (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBCluster.html)
MASTER_USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,15}$")

# PostgreSQL's reserved key words (those marked "reserved", with or without "(can be function or type)", in
# https://www.postgresql.org/docs/current/sql-keywords-appendix.html) that the pattern above lets through.
_POSTGRESQL_RESERVED = """
    all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate
    collation column concurrently constraint create cross default deferrable desc distinct do else end except
    false fetch for foreign freeze from full grant group having ilike in initially inner intersect into is isnull
    join lateral leading left like limit localtime localtimestamp natural not notnull null offset on only or order
    outer overlaps placing primary references returning right select similar some symmetric table tablesample
    then to trailing true union unique user using variadic verbose when where window with
"""
# Role names PostgreSQL keeps for itself: 'role name "public" is reserved', and likewise "none"
# (https://www.postgresql.org/docs/current/sql-createrole.html); and RDS's own administrative role, rdsadmin
# (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Appendix.PostgreSQL.CommonDBATasks.Roles.html).
_RESERVED_ROLES = "public none rdsadmin"
RESERVED_USERNAMES = frozenset((_POSTGRESQL_RESERVED + _RESERVED_ROLES).split())


def master_username_problem(name: str) -> str | None:
    """Why Aurora PostgreSQL would refuse ``name`` as the master user name, or None."""
    if not MASTER_USERNAME_RE.match(name):
        return "use 1 to 16 letters or digits, starting with a letter (Aurora allows no '_' or other characters)"
    if name.lower() in RESERVED_USERNAMES:
        return "reserved by PostgreSQL or RDS; choose another name, such as dbadmin"
    return None
