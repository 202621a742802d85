"""Operate reads the failover machine's definition from the rendered bundle, the one Step Functions would run.

A sandbox failover executes that definition here with the Lambda code; re-deriving it from the scenario would run
what this drgen would render today rather than what the change board signed off and the account holds.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from drgen.bundle.manifest import MANIFEST, LayerName
from drgen.bundle.reader import from_files, from_scenario
from drgen.errors import DrgenError
from drgen.lambda_functions import returns_data
from drgen.operate.environment import failover_definition
from drgen.scenario import PRESETS, load
from drgen.scenario.model import Role
from tests.hand_made import put_template

MACHINE = "AWS::StepFunctions::StateMachine"


def _machine(document: dict) -> dict:
    [machine] = [r for r in document["Resources"].values() if r["Type"] == MACHINE]
    return machine


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_the_definition_is_the_dr_regions_rendered_state_machine(preset):
    bundle = from_scenario(preset, "t")
    entry = bundle.stack_of(LayerName.ORCHESTRATION, Role.SECONDARY)
    rendered = json.loads(bundle.files[entry.template])  # the file as written, not through the reader's cache
    assert failover_definition(bundle) == json.loads(_machine(rendered)["Properties"]["DefinitionString"])
    assert "${FailoverPromoteArn}" in json.dumps(failover_definition(bundle))  # placeholders, as deployed


def test_an_edited_and_re_signed_definition_is_the_one_operate_runs():
    bundle = from_scenario("trading-ecs", "t")
    files = dict(bundle.files) | {MANIFEST: bundle.manifest_bytes}
    path = bundle.stack_of(LayerName.ORCHESTRATION, Role.SECONDARY).template
    document = json.loads(files[path])
    definition = json.loads(_machine(document)["Properties"]["DefinitionString"])
    definition["Comment"] = "signed off with a change"
    _machine(document)["Properties"]["DefinitionString"] = json.dumps(definition)
    put_template(files, path, document)
    assert failover_definition(from_files(files, "edited"))["Comment"] == "signed off with a change"


def test_a_bundle_without_the_machine_is_refused_in_one_line():
    bundle = from_scenario("trading-ecs", "t")
    files = dict(bundle.files) | {MANIFEST: bundle.manifest_bytes}
    path = bundle.stack_of(LayerName.ORCHESTRATION, Role.SECONDARY).template
    document = json.loads(files[path])
    document["Resources"] = {k: v for k, v in document["Resources"].items() if v["Type"] != MACHINE}
    put_template(files, path, document)
    with pytest.raises(DrgenError, match=r"holds 0 failover state machines in the DR region, not one; re-render"):
        failover_definition(from_files(files, "edited"))


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_the_steps_listed_are_the_success_path_in_the_order_a_run_takes_it(preset):
    """The order drgen/builders/failover_definition.py documents: guard, confirm, promote, scale, poll the
    promotion, shift DNS, queue the ledger's orders, return the buckets' replication, validate, notify. The
    rendered States object is sorted by name (Confirm, Guard, ...), so its key order would be wrong."""
    from drgen.operate.failover import task_order

    scenario = load(preset, suffix="t")
    environment = SimpleNamespace(definition=failover_definition(from_scenario(preset, "t")))
    documented = ["Guard", "Confirm", "Promote", "Scale", "PromotionStatus", "ShiftDns"]
    documented += ["ReplayLedger"] * scenario.ledger.enabled + ["ReturnReplication"] * returns_data(scenario)
    documented += ["Validate", "NotifySuccess"]
    listed = [step.split(" ")[0] for step in task_order(environment)]  # type: ignore[arg-type]
    assert listed[: len(documented)] == documented
    assert listed[len(documented) :] == ["NotifyFailure", "NotifyStandDown"]  # then the other two notifications


def test_a_task_that_calls_no_catalogue_function_is_listed_by_its_resource():
    """A definition edited and re-signed may call a service directly; the list names it rather than failing."""
    from drgen.operate.failover import task_order

    publish = {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "End": True}
    environment = SimpleNamespace(definition={"StartAt": "Publish", "States": {"Publish": publish}})
    assert task_order(environment) == ["Publish (arn:aws:states:::sns:publish)"]  # type: ignore[arg-type]
