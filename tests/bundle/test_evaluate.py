"""The one evaluator against CloudFormation's documented rules, on small templates written here.

Rules (CloudFormation template reference): "Fn::If: Returns one value if the specified condition evaluates to true
and another value if the specified condition evaluates to false"; "AWS::NoValue: Removes the corresponding
resource property when specified as a return value in the Fn::If intrinsic function"; a resource with a
Condition "is created only if the condition evaluates to true"; Fn::And/Fn::Or/Fn::Not/Fn::Equals combine
conditions. What drgen cannot know before deploying (a value fed from another stack) stays undecided: None.
"""

from __future__ import annotations

from typing import Any

from drgen.bundle.evaluate import Env
from drgen.bundle.manifest import StackEntry
from drgen.scenario.model import Role

TEMPLATE: dict[str, Any] = {
    "Parameters": {"Role": {"Type": "String"}, "Size": {"Type": "String", "Default": "2"}, "Peer": {"Type": "String"}},
    "Conditions": {
        "IsPrimary": {"Fn::Equals": [{"Ref": "Role"}, "primary"]},
        "IsSecondary": {"Fn::Not": [{"Condition": "IsPrimary"}]},
        "Big": {"Fn::Equals": [{"Ref": "Size"}, "4"]},
        "PrimaryOrBig": {"Fn::Or": [{"Condition": "IsPrimary"}, {"Condition": "Big"}]},
        "PeerIsHere": {"Fn::Equals": [{"Ref": "Peer"}, {"Ref": "AWS::Region"}]},
    },
    "Resources": {
        "Always": {"Type": "AWS::SNS::Topic"},
        "OnlyPrimary": {"Type": "AWS::SNS::Topic", "Condition": "IsPrimary"},
        "Unknowable": {"Type": "AWS::SNS::Topic", "Condition": "PeerIsHere"},
    },
}


def _stack(role: Role, parameters: dict[str, str], inputs: tuple[str, ...] = ()) -> StackEntry:
    fed = {name: {"stack": "other", "region": "r", "output": "O"} for name in inputs}
    return StackEntry("s", "l", "eu-west-1", role, "t.json", "", (), parameters, fed, {})


PRIMARY = Env(TEMPLATE, _stack(Role.PRIMARY, {"Role": "primary"}, inputs=("Peer",)))
SECONDARY = Env(TEMPLATE, _stack(Role.SECONDARY, {"Role": "secondary", "Size": "4"}, inputs=("Peer",)))


def test_conditions_follow_the_stacks_parameters_and_defaults() -> None:
    assert (PRIMARY.condition("IsPrimary"), PRIMARY.condition("IsSecondary")) == (True, False)
    assert (SECONDARY.condition("IsPrimary"), SECONDARY.condition("IsSecondary")) == (False, True)
    assert PRIMARY.condition("Big") is False  # the template's default, "2"
    assert SECONDARY.condition("Big") is True  # the manifest's value wins over the default
    assert PRIMARY.condition("PrimaryOrBig") is True and SECONDARY.condition("PrimaryOrBig") is True


def test_a_value_fed_from_another_stack_leaves_the_condition_undecided() -> None:
    assert PRIMARY.condition("PeerIsHere") is None
    assert PRIMARY.deployed(TEMPLATE["Resources"]["Unknowable"]) is None
    assert set(PRIMARY.resources()) == {"Always", "OnlyPrimary", "Unknowable"}  # undecided counts as present
    assert set(SECONDARY.resources()) == {"Always", "Unknowable"}


def test_fn_if_takes_its_branch_and_no_value_removes_the_property() -> None:
    properties = {
        "A": {"Fn::If": ["IsPrimary", "one", "two"]},
        "B": {"Fn::If": ["IsPrimary", {"Ref": "AWS::NoValue"}, 3]},
        "C": [{"Fn::If": ["IsSecondary", "x", {"Ref": "AWS::NoValue"}]}, "y"],
        "D": {"Fn::If": ["PeerIsHere", 1, 2]},
        "E": {"Fn::Sub": "name-${AWS::Region}-${Size}"},
    }
    assert PRIMARY.resolved(properties) == {
        "A": "one",
        "C": ["y"],
        "D": {"Fn::If": ["PeerIsHere", 1, 2]},  # undecided: kept as written
        "E": "name-eu-west-1-2",
    }
    assert SECONDARY.resolved(properties) == {
        "A": "two",
        "B": 3,
        "C": ["x", "y"],
        "D": properties["D"],
        "E": "name-eu-west-1-4",
    }


def test_assumed_conditions_decide_without_a_stack() -> None:
    lint_view = Env({}, assumed={"IsPrimary": False})
    assert lint_view.resolved({"Fn::If": ["IsPrimary", "a", {"Ref": "AWS::NoValue"}]}) is None
    assert lint_view.resolved({"K": {"Fn::If": ["Other", "a", "b"]}}) == {"K": {"Fn::If": ["Other", "a", "b"]}}


def test_a_scalar_keeps_its_type_and_is_none_when_undecided() -> None:
    assert PRIMARY.scalar({"Fn::If": ["IsPrimary", 30, 60]}) == 30
    assert SECONDARY.scalar({"Fn::If": ["IsPrimary", 30, 60]}) == 60
    assert PRIMARY.scalar({"Ref": "Peer"}) is None
