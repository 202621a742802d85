"""The catalogue's calls (drgen/lambda_functions.py ``calls``) are the AWS calls the Lambda code makes, and the
walk over the code that finds them (code_walk.py) finds what it should.

Lint rule E9011 checks the roles against the catalogue; this test holds the catalogue against the handlers, so
neither drifts.
"""

from __future__ import annotations

import pytest
from drgen_common import contract

from drgen.lambda_functions import (
    APP_HEALTH,
    BACKUP_EXPORT,
    CONNECTIVITY,
    ENGAGED_SIGNAL,
    EVENT_SOURCE_MAPPING_CALLS,
    FAILOVER_STEPS,
    LAG_MONITOR,
    LEDGER_REPLAY,
    ORDER_INTAKE,
    PROBE,
    READINESS,
    RETURN_REPLICATION,
    TRADE_PROCESSOR,
    Function,
)

from .code_walk import calls_of, handler_of, variables_of

ALL = (
    *FAILOVER_STEPS,
    RETURN_REPLICATION,
    ENGAGED_SIGNAL,
    LAG_MONITOR,
    CONNECTIVITY,
    READINESS,
    PROBE,
    APP_HEALTH,
    BACKUP_EXPORT,
    TRADE_PROCESSOR,
    ORDER_INTAKE,
    LEDGER_REPLAY,
)
# Calls the catalogue lists that no code line makes, and why the role needs them anyway.
NOT_IN_CODE = {
    TRADE_PROCESSOR.key: set(EVENT_SOURCE_MAPPING_CALLS),
    BACKUP_EXPORT.key: {"iam:PassRole"},  # StartExportTask hands RDS the export role
    RETURN_REPLICATION.key: {"iam:PassRole"},  # PutBucketReplication hands S3 the replication role
}


@pytest.mark.parametrize("spec", ALL, ids=[f.key for f in ALL])
def test_the_catalogue_lists_exactly_what_the_code_calls(spec: Function) -> None:
    in_code = calls_of(*handler_of(spec))
    listed = set(spec.calls)
    assert in_code - listed == set(), f"{spec.key} calls these without the catalogue (and so its role) saying so"
    assert listed - in_code == NOT_IN_CODE.get(spec.key, set()), f"{spec.key}: listed but never called"


def test_the_walker_finds_calls_through_drgen_common_and_in_place_clients() -> None:
    """The analysis itself: the readiness test reaches DescribeStateMachine through ``client("stepfunctions")``
    and PutItem through drgen_common.control; the notify step SNS through drgen_common.notify."""
    assert {"states:DescribeStateMachine", "dynamodb:PutItem"} <= calls_of(*handler_of(READINESS))
    notify = next(f for f in FAILOVER_STEPS if f.key == "failover-notify")
    assert "sns:Publish" in calls_of(*handler_of(notify))


def test_the_walker_finds_variables_read_through_drgen_common() -> None:
    """The analysis itself: the probe reads its namespace through drgen_common.metrics, the notify step its topic
    in its own module."""
    assert contract.METRICS_NAMESPACE in variables_of(*handler_of(PROBE))
    notify = next(f for f in FAILOVER_STEPS if f.key == "failover-notify")
    assert contract.ALERT_TOPIC_ARN in variables_of(*handler_of(notify))
    validate = next(f for f in FAILOVER_STEPS if f.key == "failover-validate")
    assert {contract.HEALTH_URL, contract.PRIMARY_HEALTH_URL} <= variables_of(*handler_of(validate))  # either branch
    assert contract.EVENT_SOURCE in variables_of(*handler_of(TRADE_PROCESSOR))  # spelled contract.EVENT_SOURCE
