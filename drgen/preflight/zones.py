"""Does this account have, available, every Availability Zone the subnets name, in each Region?

Zone names are the account's: "Availability Zone names ... might not map to the same location for different
accounts", and some accounts see fewer zones in a Region than others (us-west-1 has two for most). The subnets
use fixed letters (drgen/builders/network.py), so a zone the account lacks fails the foundation stack's subnet
("Value (us-west-1c) for parameter availabilityZone is invalid") after the create has begun. DescribeAvailabilityZones
answers for this account (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeAvailabilityZones.html).
"""

from __future__ import annotations

from collections.abc import Iterable

from drgen.bundle.reader import RenderedBundle
from drgen.deploy.quota_needs import template_resources
from drgen.deploy.session import CLOUD_ERRORS, Aws, error_code
from drgen.preflight.model import Check, fail, ok, unknown

NAME = "zones"


def zones_used(bundle: RenderedBundle) -> dict[str, set[str]]:
    """Region -> the Availability Zones its subnets name (the stacks' parameters and conditions applied)."""
    used: dict[str, set[str]] = {}
    for entry in bundle.stacks:
        for resource in template_resources(bundle, entry):
            zone = resource.properties.get("AvailabilityZone") if resource.type == "AWS::EC2::Subnet" else None
            if isinstance(zone, str):
                used.setdefault(entry.region, set()).add(zone)
    return used


def zone_checks(aws: Aws, bundle: RenderedBundle, regions: Iterable[str]) -> list[Check]:
    """One line per Region (of ``regions``, the enabled ones) whose subnets name zones."""
    checks = []
    enabled = set(regions)
    for region, wanted in sorted(zones_used(bundle).items()):
        if region not in enabled:
            continue
        try:
            answer = aws.client("ec2", region).describe_availability_zones(
                Filters=[{"Name": "zone-type", "Values": ["availability-zone"]}]
            )
        except CLOUD_ERRORS as exc:
            checks.append(unknown(region, NAME, f"cannot list the Availability Zones ({error_code(exc) or exc})"))
            continue
        available = {z["ZoneName"] for z in answer.get("AvailabilityZones", []) if z.get("State") == "available"}
        missing = sorted(wanted - available)
        if missing:
            checks.append(
                fail(
                    region,
                    NAME,
                    f"the subnets use {', '.join(missing)}, which this account does not have available here (it has "
                    f"{', '.join(sorted(available)) or 'none'}); set network.az_count to {len(wanted) - len(missing)} "
                    "or choose another Region",
                )
            )
        else:
            checks.append(ok(region, NAME, f"{', '.join(sorted(wanted))} available"))
    return checks
