"""Is the Aurora engine version, on the instance class, orderable for a global database in each Region?

Asked of RDS (DescribeOrderableDBInstanceOptions: an option with SupportsGlobalDatabases), per Region, for what the
rendered data layer creates there. moto answers that call with nothing, so the sandbox reports UNKNOWN, with what
AWS's documentation says (drgen/preflight/documented.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from drgen.bundle.reader import RenderedBundle
from drgen.deploy.quota_needs import template_resources
from drgen.deploy.session import CLOUD_ERRORS, Aws, error_code
from drgen.preflight.documented import documented
from drgen.preflight.model import Check, fail, ok, unknown

NAME = "orderable"


@dataclass(frozen=True)
class Database:
    """What the data layer asks RDS for in one Region."""

    region: str
    engine: str
    version: str
    classes: tuple[str, ...]  # the instance classes of the Region's cluster (none: a headless cluster)


def databases(bundle: RenderedBundle) -> list[Database]:
    """The Aurora cluster each Region's stacks create (its engine, version and instance classes), Region order."""
    found: dict[str, Database] = {}
    for entry in bundle.stacks:
        resources = template_resources(bundle, entry)
        clusters = [r for r in resources if r.type == "AWS::RDS::DBCluster"]
        if not clusters:
            continue
        props = clusters[0].properties
        classes = sorted(
            {_value(r.properties.get("DBInstanceClass")) for r in resources if r.type == "AWS::RDS::DBInstance"}
        )
        found[entry.region] = Database(
            entry.region,
            _value(props.get("Engine")),
            _value(props.get("EngineVersion")),
            tuple(classes),
        )
    return list(found.values())


def _value(value: Any) -> str:
    """A property as text: template_resources has filled in the stack's parameter values already."""
    return str(value) if isinstance(value, str | int | float) else json.dumps(value)


def orderable(aws: Aws, database: Database) -> list[Check]:
    """One line per instance class of the Region's cluster (or one for the engine version alone)."""
    return [_orderable(aws, database, instance_class) for instance_class in database.classes or (None,)]


def _orderable(aws: Aws, db: Database, instance_class: str | None) -> Check:
    what = f"{db.engine} {db.version}" + (f" on {instance_class}" if instance_class else "")
    docs = documented(db.engine, db.version, instance_class, db.region)
    if aws.sandbox:
        return unknown(db.region, NAME, f"sandbox: moto does not model orderability of {what}; {docs.text}")
    ask: dict[str, Any] = {"Engine": db.engine, "EngineVersion": db.version}
    if instance_class:
        ask["DBInstanceClass"] = instance_class
    try:
        pages = aws.client("rds", db.region).get_paginator("describe_orderable_db_instance_options").paginate(**ask)
        options = [o for page in pages for o in page.get("OrderableDBInstanceOptions", [])]
    except CLOUD_ERRORS as exc:
        return unknown(db.region, NAME, f"RDS did not say ({error_code(exc) or 'error'}); {docs.text}")
    if any(o.get("SupportsGlobalDatabases") for o in options):
        return ok(db.region, NAME, f"{what} is orderable for a global database")
    listing = (
        f"aws rds describe-orderable-db-instance-options --engine {db.engine} --region {db.region}"
        + (f" --db-instance-class {instance_class}" if instance_class else "")
        + " --query 'OrderableDBInstanceOptions[?SupportsGlobalDatabases].[EngineVersion,DBInstanceClass]'"
        + " --output text"
    )
    verdict = "is orderable there but not for a global database" if options else "is not orderable there"
    return fail(
        db.region,
        NAME,
        f"{what} {verdict}: set database.engine_version (or database.instance_class) to what is; list it: {listing}",
    )
