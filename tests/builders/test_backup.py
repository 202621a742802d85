"""AWS Backup (scenario ``backup``): a vault per region with that region's key, and in the primary a plan copying
the Aurora cluster (and the sessions table) to the DR region's vault for the scenario's retention."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from click.testing import CliRunner

from drgen.errors import ScenarioError
from drgen.layers import LAYERS
from drgen.main import cli
from drgen.naming import PLACEHOLDER_ACCOUNT, Names
from drgen.render import render
from drgen.scenario import PRESETS, load
from drgen.scenario.model import Backup

from ..conftest import resources, stack, template
from .test_templates import only, substitute

BACKUP_TYPES = ("AWS::Backup::BackupVault", "AWS::Backup::BackupPlan", "AWS::Backup::BackupSelection")


def _arn(value: Any, region: str, peer: str) -> str:
    return substitute(value, region, peer).replace("${AWS::AccountId}", PLACEHOLDER_ACCOUNT)


def _with_backup(name: str, **settings: Any):
    """A preset with AWS Backup switched on (validated like a loaded scenario)."""
    scenario = dataclasses.replace(load(name, suffix="dev"), backup=Backup(enabled=True, **settings))
    return render(scenario)


def _rule(doc: dict[str, Any]) -> dict[str, Any]:
    _, plan = only(resources(doc, "AWS::Backup::BackupPlan"))
    return only({r["RuleName"]: r for r in plan["Properties"]["BackupPlan"]["BackupPlanRule"]})[1]


def test_healthcare_lambda_enables_backup_and_the_other_presets_do_not():
    assert [name for name, s in PRESETS.items() if s.backup.enabled] == ["healthcare-lambda"]


def test_a_vault_in_both_regions_encrypted_with_the_regions_own_key(bundles):
    bundle = bundles["healthcare-lambda"]
    doc = template(bundle, "data")
    _, vault = only(resources(doc, "AWS::Backup::BackupVault"))
    assert "Condition" not in vault  # both regions
    assert vault["DeletionPolicy"] == vault["UpdateReplacePolicy"] == "Delete"
    assert vault["Properties"]["EncryptionKeyArn"] == {"Ref": "KmsKeyArn"}
    for role in ("primary", "secondary"):
        entry = stack(bundle, "data", role)
        source = entry.inputs["KmsKeyArn"]
        assert source["output"] == "KmsKeyArn" and source["region"] == entry.region
        assert source["stack"] == stack(bundle, "foundation", role).name


def test_plan_role_and_selection_only_in_the_primary(bundles):
    doc = template(bundles["healthcare-lambda"], "data")
    for rtype in ("AWS::Backup::BackupPlan", "AWS::Backup::BackupSelection"):
        _, res = only(resources(doc, rtype))
        assert res["Condition"] == "IsPrimary", rtype
    _, selection = only(resources(doc, "AWS::Backup::BackupSelection"))
    role_id = selection["Properties"]["BackupSelection"]["IamRoleArn"]["Fn::GetAtt"][0]
    role = doc["Resources"][role_id]
    assert role["Condition"] == "IsPrimary"
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"]["Service"] for s in trust] == [["backup.amazonaws.com"]]
    managed = [_arn(a, "us-east-1", "us-west-2") for a in role["Properties"]["ManagedPolicyArns"]]
    assert managed == [
        "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
        "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
    ]


def test_the_copy_goes_to_the_dr_regions_vault(bundles):
    s = PRESETS["healthcare-lambda"]
    primary, dr = s.regions.primary, s.regions.secondary
    doc = template(bundles["healthcare-lambda"], "data")
    _, vault = only(resources(doc, "AWS::Backup::BackupVault"))
    dr_vault_name = substitute(vault["Properties"]["BackupVaultName"], dr, primary)
    assert dr in dr_vault_name and primary not in dr_vault_name  # the DR stack names its own vault
    rule = _rule(doc)
    assert rule["TargetBackupVault"] == {"Ref": only(resources(doc, "AWS::Backup::BackupVault"))[0]}
    (copy,) = rule["CopyActions"]
    # The primary stack resolves PeerRegion to the DR region.
    assert stack(bundles["healthcare-lambda"], "data", "primary").parameters["PeerRegion"] == dr
    assert _arn(copy["DestinationBackupVaultArn"], primary, dr) == (
        f"arn:aws:backup:{dr}:{PLACEHOLDER_ACCOUNT}:backup-vault:{dr_vault_name}"
    )


def test_retention_and_schedule_come_from_the_scenario():
    bundle = _with_backup("healthcare-lambda", retention_days=12, schedule="cron(30 6 ? * * *)")
    doc = json.loads(bundle.files["templates/data.json"])
    rule = _rule(doc)
    assert rule["Lifecycle"] == {"DeleteAfterDays": 12}
    assert [c["Lifecycle"] for c in rule["CopyActions"]] == [{"DeleteAfterDays": 12}]
    assert rule["ScheduleExpression"] == "cron(30 6 ? * * *)"


def test_selection_is_the_aurora_cluster_without_sessions(bundles):
    doc = template(bundles["healthcare-lambda"], "data")
    _, selection = only(resources(doc, "AWS::Backup::BackupSelection"))
    assert selection["Properties"]["BackupSelection"]["Resources"] == [
        {"Fn::GetAtt": ["PrimaryCluster", "DBClusterArn"]}
    ]


def test_selection_adds_the_global_tables_when_the_scenario_has_them():
    s = PRESETS["trading-serverless"]
    assert s.sessions.enabled and s.ledger.enabled
    doc = json.loads(_with_backup("trading-serverless").files["templates/data.json"])
    _, selection = only(resources(doc, "AWS::Backup::BackupSelection"))
    cluster, *tables = selection["Properties"]["BackupSelection"]["Resources"]
    assert cluster == {"Fn::GetAtt": ["PrimaryCluster", "DBClusterArn"]}
    names = sorted(t["Properties"]["TableName"] for t in resources(doc, "AWS::DynamoDB::GlobalTable").values())
    assert len(names) == 2
    assert sorted(_arn(table, s.regions.primary, s.regions.secondary) for table in tables) == [
        f"arn:aws:dynamodb:{s.regions.primary}:{PLACEHOLDER_ACCOUNT}:table/{name}" for name in names
    ]


def _backup_resources(bundle) -> list[str]:
    return [
        f"{layer.name}:{logical}"
        for layer in LAYERS
        if f"templates/{layer.name}.json" in bundle.files
        for logical, res in json.loads(bundle.files[f"templates/{layer.name}.json"])["Resources"].items()
        if res["Type"] in BACKUP_TYPES or logical == "BackupRole"
    ]


@pytest.mark.parametrize("name", [n for n, s in PRESETS.items() if not s.backup.enabled])
def test_presets_without_backup_render_none(name, bundles):
    assert _backup_resources(bundles[name]) == []


def test_a_yaml_scenario_with_backup_off_renders_none(tmp_path):
    config = tmp_path / "off.yaml"
    config.write_text("base: healthcare-lambda\nbackup: {enabled: false}\n")
    bundle = render(load(config=config, suffix="dev"))
    assert _backup_resources(bundle) == []
    assert "BackupVaultArn" not in json.loads(bundle.files["templates/data.json"])["Outputs"]


def test_a_yaml_scenario_turns_it_on_with_its_own_retention(tmp_path):
    config = tmp_path / "on.yaml"
    config.write_text("base: database-dr\nbackup: {enabled: true, retention_days: 90}\n")
    doc = json.loads(render(load(config=config, suffix="dev")).files["templates/data.json"])
    assert _rule(doc)["Lifecycle"] == {"DeleteAfterDays": 90}


@pytest.mark.parametrize(
    ("backup", "needle"),
    [
        ("{enabled: true, retention_days: 0}", "backup.retention_days: 0"),
        ("{enabled: true, retention_days: 36501}", "backup.retention_days: 36501"),
        ("{enabled: true, schedule: 'rate(1 day)'}", "backup.schedule"),
        ("{enabled: true, retention_days: ten}", "backup.retention_days: expected a whole number"),
        ("{enabled: true, vault: x}", "unknown key 'vault'"),
    ],
)
def test_bad_backup_settings_exit_2_through_the_cli(tmp_path, backup, needle):
    config = tmp_path / "scenario.yaml"
    config.write_text(f"base: healthcare-lambda\nbackup: {backup}\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["render", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], lines
    assert not out.exists() or not any(out.iterdir())


def test_a_vault_name_over_50_characters_is_refused_with_the_longest_suffix_that_fits():
    scenario = dataclasses.replace(load("healthcare-lambda", suffix="x" * 20), prefix="p" * 24)
    too_long = r"AWS Backup vault or plan name .* \(AWS allows 50\); use a suffix of at most 9 "
    with pytest.raises(ScenarioError, match=too_long):
        Names(scenario).regional("backup", "vault")
