"""destroy removes the certificates' DNS validation records, but only those no remaining certificate needs.

AWS's rules modelled by moto here: ACM gives certificates of one account the same validation CNAME for the same
domain name (moto does the same; see also github.com/dflook/cloudformation-dns-certificate/issues/7), and
CloudFormation leaves the record in the zone when it deletes the certificate (moto's CloudFormation creates no
certificates, so the records are written here as CloudFormation would).
"""

from __future__ import annotations

from drgen.deploy import validation_records
from drgen.deploy.validation_records import Collected

from .conftest import client


def _certificate(sandbox: str, region: str, route53, zone: str) -> str:
    acm = client(sandbox, "acm", region)
    arn = acm.request_certificate(
        DomainName="app.acme-bank.com", SubjectAlternativeNames=[f"app.{region}.acme-bank.com"], ValidationMethod="DNS"
    )["CertificateArn"]
    for name, value in validation_records.certificate_records(acm, arn):
        route53.change_resource_record_sets(
            HostedZoneId=zone,
            ChangeBatch={
                "Changes": [
                    {
                        "Action": "UPSERT",
                        "ResourceRecordSet": {
                            "Name": name,
                            "Type": "CNAME",
                            "TTL": 300,
                            "ResourceRecords": [{"Value": value}],
                        },
                    }
                ]
            },
        )
    return arn


def _cnames(route53, zone: str) -> set[str]:
    records = route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    return {r["Name"].split(".", 1)[1] for r in records if r["Type"] == "CNAME"}


def test_shared_records_stay_until_the_last_certificate_that_needs_them_is_gone(aws, sandbox):
    route53 = client(sandbox, "route53", "us-east-1")
    zone = route53.create_hosted_zone(Name="acme-bank.com", CallerReference="z")["HostedZone"]["Id"].split("/")[-1]
    primary = _certificate(sandbox, "us-east-1", route53, zone)
    dr = _certificate(sandbox, "us-east-2", route53, zone)
    assert _cnames(route53, zone) == {
        "app.acme-bank.com.",
        "app.us-east-1.acme-bank.com.",
        "app.us-east-2.acme-bank.com.",
    }
    notes: list[str] = []
    regions = ("us-east-1", "us-east-2")

    first = Collected()
    first.add(client(sandbox, "acm", "us-east-1"), primary, zone)
    client(sandbox, "acm", "us-east-1").delete_certificate(CertificateArn=primary)
    assert validation_records.remove(aws, first, regions, notes.append) == 1
    # The DR certificate still validates app.acme-bank.com with the same record: only the primary's own goes.
    assert _cnames(route53, zone) == {"app.acme-bank.com.", "app.us-east-2.acme-bank.com."}
    assert any("kept: another certificate" in n for n in notes)

    second = Collected()
    second.add(client(sandbox, "acm", "us-east-2"), dr, zone)
    client(sandbox, "acm", "us-east-2").delete_certificate(CertificateArn=dr)
    assert validation_records.remove(aws, second, regions, notes.append) == 2
    assert _cnames(route53, zone) == set()
    assert validation_records.remove(aws, second, regions, notes.append) == 0  # a rerun finds nothing to do


def test_a_record_a_certificate_in_any_other_enabled_region_uses_stays(aws, sandbox):
    """The same validation record serves a certificate for the same name in a Region the bundle does not use (the
    user's own, another deployment's): deleting it would fail that certificate's renewal."""
    route53 = client(sandbox, "route53", "us-east-1")
    zone = route53.create_hosted_zone(Name="acme-bank.com", CallerReference="z2")["HostedZone"]["Id"].split("/")[-1]
    primary = _certificate(sandbox, "us-east-1", route53, zone)
    _certificate(sandbox, "eu-west-3", route53, zone)  # outside the bundle's Regions
    collected = Collected()
    collected.add(client(sandbox, "acm", "us-east-1"), primary, zone)
    client(sandbox, "acm", "us-east-1").delete_certificate(CertificateArn=primary)
    notes: list[str] = []
    assert validation_records.remove(aws, collected, ("us-east-1", "us-east-2"), notes.append) == 1
    assert _cnames(route53, zone) == {"app.acme-bank.com.", "app.eu-west-3.acme-bank.com."}


def test_when_a_region_cannot_be_listed_every_record_stays():
    """No listing, no proof that no certificate needs the record: nothing is deleted, and the note says why."""
    from botocore.exceptions import ClientError

    from drgen.deploy.validation_records import ValidationRecord

    class _Unlisted:
        def client(self, service, region):
            if service == "ec2":
                raise ClientError({"Error": {"Code": "UnauthorizedOperation", "Message": "no"}}, "DescribeRegions")
            raise AssertionError(f"{service} in {region}: nothing may be called after the listing failed")

    collected = Collected(records={ValidationRecord("Z1", "_x.app.acme-bank.com.", "_y.acm-validations.aws.")})
    notes: list[str] = []
    assert validation_records.remove(_Unlisted(), collected, ("us-east-1",), notes.append) == 0
    assert notes and "kept" in notes[0] and "UnauthorizedOperation" in notes[0]
