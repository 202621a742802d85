"""The DNS validation records of the certificates destroy deletes: removed from the zone once nothing needs them.

CloudFormation creates a certificate's validation CNAME in the zone named by DomainValidationOptions'
HostedZoneId, and leaves it there when the certificate is deleted; in a zone drgen created, that record alone
keeps the zone from being deleted (HostedZoneNotEmpty), and in the user's zone it is litter. ACM gives every
certificate of one account the same validation record for the same domain name (both regions' certificates
share them, and so may certificates outside drgen, in any Region), so a record is deleted only when no
certificate left in any Region enabled for the account still names it; when a Region cannot be listed, every
record stays (a record deleted under another certificate fails its renewal: "ACM cannot renew your certificate
automatically" without it, https://docs.aws.amazon.com/acm/latest/userguide/dns-renewal-validation.html).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from drgen.deploy.session import CLOUD_ERRORS, Aws, error_text
from drgen.deploy.zone import fqdn
from drgen.regions import ROUTE53_METRICS_REGION

CERTIFICATE = "AWS::CertificateManager::Certificate"


@dataclass(frozen=True)
class ValidationRecord:
    zone_id: str
    name: str  # fully qualified, lower case, with the trailing dot
    value: str


def certificate_records(acm: Any, certificate_arn: str) -> list[tuple[str, str]]:
    """(name, value) of each DNS validation record ACM asks for."""
    options = acm.describe_certificate(CertificateArn=certificate_arn)["Certificate"].get("DomainValidationOptions", [])
    return sorted(
        {
            (fqdn(o["ResourceRecord"]["Name"]), o["ResourceRecord"]["Value"])
            for o in options
            if o.get("ResourceRecord", {}).get("Type") == "CNAME"
        }
    )


@dataclass
class Collected:
    """The validation records of the certificates in the stacks destroy deleted (filled from several threads)."""

    records: set[ValidationRecord] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, acm: Any, certificate_arn: str, zone_id: str | None) -> None:
        if not zone_id:
            return
        found = certificate_records(acm, certificate_arn)
        with self._lock:
            self.records.update(ValidationRecord(zone_id, name, value) for name, value in found)


def enabled_regions(aws: Aws, region: str) -> set[str]:
    """The Regions enabled for the account (DescribeRegions without AllRegions lists only those)."""
    return {r["RegionName"] for r in aws.client("ec2", region).describe_regions()["Regions"]}


def still_needed(aws: Aws, regions: Iterable[str]) -> set[str]:
    """The validation record names the certificates still in the account's ``regions`` ask for."""
    names: set[str] = set()
    for region in sorted(set(regions)):
        acm = aws.client("acm", region)
        for page in acm.get_paginator("list_certificates").paginate():
            for summary in page["CertificateSummaryList"]:
                names.update(name for name, _ in certificate_records(acm, summary["CertificateArn"]))
    return names


def remove(aws: Aws, collected: Collected, regions: Iterable[str], note: Callable[[str], None]) -> int:
    """Delete every collected record no certificate left in the account needs (``regions`` and every other
    enabled Region); returns how many were deleted."""
    if not collected.records:
        return 0
    given = sorted(set(regions))
    try:
        needed = still_needed(aws, enabled_regions(aws, given[0]) | set(given))
    except CLOUD_ERRORS as exc:
        note(f"validation records kept: the account's certificates could not all be listed ({error_text(exc)})")
        return 0
    route53 = aws.client("route53", ROUTE53_METRICS_REGION)
    deleted = 0
    for record in sorted(collected.records, key=lambda r: (r.zone_id, r.name)):
        if record.name in needed:
            note(f"validation record {record.name} kept: another certificate in the account still uses it")
            continue
        current = _current(route53, record)
        if current is None:
            continue
        route53.change_resource_record_sets(
            HostedZoneId=record.zone_id, ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": current}]}
        )
        note(f"validation record {record.name} deleted from zone {record.zone_id}")
        deleted += 1
    return deleted


def _current(route53: Any, record: ValidationRecord) -> dict[str, Any] | None:
    """The record set as Route 53 holds it (a DELETE must match it exactly), or None when it is gone."""
    page = route53.list_resource_record_sets(
        HostedZoneId=record.zone_id, StartRecordName=record.name, StartRecordType="CNAME", MaxItems="1"
    )["ResourceRecordSets"]
    if page and fqdn(page[0]["Name"]) == record.name and page[0]["Type"] == "CNAME":
        return dict(page[0])
    return None
