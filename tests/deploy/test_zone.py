"""Bring your own domain: the zone is found (or created and delegated) before the stacks that need it.

AWS's rule modelled here: ACM validates a DNS-validated certificate only when it can resolve the validation
record through public DNS, i.e. when the zone's parent delegates to the zone's name servers
(https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html); until then CloudFormation waits in
CREATE_IN_PROGRESS (up to 72 hours). moto validates certificates at once, so the delegation is checked here
against a model: the parent's NS records (``zone.sandbox_resolver``) or an injected resolver.
"""

from __future__ import annotations

import dataclasses

import dns.resolver
import pytest

from drgen.bundle.names import HOSTED_ZONE_ID
from drgen.bundle.reader import RenderedBundle, from_files
from drgen.deploy import deployer, zone
from drgen.deploy.deployer import DeployOptions
from drgen.deploy.executor import Outcome
from drgen.deploy.session import Aws
from drgen.errors import DrgenError
from drgen.render import render
from drgen.scenario import load

from .conftest import SUFFIX, client


def _variant(name: str, **routing: object) -> RenderedBundle:
    scenario = load(name, suffix=SUFFIX)
    scenario = dataclasses.replace(scenario, routing=dataclasses.replace(scenario.routing, **routing))
    return from_files(render(scenario).files, f"{name} variant")


def _as_if_real(aws: Aws) -> Aws:
    """The same moto endpoint, but drgen treats it as AWS (no sandbox allowances)."""
    aws.sandbox = False
    return aws


def test_the_deploy_parameter_is_the_builders_zone_parameter():
    assert zone.ZONE_PARAMETER == HOSTED_ZONE_ID


@pytest.mark.parametrize(
    "domain",
    [
        "example.com",
        "app.example.com",
        "dr.example.net",
        "x.example.org",
        "a.test",
        "b.example",
        "c.invalid",
        "localhost",
        "d.localhost",
    ],
)
def test_reserved_names_are_recognised(domain):
    assert zone.reserved(domain)


@pytest.mark.parametrize("domain", ["examples.com", "bank.com", "example.com.au", "testing.io", "dr.acme-bank.co.uk"])
def test_real_names_are_not_reserved(domain):
    assert zone.reserved(domain) is None


def test_a_reserved_domain_is_refused_on_a_real_endpoint_before_anything_is_created(
    aws, sandbox, deploy_bundles, progress
):
    bundle = deploy_bundles["trading-serverless"]  # trading-sls.example.com
    with pytest.raises(DrgenError, match=r"example\.com is reserved for documentation .* a domain you own"):
        deployer.deploy(_as_if_real(aws), bundle, bundle.stacks, DeployOptions(), progress)
    assert client(sandbox, "s3", "us-east-1").list_buckets()["Buckets"] == []
    assert client(sandbox, "cloudformation", bundle.regions["primary"]).list_stacks()["StackSummaries"] == []


def test_the_sandbox_creates_the_presets_zone_once_as_the_stand_in_for_the_users(aws, deploy_bundles):
    deployment = deploy_bundles["database-dr"].deployment
    notes: list[str] = []
    first = zone.given_values(aws, deployment, notes.append)
    second = zone.given_values(aws, deployment, notes.append)
    assert first == second and set(first) == {"HostedZoneId"}
    assert len(notes) == 1 and notes[0].startswith("sandbox: created the public hosted zone dbdr.example.com")


def test_an_existing_zone_is_found_by_name_and_its_delegation_checked(aws, sandbox):
    deployment = _variant("database-dr", domain="dr.acme-bank.com").deployment
    route53 = client(sandbox, "route53", "us-east-1")
    made = route53.create_hosted_zone(Name="dr.acme-bank.com", CallerReference="user")["HostedZone"]["Id"]
    servers = route53.get_hosted_zone(Id=made)["DelegationSet"]["NameServers"]
    real = _as_if_real(aws)

    assert zone.given_values(real, deployment, print, lambda _: [s + "." for s in servers]) == {
        "HostedZoneId": made.rsplit("/", 1)[-1]
    }
    with pytest.raises(DrgenError, match=r"is not delegated: public DNS delegates dr.acme-bank.com to ns1.other"):
        zone.given_values(real, deployment, print, lambda _: ["ns1.other.net."])

    def nxdomain(_: str) -> list[str]:
        raise dns.resolver.NXDOMAIN

    with pytest.raises(DrgenError, match=r"does not exist in public DNS; at the parent .* add NS records"):
        zone.given_values(real, deployment, print, nxdomain)


def test_a_missing_zone_or_a_zone_id_of_another_domain_is_one_clear_error(aws, sandbox):
    real = _as_if_real(aws)
    with pytest.raises(DrgenError, match=r"no public hosted zone named dr.acme-bank.com .* routing.create_zone: true"):
        zone.given_values(real, _variant("database-dr", domain="dr.acme-bank.com").deployment, print)
    other = client(sandbox, "route53", "us-east-1").create_hosted_zone(Name="other.com", CallerReference="o")
    zone_id = other["HostedZone"]["Id"].rsplit("/", 1)[-1]
    named = _variant("database-dr", domain="dr.acme-bank.com", zone_id=zone_id).deployment
    with pytest.raises(DrgenError, match=r"is the zone of other.com., not of routing.domain dr.acme-bank.com"):
        zone.given_values(real, named, print)


def test_a_zone_named_by_id_is_a_render_time_value():
    bundle = _variant("trading-ecs", zone_id="Z0123456789ABCDEFGHIJ")
    app = next(e for e in bundle.stacks if e.layer == "app")
    assert app.parameters["HostedZoneId"] == "Z0123456789ABCDEFGHIJ" and "HostedZoneId" not in app.inputs
    assert bundle.deployment.zone_id == "Z0123456789ABCDEFGHIJ"


def test_a_created_zone_holds_back_the_layers_that_need_it_until_the_parent_delegates(
    aws, sandbox, progress, progress_log
):
    bundle = _variant("trading-serverless", domain="sls.acme-bank.com", create_zone=True)
    assert bundle.stacks[0].layer == "zone" and not bundle.stacks[0].depends_on
    needs_zone = {e.name for e in bundle.stacks if "HostedZoneId" in e.inputs}
    assert {e.layer for e in bundle.stacks if e.name in needs_zone} == {"app", "global", "orchestration"}

    first = {r.name: r for r in deployer.deploy(aws, bundle, bundle.stacks, DeployOptions(), progress)}

    assert first[bundle.stacks[0].name].outcome is Outcome.CREATED
    held = [first[name] for name in needs_zone]
    assert all(r.outcome is Outcome.SKIPPED for r in held)
    assert any(r.reason.startswith("waiting for the delegation of sls.acme-bank.com") for r in held)
    assert all(first[e.name].outcome is Outcome.CREATED for e in bundle.stacks if e.layer in ("foundation", "data"))
    route53 = client(sandbox, "route53", "us-east-1")
    [created] = [z for z in route53.list_hosted_zones()["HostedZones"] if z["Name"].rstrip(".") == "sls.acme-bank.com"]
    servers = route53.get_hosted_zone(Id=created["Id"])["DelegationSet"]["NameServers"]
    assert f"add NS records for sls.acme-bank.com: {' '.join(sorted(s.lower() for s in servers))}" in (
        progress_log.getvalue()
    )
    app_primary = next(e for e in bundle.stacks if e.layer == "app" and e.role.value == "primary")
    cf = client(sandbox, "cloudformation", app_primary.region)
    assert app_primary.name not in {s["StackName"] for s in cf.list_stacks()["StackSummaries"]}

    # The user delegates at the parent (in the sandbox: the parent zone's NS records), and reruns.
    parent = route53.create_hosted_zone(Name="acme-bank.com", CallerReference="parent")["HostedZone"]["Id"]
    route53.change_resource_record_sets(
        HostedZoneId=parent,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {
                        "Name": "sls.acme-bank.com.",
                        "Type": "NS",
                        "TTL": 172800,
                        "ResourceRecords": [{"Value": s} for s in servers],
                    },
                }
            ]
        },
    )
    rerun = {r.name: r for r in deployer.deploy(Aws(aws.target), bundle, bundle.stacks, DeployOptions(), progress)}
    assert all(rerun[name].outcome is Outcome.CREATED for name in needs_zone), [rerun[n].reason for n in needs_zone]
