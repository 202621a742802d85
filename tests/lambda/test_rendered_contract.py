"""The rendered bundles use the Lambda contract's names as the functions do (lambda/drgen_common/contract.py).

Read from the templates, never from the builders' helpers: the alarms watch metrics the functions' code
publishes, the functions are given every variable their handler reads, the state machine catches the guard's
exceptions and passes, stores and reads the payload's fields under the contract's names, the trigger rules send a
request the steps parse, and Route 53 looks for what the health endpoint answers.
"""

from __future__ import annotations

import ast
import json
from functools import cache
from http import HTTPStatus
from typing import Any

import pytest

from drgen.bundle.names import camel
from drgen.lambda_code import LAMBDA_ROOT, contract
from drgen.lambda_functions import functions_for
from drgen.operate import lambdas
from drgen.scenario import PRESETS
from drgen.scenario.model import HealthCheckType

from ..conftest import REPO, resources, template
from .code_walk import handler_of, variables_of

ALL = sorted(PRESETS)
# What the functions publish that no alarm watches, and why.
UNALARMED = {
    contract.FAILOVER_READINESS: "the readiness test notifies the alert topic itself; the dashboard plots it",
    contract.DURATION[contract.FAILOVER]: "the recovery time a failover achieved: a record; the dashboard plots it",
    contract.DURATION[contract.FAILBACK]: "the same for a failback",
}
ENVIRONMENT_NAMES = {value for name, value in vars(contract).items() if name == value}


def _contract_name(node: ast.expr) -> str | None:
    """The contract value an expression names: ``NAME`` (imported from the contract) or ``contract.NAME``."""
    name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
    value = getattr(contract, name, None) if name and name.isupper() else None
    return value if isinstance(value, str) else None


@cache
def _published() -> frozenset[str]:
    """Every metric name the functions' code passes to ``Metric(...)`` (``SUCCESS[mode]``: each direction's)."""
    found: set[str] = set()
    for path in LAMBDA_ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Metric" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Subscript) and isinstance(first.value, ast.Name):
                    found |= set(getattr(contract, first.value.id).values())  # SUCCESS or DURATION, by mode
                elif (name := _contract_name(first)) is not None:
                    found.add(name)
    return frozenset(found)


def _templates(bundle: Any) -> list[dict[str, Any]]:
    return [json.loads(text) for path, text in sorted(bundle.files.items()) if path.startswith("templates/")]


def _alarmed(bundle: Any, namespace: str) -> set[str]:
    """The metrics in ``namespace`` the bundle's alarms watch (single-metric and metric-math alarms)."""
    found = set()
    for doc in _templates(bundle):
        for alarm in resources(doc, "AWS::CloudWatch::Alarm").values():
            props = alarm["Properties"]
            metrics = [props, *(q["MetricStat"]["Metric"] for q in props.get("Metrics", []) if "MetricStat" in q)]
            found |= {m["MetricName"] for m in metrics if m.get("Namespace") == namespace and "MetricName" in m}
    return found


def _functions(bundle: Any) -> dict[str, dict[str, Any]]:
    return {k: v for doc in _templates(bundle) for k, v in resources(doc, "AWS::Lambda::Function").items()}


def _variables(function: dict[str, Any]) -> dict[str, Any]:
    return dict(function["Properties"].get("Environment", {}).get("Variables", {}))


@pytest.mark.parametrize("name", ALL)
def test_every_alarm_on_the_scenarios_metrics_watches_one_the_functions_publish(name, bundles):
    namespace = contract.metrics_namespace(name)
    variables = [_variables(f) for f in _functions(bundles[name]).values()]
    assert {v[contract.METRICS_NAMESPACE] for v in variables if contract.METRICS_NAMESPACE in v} == {namespace}
    watched = _alarmed(bundles[name], namespace)
    assert watched and watched <= _published(), f"alarms watch what no function publishes: {watched - _published()}"


@pytest.mark.parametrize("name", ALL)
def test_alarms_on_the_scenarios_metrics_have_the_dimensions_the_functions_publish_with(name, bundles):
    """CloudWatch counts dimensions in a metric's identity ("whenever you add a unique name/value pair to one of your
    metrics, you are creating a new variation of that metric": cloudwatch_concepts.html#Dimension), so an alarm sees
    only datapoints published with exactly its dimensions. The functions publish none (no Dimensions in lambda/), so
    an alarm on their metrics that named one would never leave INSUFFICIENT_DATA (or, notBreaching, stay OK)."""
    lambda_dir = REPO / "lambda"
    sources = [p for p in lambda_dir.rglob("*.py") if "test" not in p.name]
    assert sources and not [p for p in sources if "Dimensions" in p.read_text()]
    namespace = contract.metrics_namespace(name)
    for doc in _templates(bundles[name]):
        for logical, alarm in resources(doc, "AWS::CloudWatch::Alarm").items():
            props = alarm["Properties"]
            metrics = [props, *(q["MetricStat"]["Metric"] for q in props.get("Metrics", []) if "MetricStat" in q)]
            assert not [m for m in metrics if m.get("Namespace") == namespace and m.get("Dimensions")], logical


def test_what_the_functions_publish_is_alarmed_on_somewhere_or_says_why_not(bundles):
    watched = set().union(*(_alarmed(bundles[name], contract.metrics_namespace(name)) for name in ALL))
    assert watched == _published() - set(UNALARMED)


@pytest.mark.parametrize("name", ALL)
def test_each_function_is_given_exactly_the_variables_its_code_reads(name, bundles):
    """One its code reads and the template does not set fails the function at its first run (config.required
    raises); one the template sets and no code reads is dead configuration (SUFFIX and SECONDARY_REGION were)."""
    rendered = _functions(bundles[name])
    for spec in functions_for(PRESETS[name]):
        variables = set(_variables(rendered[f"{camel(spec.key)}Function"]))
        assert variables <= ENVIRONMENT_NAMES, f"{spec.key}: not in the contract: {variables - ENVIRONMENT_NAMES}"
        assert variables == variables_of(*handler_of(spec)), spec.key


def _machine(bundle: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    doc = template(bundle, "orchestration")
    (resource,) = resources(doc, "AWS::StepFunctions::StateMachine").values()
    return doc, json.loads(resource["Properties"]["DefinitionString"])


def _choice_variables(definition: dict[str, Any]) -> set[str]:
    """The paths the Choice states read (inside ``And`` too)."""
    rules = [rule for state in definition["States"].values() for rule in state.get("Choices", [])]
    return {condition["Variable"] for rule in rules for condition in rule.get("And", [rule])}


@pytest.mark.parametrize("name", ALL)
def test_the_state_machine_catches_the_guards_refusals_and_passes_the_payload_by_the_contracts_names(name, bundles):
    _, definition = _machine(bundles[name])
    states = definition["States"]
    assert states["Guard"]["Catch"][0]["ErrorEquals"] == list(contract.QUIET_REFUSALS)
    inputs = {
        contract.MODE,
        contract.PLANNED,
        contract.FORCE,
        contract.FAILBACK_LAG_THRESHOLD,
        contract.EXECUTION_ID,
        contract.STARTED_AT,
        contract.WRITER_SILENT_SECONDS,
        contract.WRITER_ALIVE,
        contract.CONFIRMATION,
        contract.VALIDATION,
        contract.ERROR,
        contract.PROGRESS,
    }
    for state in (s for s in states.values() if s["Type"] == "Task"):
        assert state["Retry"][0]["ErrorEquals"] == list(contract.REFUSALS)
        assert {key.removesuffix(".$") for key in state["Parameters"]} <= inputs
        assert all(c["ResultPath"] == f"$.{contract.ERROR}" for c in state["Catch"])
    # notify reads the promotion's, the DNS step's and the scale step's results from the whole state (progress)
    for task, field in (("Promote", contract.PROMOTION), ("ShiftDns", contract.DNS), ("Scale", contract.SCALE)):
        assert states[task]["ResultPath"] == f"$.{field}"
    assert {
        f"$.{contract.CONFIRMATION}.{contract.CONFIRMED}",
        f"$.{contract.CONFIRMATION}.{contract.WAITING}",
        f"$.promotion_status.{contract.PROMOTED}",
        f"$.{contract.VALIDATION}.{contract.VALID}",
    } <= _choice_variables(definition)


@pytest.mark.parametrize("name", ALL)
def test_the_confirm_step_returns_what_the_state_machine_reads(name, bundles):
    _, definition = _machine(bundles[name])
    prefix = f"$.{contract.CONFIRMATION}."
    fields = {path.removeprefix(prefix) for path in _choice_variables(definition) if path.startswith(prefix)}
    fields.add(definition["States"]["Promote"]["Parameters"][f"{contract.WRITER_ALIVE}.$"].split(".")[-1])
    confirm = lambdas.module("failover", "confirm")
    quiet = {"known": False, "firing": False, "since": None, "detail": ""}
    request = lambdas.shared("failover").Request()
    result = confirm.confirm(
        request, probe=quiet, route53=quiet, lag_seconds=None, confirm_seconds=1, silent_seconds=1, now=0
    )
    assert fields <= set(result)


@pytest.mark.parametrize("name", ALL)
def test_the_trigger_rules_send_a_request_the_steps_parse(name, bundles):
    doc, _ = _machine(bundles[name])
    failover = lambdas.shared("failover")
    targets = [t for rule in resources(doc, "AWS::Events::Rule").values() for t in rule["Properties"]["Targets"]]
    inputs = [json.loads(t["Input"]) for t in targets if t["Arn"] == {"Ref": "FailoverStateMachine"}]
    assert inputs
    for request in inputs:
        assert set(request) == {contract.MODE, contract.PLANNED, contract.FORCE}
        assert failover.Request.from_event(request).mode == request[contract.MODE]


@pytest.mark.parametrize("name", ALL)
def test_the_confirm_step_is_told_the_names_of_the_alarms_the_templates_create(name, bundles):
    doc, _ = _machine(bundles[name])
    variables = _variables(doc["Resources"]["FailoverConfirmFunction"])
    probe_alarm = [
        a["Properties"]["AlarmName"]
        for a in resources(doc, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == contract.PRIMARY_ENDPOINT_HEALTHY
    ]
    assert probe_alarm == [variables[contract.PROBE_ALARM_NAME]] and contract.PROBE_ALARM in json.dumps(probe_alarm)
    health_alarms = [
        a["Properties"]["AlarmName"]
        for a in resources(template(bundles[name], "global"), "AWS::CloudWatch::Alarm").values()
    ]
    route53_alarm = variables[contract.ROUTE53_ALARM_NAME]
    assert route53_alarm in health_alarms and contract.PRIMARY_HEALTH_ALARM in route53_alarm


@pytest.mark.parametrize("name", ALL)
def test_the_tables_and_the_run_record_the_functions_are_given_hold_what_they_read(name, bundles):
    functions = _functions(bundles[name])
    docs = _templates(bundles[name])
    guard = _variables(functions["FailoverGuardFunction"])
    control = next(
        doc["Resources"][guard[contract.CONTROL_TABLE]["Ref"]]
        for doc in docs
        if "FailoverGuardFunction" in doc["Resources"]
    )
    assert [k["AttributeName"] for k in control["Properties"]["KeySchema"]] == [contract.CONTROL_KEY]
    ledgers = {
        _variables(f)[contract.LEDGER_TABLE] for f in functions.values() if contract.LEDGER_TABLE in _variables(f)
    }
    tables = [
        t["Properties"] for doc in docs for t in doc["Resources"].values() if t["Type"].startswith("AWS::DynamoDB::")
    ]
    assert [[k["AttributeName"] for k in t["KeySchema"]] for t in tables if t["TableName"] in ledgers] == [
        [contract.ORDER_ID]
    ] * len(ledgers)
    records = [p["Properties"] for doc in docs for p in resources(doc, "AWS::SSM::Parameter").values()]
    (record,) = [p for p in records if p["Name"] == guard[contract.STATE_PARAMETER]]
    assert set(json.loads(record["Value"])) == {contract.RUN_STATUS}


def _searched(bundle: Any) -> set[str]:
    checks = resources(template(bundle, "global"), "AWS::Route53::HealthCheck").values()
    return {c["Properties"]["HealthCheckConfig"].get("SearchString") for c in checks} - {None}


STRING_MATCHED = [n for n in ALL if PRESETS[n].routing.health_check.type is HealthCheckType.HTTPS_STR_MATCH]


@pytest.mark.parametrize("name", STRING_MATCHED)
def test_route53_and_the_probe_search_the_primarys_answer_for_the_same_string(name, bundles):
    probe = _functions(bundles[name])["PrimaryProbeFunction"]
    assert _searched(bundles[name]) == {_variables(probe)[contract.SEARCH_STRING]}


class _Database:
    """What health.py's connection cache returns: the database is the writer."""

    @staticmethod
    def run(_query: Any) -> dict[str, Any]:
        return {contract.HEALTH_WRITER: True}


# The presets whose endpoint is drgen's own health code (a Lambda target, or drgen's application on EC2).
OWN_ENDPOINT = [name for name in STRING_MATCHED if PRESETS[name].compute.drgen_answers_health]


@pytest.mark.parametrize("name", OWN_ENDPOINT)
def test_route53_searches_what_drgens_health_endpoint_answers(name, bundles):
    answer = lambdas.module("app", "health").health({}, _Database(), region="eu-west-2")
    assert answer["statusCode"] == HTTPStatus.OK and contract.HEALTH_OK_BODY in answer["body"]
    assert lambdas.module("failover", "validate").database_is_writer(answer["body"]) is True
    assert _searched(bundles[name]) == {contract.HEALTH_OK_BODY}
