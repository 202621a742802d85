"""SSM Parameter Store: each region's configuration, and the failover state record.

Configuration parameters have the same names in both regions (Parameter Store is regional), so an application
or operator reads ``/<prefix>-config-<suffix>/<key>`` wherever it runs and gets that region's value. The
failover state parameter (DR region) is where the state machine's guard records a run and notify reads it back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from troposphere import Sub, ssm

from drgen.builders.context import IS_SECONDARY, StackContext
from drgen.bundle.names import FAILOVER_STATE, camel
from drgen.lambda_code import contract

CONFIG = "config"
# What the state parameter holds before the first failover (the guard overwrites it with a run's record).
IDLE_STATE = json.dumps({contract.RUN_STATUS: "idle"})


def config_path(ctx: StackContext) -> str:
    """The hierarchy every configuration parameter lives under."""
    return "/" + ctx.names.fixed("generic", CONFIG)


def region_config(ctx: StackContext, values: Mapping[str, Any]) -> None:
    """One String parameter per key, under the scenario's configuration path."""
    for key, value in values.items():
        ctx.add(
            ssm.Parameter(
                f"Config{camel(key)}Parameter",
                Name=f"{config_path(ctx)}/{key}",
                Type="String",
                Value=value,
                Description=f"drgen {ctx.scenario.name}: {key} in this region",
            )
        )


def failover_state(ctx: StackContext) -> tuple[str, Sub]:
    """The DR region's failover state parameter: its name and its ARN."""
    name = ctx.names.fixed("generic", FAILOVER_STATE)
    ctx.add(
        ssm.Parameter(
            "FailoverStateParameter",
            Condition=IS_SECONDARY,
            Name=name,
            Type="String",
            Value=IDLE_STATE,
            Description="Failover state: the running or last execution (written by the state machine's steps)",
        )
    )
    arn = Sub(f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter/{name}")
    return name, arn
