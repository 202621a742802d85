"""Deploy, redeploy, fail and resume, StackSets and destroy against moto's server (library level)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from moto.cloudformation.exceptions import ValidationError
from moto.sqs.models import SQSBackend

from drgen.bundle.manifest import StackEntry
from drgen.bundle.reader import RenderedBundle
from drgen.deploy import deployer, service_roles
from drgen.deploy.artifacts import TEMPLATE_BODY_LIMIT, bucket_name
from drgen.deploy.deployer import DeployOptions
from drgen.deploy.destroy import destroy, inventory, purge_artifacts
from drgen.deploy.executor import Outcome, StackResult
from drgen.deploy.plan import Decision
from drgen.deploy.session import Aws
from drgen.deploy.stacks import describe
from drgen.deploy.stacksets import stack_set_name
from drgen.scenario import PRESETS, Role
from tests.deploy.conftest import client, stacks_left

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # moto's own notes on error shapes


def _entry(bundle: RenderedBundle, layer: str, role: Role) -> StackEntry:
    return next(e for e in bundle.stacks if e.layer == layer and e.role is role)


def _stack(url: str, region: str, name: str) -> dict[str, Any]:
    return client(url, "cloudformation", region).describe_stacks(StackName=name)["Stacks"][0]


def _outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _parameters(stack: dict[str, Any]) -> dict[str, str]:
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])}


def _event_counts(url: str, bundle: RenderedBundle) -> dict[str, int]:
    return {
        e.name: len(client(url, "cloudformation", e.region).describe_stack_events(StackName=e.name)["StackEvents"])
        for e in bundle.stacks
    }


def _outcomes(results: list[StackResult]) -> dict[str, Outcome]:
    return {r.name: r.outcome for r in results}


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_each_preset_deploys_to_both_regions_with_outputs_fed_forward_and_redeploys_as_a_no_op(
    preset, aws, sandbox, deploy_bundles, progress
):
    bundle = deploy_bundles[preset]
    results = deployer.deploy(aws, bundle, bundle.stacks, DeployOptions(), progress)

    assert _outcomes(results) == {e.name: Outcome.CREATED for e in bundle.stacks}, [r.reason for r in results]
    deployed = {e.name: _stack(sandbox, e.region, e.name) for e in bundle.stacks}
    assert {e.region for e in bundle.stacks} >= {bundle.regions["primary"], bundle.regions["secondary"]}
    assert all(s["StackStatus"] == "CREATE_COMPLETE" for s in deployed.values())
    dr_foundation = _entry(bundle, "foundation", Role.SECONDARY)
    dr_data = _entry(bundle, "data", Role.SECONDARY)
    kms_key = _outputs(deployed[dr_foundation.name])["KmsKeyArn"]
    assert kms_key.startswith(f"arn:aws:kms:{dr_data.region}:")
    assert _parameters(deployed[dr_data.name])["KmsKeyArn"] == kms_key
    for entry in bundle.stacks:  # every input, across regions, is the upstream stack's output
        for parameter, source in entry.inputs.items():
            upstream = _outputs(deployed[source["stack"]])
            assert _parameters(deployed[entry.name])[parameter] == upstream[source["output"]], (entry.name, parameter)
    for entry in bundle.stacks:  # Lambda code comes from this region's artifact bucket
        if "ArtifactBucket" in json.loads(bundle.template(entry)).get("Parameters", {}):
            bucket = bucket_name("123456789012", entry.region)
            assert _parameters(deployed[entry.name])["ArtifactBucket"] == bucket
    assert client(sandbox, "lambda", bundle.regions["secondary"]).list_functions()["Functions"]
    big = [p for p, body in bundle.files.items() if p.startswith("templates/") and len(body) > TEMPLATE_BODY_LIMIT]
    assert big, "an orchestration template over 51,200 bytes exercises TemplateURL"

    events = _event_counts(sandbox, bundle)
    again = deployer.deploy(aws, bundle, bundle.stacks, DeployOptions(), progress)
    assert _outcomes(again) == {e.name: Outcome.UNCHANGED for e in bundle.stacks}
    assert _event_counts(sandbox, bundle) == events  # nothing was executed


def test_deploy_creates_the_service_linked_role_a_key_policy_names_once(aws, sandbox, deploy_bundles, progress):
    """trading-asg's key lets EC2 Auto Scaling's service-linked role encrypt volumes; a key policy may only name
    a role that exists, so deploy creates it first, and leaves an existing one alone."""
    assert service_roles.named_roles(deploy_bundles["database-dr"]) == []
    bundle = deploy_bundles["trading-asg"]
    roles = service_roles.named_roles(bundle)
    assert roles == [("autoscaling.amazonaws.com", "AWSServiceRoleForAutoScaling")]
    iam = client(sandbox, "iam", "us-east-1")
    notes: list[str] = []
    assert service_roles.ensure(aws, roles, notes.append) == ["AWSServiceRoleForAutoScaling"]
    role = iam.get_role(RoleName="AWSServiceRoleForAutoScaling")["Role"]
    assert role["Path"] == "/aws-service-role/autoscaling.amazonaws.com/"
    assert "AWSServiceRoleForAutoScaling" in notes[0]
    assert service_roles.ensure(aws, roles, notes.append) == [] and len(notes) == 1


def _refuse_create(aws: Aws, entry: StackEntry) -> None:
    """Make CreateStack of ``entry`` fail with a 400 before it reaches moto (the sandbox creates by CreateStack)."""

    def hook(request: Any, **_: Any) -> AWSResponse | None:
        body = request.body.decode() if isinstance(request.body, bytes) else str(request.body)
        if f"StackName={entry.name}&" not in body + "&":
            return None
        error = (
            b"<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code>"
            b"<Message>injected: Template format error</Message></Error><RequestId>1</RequestId></ErrorResponse>"
        )
        return AWSResponse(request.url, 400, {"Content-Type": "text/xml"}, _Raw(error))

    aws.client("cloudformation", entry.region).meta.events.register("before-send.cloudformation.CreateStack", hook)


class _Raw:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data


def test_a_failed_stack_skips_its_dependents_while_independent_stacks_finish_and_a_rerun_resumes(
    aws, sandbox, deploy_bundles, progress
):
    bundle = deploy_bundles["database-dr"]
    victim = _entry(bundle, "data", Role.PRIMARY)
    _refuse_create(aws, victim)

    first = {r.name: r for r in deployer.deploy(aws, bundle, bundle.stacks, DeployOptions(), progress)}

    assert first[victim.name].outcome is Outcome.FAILED
    assert "injected: Template format error" in first[victim.name].reason
    downstream = {e.name for e in bundle.stacks if victim.name in e.depends_on}
    assert downstream and all(first[name].outcome is Outcome.SKIPPED for name in downstream)
    independent = [e.name for e in bundle.stacks if e.layer == "foundation"]
    assert all(first[name].outcome is Outcome.CREATED for name in independent)

    rerun = {
        r.name: r.outcome for r in deployer.deploy(Aws(aws.target), bundle, bundle.stacks, DeployOptions(), progress)
    }
    assert all(rerun[name] is Outcome.UNCHANGED for name in independent)
    assert rerun[victim.name] is Outcome.CREATED
    assert all(rerun[name] in (Outcome.CREATED, Outcome.UNCHANGED) for name in rerun)


def test_stacksets_mode_creates_one_set_per_regional_layer_with_an_instance_in_each_region(
    aws, sandbox, deploy_bundles, progress
):
    bundle = deploy_bundles["trading-ecs"]
    results = deployer.deploy(aws, bundle, bundle.stacks, DeployOptions(mode="stacksets"), progress)
    assert all(r.outcome is Outcome.CREATED for r in results), [r.reason for r in results]

    admin = client(sandbox, "cloudformation", bundle.admin_region)
    regional = {e.layer for e in bundle.stacks if e.role is not Role.GLOBAL}
    both = {bundle.regions["primary"], bundle.regions["secondary"]}
    for layer in regional:
        name = stack_set_name(bundle, layer)
        assert admin.describe_stack_set(StackSetName=name)["StackSet"]["PermissionModel"] == "SELF_MANAGED"
        assert {i["Region"] for i in admin.list_stack_instances(StackSetName=name)["Summaries"]} == both
    for entry in (e for e in bundle.stacks if e.role is Role.GLOBAL):
        assert _stack(sandbox, entry.region, entry.name)["StackStatus"] == "CREATE_COMPLETE"
    # per-region overrides carry the full parameter list, fed from the other instances' outputs
    dr_data = _entry(bundle, "data", Role.SECONDARY)
    overrides = admin.describe_stack_instance(
        StackSetName=stack_set_name(bundle, "data"),
        StackInstanceAccount=aws.account_id(),
        StackInstanceRegion=dr_data.region,
    )["StackInstance"]["ParameterOverrides"]
    dr_foundation = next(r for r in results if r.name == _entry(bundle, "foundation", Role.SECONDARY).name)
    assert {p["ParameterKey"]: p["ParameterValue"] for p in overrides}["KmsKeyArn"] == dr_foundation.outputs[
        "KmsKeyArn"
    ]

    again = deployer.deploy(aws, bundle, bundle.stacks, DeployOptions(mode="stacksets"), progress)
    assert all(r.outcome is Outcome.UNCHANGED for r in again)


def test_destroy_empties_versioned_buckets_then_leaves_no_stack_and_no_bucket(
    aws, sandbox, deploy_bundles, progress, progress_log
):
    bundle = deploy_bundles["database-dr"]
    deployed = {r.name: r for r in deployer.deploy(aws, bundle, bundle.stacks, DeployOptions(), progress)}
    primary = _entry(bundle, "foundation", Role.PRIMARY)
    bucket = deployed[primary.name].outputs["BackupsBucketName"]
    s3 = client(sandbox, "s3", primary.region)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"one", b"two", b"three"):
        s3.put_object(Bucket=bucket, Key="backup.sql", Body=body)
    s3.delete_object(Bucket=bucket, Key="backup.sql")  # a delete marker on top of three versions
    s3.put_object(Bucket=bucket, Key="keep.txt", Body=b"x")
    replica = deployed[_entry(bundle, "foundation", Role.SECONDARY).name].outputs["BackupsBucketArn"]
    s3.put_bucket_replication(
        Bucket=bucket,
        ReplicationConfiguration={
            "Role": "arn:aws:iam::123456789012:role/replication",
            "Rules": [
                {
                    "Status": "Enabled",
                    "Priority": 1,
                    "Filter": {},
                    "Destination": {"Bucket": replica},
                    "DeleteMarkerReplication": {"Status": "Disabled"},
                }
            ],
        },
    )

    items = {item.name: item for item in inventory(aws, bundle, bundle.stacks)}
    assert items[bucket].kind == "bucket"
    assert items[bucket].detail == "1 objects, 5 versions and delete markers"

    results = destroy(aws, bundle, bundle.stacks, progress)
    assert all(r.outcome is Outcome.DELETED for r in results), [r.reason for r in results]
    purge_artifacts(aws, bundle, progress.note)

    regions = {e.region for e in bundle.stacks}
    assert stacks_left(sandbox, regions) == {}
    assert client(sandbox, "s3", primary.region).list_buckets()["Buckets"] == []
    log = progress_log.getvalue()
    assert f"{bucket}: replication removed" in log
    assert f"{bucket}: 5 versions and delete markers deleted" in log
    assert f"s3://{bucket_name(aws.account_id(), primary.region)} deleted" in log


def test_a_create_moto_left_in_progress_is_recreated_only_when_agreed(
    aws, sandbox, deploy_bundles, progress, monkeypatch
):
    bundle = deploy_bundles["database-dr"]
    entry = _entry(bundle, "foundation", Role.SECONDARY)
    working = SQSBackend.create_queue

    def broken(self: SQSBackend, *args: Any, **kwargs: Any) -> Any:
        raise ValidationError(message="injected inside moto")

    monkeypatch.setattr(SQSBackend, "create_queue", broken)  # the server runs in this process
    [failed] = deployer.deploy(aws, bundle, [entry], DeployOptions(), progress)
    assert failed.outcome is Outcome.FAILED and "injected inside moto" in failed.reason
    stuck = describe(client(sandbox, "cloudformation", entry.region), entry.name)  # moto: a 500, then ListStacks
    assert stuck is not None and stuck.status == "CREATE_IN_PROGRESS"  # moto never settles a failed create

    monkeypatch.setattr(SQSBackend, "create_queue", working)
    [planned] = deployer.preflight(aws, bundle, [entry], "stacks").stacks
    assert planned.decision is Decision.RECREATE
    [declined] = deployer.deploy(aws, bundle, [entry], DeployOptions(), progress)
    assert declined.outcome is Outcome.FAILED and "rerun with --yes" in declined.reason
    [agreed] = deployer.deploy(aws, bundle, [entry], DeployOptions(may_recreate=frozenset({entry.name})), progress)
    assert agreed.outcome is Outcome.CREATED, agreed.reason
    assert _stack(sandbox, entry.region, entry.name)["StackStatus"] == "CREATE_COMPLETE"
