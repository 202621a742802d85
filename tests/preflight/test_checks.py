"""Each preflight check against a failing account, on real boto3 clients with botocore's Stubber (moto has no
wrong account, no Region to enable, no orderability): every FAIL names the command or setting that fixes it."""

from __future__ import annotations

import dataclasses
import datetime

import pytest

from drgen.bundle.reader import Deployment, from_files
from drgen.commands.preflight import guard
from drgen.errors import DrgenError
from drgen.preflight import Status, run
from drgen.preflight.account import account_guard, regions_enabled, service_roles
from drgen.preflight.database import Database, orderable
from drgen.preflight.delegation import zone_check
from drgen.preflight.images import ami_parameters, ecr_images, image_checks
from drgen.preflight.model import first_failure
from drgen.preflight.zones import zone_checks
from drgen.render import render
from drgen.scenario import load

from .conftest import ACCOUNT, bundle_of

OTHER_ACCOUNT = "444455556666"
DOMAIN = "shop.drgen-preflight.net"
ZONE = "Z0123456789ABCDEFGHIJ"
SERVERS = ["ns-1.awsdns-01.org", "ns-2.awsdns-02.co.uk"]
AMI = "ami-0123456789abcdef0"
ROLE = "AWSServiceRoleForAutoScaling"


def by_where(checks):
    return {c.where: c for c in checks}


def regions_answer(stubbed, **status):
    regions = [{"RegionName": r.replace("_", "-"), "OptInStatus": s} for r, s in status.items()]
    stubbed.stub("ec2", "us-east-1").add_response("describe_regions", {"Regions": regions}, {"AllRegions": True})


def zones_answer(stubbed, region, letters="abcd"):
    """DescribeAvailabilityZones in ``region``: these zones, available."""
    answer = {"AvailabilityZones": [{"ZoneName": f"{region}{x}", "State": "available"} for x in letters]}
    wanted = {"Filters": [{"Name": "zone-type", "Values": ["availability-zone"]}]}
    stubbed.stub("ec2", region).add_response("describe_availability_zones", answer, wanted)


def zone_answers(stubbed):
    route53 = stubbed.stub("route53", "us-east-1")
    zone = {"Id": f"/hostedzone/{ZONE}", "Name": f"{DOMAIN}.", "CallerReference": "r", "Config": {"PrivateZone": False}}
    route53.add_response(
        "list_hosted_zones_by_name",
        {"HostedZones": [zone], "IsTruncated": False, "MaxItems": "10"},
        {"DNSName": f"{DOMAIN}.", "MaxItems": "10"},
    )
    route53.add_response(
        "get_hosted_zone", {"HostedZone": zone, "DelegationSet": {"NameServers": SERVERS}}, {"Id": ZONE}
    )


def orderable_answer(stubbed, region, options, instance_class="db.r6g.large"):
    ask = {"Engine": "aurora-postgresql", "EngineVersion": "16.8", "DBInstanceClass": instance_class}
    answer = [{**ask, "SupportsGlobalDatabases": g} for g in options]
    stubbed.stub("rds", region).add_response(
        "describe_orderable_db_instance_options", {"OrderableDBInstanceOptions": answer}, ask
    )


def test_credentials_of_another_account_fail_naming_the_profile_or_the_setting(stubbed):
    stubbed.caller(ACCOUNT)
    wrong = account_guard(stubbed, bundle_of("database-dr", account=OTHER_ACCOUNT))
    assert wrong.status is Status.FAIL
    assert wrong.detail == (
        f"credentials are for account {ACCOUNT}, the scenario names {OTHER_ACCOUNT}: use a profile for "
        f"{OTHER_ACCOUNT} (--profile) or fix `account:`"
    )
    assert account_guard(stubbed, bundle_of("database-dr", account=ACCOUNT)).status is Status.OK
    anyone = account_guard(stubbed, bundle_of("database-dr"))
    assert anyone.status is Status.OK and "set `account:` to guard" in anyone.detail
    stubbed.done()


def test_a_region_not_enabled_fails_with_the_command_that_enables_it(stubbed):
    regions_answer(
        stubbed, us_east_1="opt-in-not-required", eu_central_1="opt-in-not-required", eu_central_2="not-opted-in"
    )
    checks = by_where(regions_enabled(stubbed, bundle_of("trading-asg")))
    assert {r: c.status for r, c in checks.items()} == {
        "us-east-1": Status.OK,
        "eu-central-1": Status.OK,
        "eu-central-2": Status.FAIL,
    }
    assert "aws account enable-region --region-name eu-central-2" in checks["eu-central-2"].detail
    stubbed.done()


@pytest.mark.parametrize(
    ("options", "status", "says"),
    [
        ([], Status.FAIL, "is not orderable there: set database.engine_version (or database.instance_class)"),
        ([False, False], Status.FAIL, "is orderable there but not for a global database: set database.engine_version"),
        ([False, True], Status.OK, "aurora-postgresql 16.8 on db.r6g.large is orderable for a global database"),
    ],
)
def test_an_engine_version_not_orderable_for_a_global_database_fails_with_the_listing(stubbed, options, status, says):
    orderable_answer(stubbed, "eu-central-2", options)
    [check] = orderable(stubbed, Database("eu-central-2", "aurora-postgresql", "16.8", ("db.r6g.large",)))
    assert check.status is status and says in check.detail
    if status is Status.FAIL:
        assert "aws rds describe-orderable-db-instance-options --engine aurora-postgresql --region eu-central-2" in (
            check.detail
        )
    stubbed.done()


def test_credentials_that_may_not_ask_rds_give_unknown_with_what_aws_documents(stubbed):
    stubbed.stub("rds", "eu-central-2").add_client_error(
        "describe_orderable_db_instance_options", "AccessDenied", "not allowed", 403
    )
    [check] = orderable(stubbed, Database("eu-central-2", "aurora-postgresql", "16.8", ("db.serverless",)))
    assert check.status is Status.UNKNOWN
    assert check.detail == (
        "RDS did not say (AccessDenied); AWS documents aurora-postgresql 16.8 on db.serverless global databases in "
        "eu-central-2 (16.1 and higher)"
    )


def test_a_zone_public_dns_does_not_delegate_fails_with_the_ns_records_to_add(stubbed):
    deployment = Deployment(None, DOMAIN, None, False, "ecs", None)
    zone_answers(stubbed)
    check = zone_check(stubbed, deployment, resolve=lambda _: ["ns1.registrar-parking.net."])
    assert check.status is Status.FAIL
    assert f"{DOMAIN} ({ZONE}) is not delegated: public DNS delegates {DOMAIN} to ns1.registrar-parking.net" in (
        check.detail
    )
    assert f"add NS records for {DOMAIN}: {' '.join(SERVERS)}" in check.detail
    zone_answers(stubbed)
    assert zone_check(stubbed, deployment, resolve=lambda _: SERVERS).status is Status.OK
    stubbed.done()


def test_a_reserved_domain_and_a_missing_zone_fail_naming_the_setting(stubbed):
    reserved = zone_check(stubbed, Deployment(None, "app.example.com", None, False, "ecs", None))
    assert reserved.status is Status.FAIL and "set routing.domain to a domain you own" in reserved.detail
    stubbed.stub("route53", "us-east-1").add_response(
        "list_hosted_zones_by_name", {"HostedZones": [], "IsTruncated": False, "MaxItems": "10"}
    )
    missing = zone_check(stubbed, Deployment(None, DOMAIN, None, False, "ecs", None))
    assert missing.status is Status.FAIL and "set routing.create_zone: true" in missing.detail
    created = zone_check(stubbed, Deployment(None, DOMAIN, None, True, "ecs", None))
    assert created.status is Status.OK and "will be created" in created.detail
    stubbed.done()


def test_an_image_missing_in_the_dr_region_fails_with_push_or_replication(stubbed):
    bundle = bundle_of("trading-ecs", compute__image="shop/app:v7")
    stubbed.caller(ACCOUNT)
    images = ecr_images(bundle)
    assert {("eu-central-1", "shop/app:v7"), ("eu-west-2", "shop/app:v7")} <= set(images)
    for region, reference in images:
        repository, tag = reference.rsplit(":", 1)
        ask = {"repositoryName": repository, "imageIds": [{"imageTag": tag}]}
        ecr = stubbed.stub("ecr", region)
        if (region, reference) == ("eu-west-2", "shop/app:v7"):
            ecr.add_client_error("describe_images", "ImageNotFoundException", "no such image", 400, ask)
        else:
            found = {"registryId": ACCOUNT, "repositoryName": repository, "imageTags": [tag]}
            ecr.add_response("describe_images", {"imageDetails": [found]}, ask)
    checks = image_checks(stubbed, bundle, {"eu-central-1", "eu-west-2"})
    [failed] = [c for c in checks if c.status is not Status.OK]
    assert failed.status is Status.FAIL and failed.where == "eu-west-2"
    assert failed.detail.startswith(
        f"shop/app:v7 is not in eu-west-2's repository shop/app: push it to {ACCOUNT}.dkr.ecr.eu-west-2.amazonaws.com/"
        "shop/app, or have ECR replicate eu-central-1 into eu-west-2: aws ecr put-replication-configuration --region "
        "eu-central-1 --replication-configuration"
    )
    stubbed.done()


def test_an_ecs_scenario_without_an_image_fails_on_aws_naming_the_setting(stubbed):
    [check] = image_checks(stubbed, bundle_of("trading-ecs"), regions=set())
    assert check.status is Status.FAIL and check.where == "global"
    assert "set compute.image: repository:tag" in check.detail


def test_a_missing_ssm_parameter_or_ami_fails_with_the_command_that_fixes_it(stubbed):
    bundle = bundle_of("trading-asg", compute__image="/shop/app-ami")
    assert ami_parameters(bundle) == [("eu-central-1", "/shop/app-ami"), ("eu-central-2", "/shop/app-ami")]
    parameter = {"Name": "/shop/app-ami", "Type": "String", "Value": AMI, "Version": 1}
    stubbed.stub("ssm", "eu-central-1").add_response(
        "get_parameter", {"Parameter": parameter}, {"Name": "/shop/app-ami"}
    )
    stubbed.stub("ec2", "eu-central-1").add_response(
        "describe_images", {"Images": [{"ImageId": AMI, "State": "available"}]}, {"ImageIds": [AMI]}
    )
    stubbed.stub("ssm", "eu-central-2").add_client_error("get_parameter", "ParameterNotFound", "", 400)
    checks = by_where(image_checks(stubbed, bundle, {"eu-central-1", "eu-central-2"}))
    assert checks["eu-central-1"].status is Status.OK
    assert checks["eu-central-2"].status is Status.FAIL
    assert checks["eu-central-2"].detail.startswith(
        "SSM parameter /shop/app-ami does not exist in eu-central-2: aws ssm put-parameter --region eu-central-2 "
        "--name /shop/app-ami --type String --data-type aws:ec2:image --value"
    )
    # the parameter names the primary's AMI id, which is no AMI in the DR region
    for region in ("eu-central-1", "eu-central-2"):
        stubbed.stub("ssm", region).add_response("get_parameter", {"Parameter": parameter})
        stubbed.stub("ec2", region).add_client_error("describe_images", "InvalidAMIID.NotFound", "", 400)
    copied = by_where(image_checks(stubbed, bundle, {"eu-central-1", "eu-central-2"}))
    assert "aws ec2 copy-image --source-region eu-central-1 --source-image-id" in copied["eu-central-2"].detail
    stubbed.done()


@pytest.mark.parametrize(("decision", "status"), [("implicitDeny", Status.FAIL), ("allowed", Status.OK)])
def test_a_missing_service_linked_role_fails_when_the_caller_may_not_create_it(stubbed, decision, status):
    iam = stubbed.stub("iam", "us-east-1")
    iam.add_client_error("get_role", "NoSuchEntity", "no role", 404, {"RoleName": ROLE})
    stubbed.caller(ACCOUNT, arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/ci-session")
    deployer = {
        "Path": "/",
        "RoleName": "Deployer",
        "RoleId": "AROAEXAMPLEEXAMPLE123",
        "Arn": f"arn:aws:iam::{ACCOUNT}:role/Deployer",
        "CreateDate": datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
    }
    iam.add_response("get_role", {"Role": deployer}, {"RoleName": "Deployer"})
    stubbed.caller(ACCOUNT)
    iam.add_response(
        "simulate_principal_policy",
        {"EvaluationResults": [{"EvalActionName": "iam:CreateServiceLinkedRole", "EvalDecision": decision}]},
        {
            "PolicySourceArn": f"arn:aws:iam::{ACCOUNT}:role/Deployer",
            "ActionNames": ["iam:CreateServiceLinkedRole"],
            "ResourceArns": [f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/{ROLE}"],
            "ContextEntries": [
                {
                    "ContextKeyName": "iam:AWSServiceName",
                    "ContextKeyValues": ["autoscaling.amazonaws.com"],
                    "ContextKeyType": "string",
                }
            ],
        },
    )
    [check] = service_roles(stubbed, bundle_of("trading-asg"))
    assert check.status is status
    if status is Status.FAIL:
        assert check.detail == (
            f"{ROLE} is missing and these credentials may not create it (iam:CreateServiceLinkedRole: implicitDeny): "
            "have an administrator run `aws iam create-service-linked-role "
            "--aws-service-name autoscaling.amazonaws.com`"
        )
    stubbed.done()


def test_a_failing_account_end_to_end_reports_every_failure_with_its_fix(stubbed):
    bundle = bundle_of("database-dr", account=OTHER_ACCOUNT, routing__domain=DOMAIN)
    stubbed.caller(ACCOUNT)
    regions_answer(stubbed, us_east_1="opt-in-not-required", eu_west_1="opt-in-not-required")
    zone_answers(stubbed)
    orderable_answer(stubbed, "us-east-1", [True])
    orderable_answer(stubbed, "eu-west-1", [])
    zones_answer(stubbed, "us-east-1")
    zones_answer(stubbed, "eu-west-1")
    report = run(stubbed, bundle, resolve=lambda _: [], workers=1)
    stubbed.done()
    lines = {(c.where, c.name): c.status for c in report.checks}
    assert lines == {
        ("global", "account"): Status.FAIL,
        ("global", "zone"): Status.FAIL,
        ("global", "service-role"): Status.OK,
        ("us-east-1", "region"): Status.OK,
        ("us-east-1", "orderable"): Status.OK,
        ("eu-west-1", "region"): Status.OK,
        ("eu-west-1", "orderable"): Status.FAIL,
        ("us-east-1", "zones"): Status.OK,
        ("eu-west-1", "zones"): Status.OK,
    }
    assert [c.where for c in report.checks][:3] == ["global"] * 3  # global first, then the primary, then DR
    assert first_failure(report.failed).startswith(
        f"preflight account (global) failed: credentials are for account {ACCOUNT}, the scenario names "
        f"{OTHER_ACCOUNT}: use a profile for {OTHER_ACCOUNT} (--profile) or fix `account:` (and 2 more failed"
    )
    for line in report.text().splitlines():
        assert line.split()[2] in ("OK", "FAIL", "UNKNOWN")


def test_plan_and_deploy_refuse_a_region_not_enabled_before_reading_anything_there(stubbed, capsys):
    bundle = bundle_of("trading-asg")
    stubbed.caller(ACCOUNT)
    regions_answer(
        stubbed, us_east_1="opt-in-not-required", eu_central_1="opt-in-not-required", eu_central_2="not-opted-in"
    )
    role = {"Path": "/", "RoleName": ROLE, "RoleId": "AROAEXAMPLEEXAMPLE456", "Arn": f"arn:aws:iam::{ACCOUNT}:role/x"}
    role["CreateDate"] = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    stubbed.stub("iam", "us-east-1").add_response("get_role", {"Role": role}, {"RoleName": ROLE})
    orderable_answer(stubbed, "eu-central-1", [True])
    [(region, name)] = [(r, n) for r, n in ami_parameters(bundle) if r == "eu-central-1"]
    parameter = {"Name": name, "Type": "String", "Value": AMI, "Version": 1}
    stubbed.stub("ssm", region).add_response("get_parameter", {"Parameter": parameter}, {"Name": name})

    class Ec2:
        """EC2 in eu-central-1 answering the image check and the zone check in whichever order their threads
        ask (a Stubber's queue is ordered)."""

        def describe_images(self, **_):
            return {"Images": [{"ImageId": AMI, "State": "available"}]}

        def describe_availability_zones(self, **_):
            return {"AvailabilityZones": [{"ZoneName": f"{region}{x}", "State": "available"} for x in "abc"]}

    stubbed_client = stubbed.client
    stubbed.client = lambda service, where: (
        Ec2() if (service, where) == ("ec2", region) else stubbed_client(service, where)
    )

    def stacks_state():
        raise AssertionError("the stacks were read in a Region that is not enabled")

    with pytest.raises(DrgenError) as refused:
        guard(stubbed, bundle, stacks_state, quotas=True, refuse_quotas=True, output="text")
    stubbed.done()
    # the preset's example.com domain fails first on AWS, then the Region; both listed, the first named
    assert str(refused.value).startswith("preflight zone (global) failed: routing.domain trading-asg.example.com: ")
    assert str(refused.value).endswith("(and 1 more failed check(s), above)")
    err = capsys.readouterr().err
    assert (
        "preflight FAIL: eu-central-2 region: eu-central-2 is not enabled (not-opted-in): aws account enable-region "
        "--region-name eu-central-2"
    ) in err
    assert err.startswith(f"preflight: trading-asg (suffix pf) in account {ACCOUNT}: 7 OK, 2 FAIL, 2 UNKNOWN")


def test_an_availability_zone_the_account_lacks_fails_naming_the_az_count(stubbed):
    """Zone names are the account's; many accounts see two zones in us-west-1, and the subnets use a, b, c."""
    base = load("trading-ecs", suffix="pf")
    scenario = dataclasses.replace(
        base, regions=dataclasses.replace(base.regions, primary="us-west-1", secondary="us-west-2")
    )
    bundle = from_files(render(scenario).files, "test")
    zones = {"us-west-1": "ab", "us-west-2": "abcd"}
    for region, letters in zones.items():
        zones_answer(stubbed, region, letters)
    checks = by_where(zone_checks(stubbed, bundle, zones))
    assert checks["us-west-1"].status is Status.FAIL
    assert "us-west-1c" in checks["us-west-1"].detail and "network.az_count to 2" in checks["us-west-1"].detail
    assert checks["us-west-2"].status is Status.OK
