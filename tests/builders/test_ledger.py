"""The order ledger as rendered: a strongly consistent global table with its witness, the intake in front of it,
the replay step in the failover, and the scenario rules that keep it deployable.

AWS's rules held here: multi-Region strong consistency needs two replicas and a witness in a third region of one
region set (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-dynamodb-globaltable-globaltablewitness.html),
and supports neither TTL nor transactions
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/V2globaltables_HowItWorks.html).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from drgen.errors import ScenarioError
from drgen.lint import lint_template
from drgen.scenario import PRESETS, load

from ..conftest import resources, stack, template

US_SET = {"us-east-1", "us-east-2", "us-west-2"}


def _ledger(bundle: Any) -> dict[str, Any]:
    return resources(template(bundle, "data"), "AWS::DynamoDB::GlobalTable")["LedgerTable"]


def test_the_ledger_is_strongly_consistent_with_a_witness_in_a_third_region_of_the_set(bundles, tmp_path):
    bundle = bundles["trading-serverless"]
    scenario = PRESETS["trading-serverless"]
    table = _ledger(bundle)
    props = table["Properties"]
    assert table["Condition"] == "IsPrimary"  # one stack owns a global table
    assert props["MultiRegionConsistency"] == "STRONG"
    assert props["GlobalTableWitnesses"] == [{"Region": {"Ref": "LedgerWitnessRegion"}}]
    witness = stack(bundle, "data", "primary").parameters["LedgerWitnessRegion"]
    regions = {scenario.regions.primary, scenario.regions.secondary, witness}
    assert len(regions) == 3 and regions <= US_SET
    assert [r["Region"] for r in props["Replicas"]] == [{"Ref": "AWS::Region"}, {"Ref": "PeerRegion"}]
    assert all(r["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] for r in props["Replicas"])
    assert "TimeToLiveSpecification" not in props  # not supported with strong consistency
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    path = tmp_path / "data.json"
    path.write_bytes(bundle.files["templates/data.json"])
    assert lint_template(path, sorted(regions - {witness})) == []  # cfn-lint with its schemas, and drgen's rules


def test_post_trades_goes_to_the_intake_which_may_write_only_its_regions_replica_and_queue(bundles):
    bundle = bundles["trading-serverless"]
    app = template(bundle, "app")
    method = app["Resources"]["TradesMethod"]["Properties"]
    assert method["AuthorizationType"] == "AWS_IAM" and method["Integration"]["Type"] == "AWS_PROXY"
    assert "OrderIntakeFunction" in json.dumps(method["Integration"]["Uri"])
    function = app["Resources"]["OrderIntakeFunction"]["Properties"]
    table_name = _ledger(bundle)["Properties"]["TableName"]
    assert function["Environment"]["Variables"]["LEDGER_TABLE"] == table_name
    role = app["Resources"][function["Role"]["Fn::GetAtt"][0]]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    writes = next(s for s in statements if "dynamodb:PutItem" in s["Action"])
    assert set(writes["Action"]) == {"dynamodb:PutItem", "dynamodb:GetItem"}
    assert writes["Resource"] == [
        {"Fn::Sub": f"arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/{table_name}"}
    ]
    assert not any("dynamodb:TransactWriteItems" in s["Action"] for s in statements)


def test_the_failover_replays_the_ledger_after_the_dns_step(bundles):
    orchestration = template(bundles["trading-serverless"], "orchestration")
    machine = next(iter(resources(orchestration, "AWS::StepFunctions::StateMachine").values()))
    states = json.loads(machine["Properties"]["DefinitionString"])["States"]
    assert states["ShiftDns"]["Next"] == "ReplayLedger"
    assert states["ReplayLedger"]["Next"] == "ReturnReplication"
    replay = orchestration["Resources"]["FailoverReplayLedgerFunction"]["Properties"]
    variables = replay["Environment"]["Variables"]
    assert variables["REPLAY_SECONDS"] == str(PRESETS["trading-serverless"].ledger.replay_seconds)
    for name in PRESETS:
        if not PRESETS[name].ledger.enabled:
            other = template(bundles[name], "orchestration")
            assert "FailoverReplayLedgerFunction" not in other["Resources"]


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("base: trading-serverless\nledger: {witness_region: null}\n", "ledger.witness_region: name a third region"),
        ("base: trading-serverless\nledger: {witness_region: us-east-2}\n", "ledger.witness_region: name a third"),
        ("base: trading-serverless\nledger: {witness_region: eu-west-1}\n", "not one region set"),
        ("base: trading-serverless\nregions: {secondary: us-west-1}\n", "not one region set"),
        ("base: trading-ecs\nledger: {enabled: true, witness_region: eu-west-1}\n", "only for compute kind apigateway"),
        ("base: trading-serverless\nledger: {replay_seconds: 5}\n", "ledger.replay_seconds: 5; use 60 to 1209600"),
    ],
)
def test_a_ledger_aws_would_refuse_is_one_line_at_load(tmp_path, yaml_text, message):
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ScenarioError, match=message):
        load(config=path)
