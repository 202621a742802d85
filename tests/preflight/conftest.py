"""Fixtures: the moto sandbox (as tests/deploy has it), and an Aws whose clients are real boto3 clients with
botocore's Stubber on each, for what moto cannot hold (a wrong account, a Region not enabled, orderability)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from drgen.bundle.reader import RenderedBundle, from_files
from drgen.render import render
from drgen.scenario import load
from drgen.scenario.validate import validate

from ..conftest import sandbox_environment

SUFFIX = "pf"
ACCOUNT = "111122223333"  # the account the credentials are for
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture
def sandbox(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    return sandbox_environment(moto_url, monkeypatch, tmp_path, 0.2)


class StubbedAws:
    """What the checks use of drgen's Aws: ``client(service, region)``, ``account_id()`` (STS, stubbed too)
    and ``sandbox``; every client is stubbed and must have been given each response it is asked for."""

    sandbox = False

    def __init__(self) -> None:
        self.stubs: dict[tuple[str, str], Stubber] = {}
        self._account: str | None = None

    def stub(self, service: str, region: str) -> Stubber:
        if (service, region) not in self.stubs:
            stubber = Stubber(boto3.client(service, region_name=region, **CREDENTIALS))
            stubber.activate()
            self.stubs[service, region] = stubber
        return self.stubs[service, region]

    def client(self, service: str, region: str) -> Any:
        return self.stub(service, region).client

    def account_id(self) -> str:
        if self._account is None:
            self._account = self.client("sts", "us-east-1").get_caller_identity()["Account"]
        return self._account

    def caller(self, account: str = ACCOUNT, arn: str | None = None) -> None:
        """What STS GetCallerIdentity answers next."""
        arn = arn or f"arn:aws:iam::{account}:user/deployer"
        self.stub("sts", "us-east-1").add_response(
            "get_caller_identity", {"Account": account, "Arn": arn, "UserId": "AIDAEXAMPLE"}, {}
        )

    def done(self) -> None:
        for stubber in self.stubs.values():
            stubber.assert_no_pending_responses()


@pytest.fixture
def stubbed() -> StubbedAws:
    return StubbedAws()


def bundle_of(name: str, **changes: Any) -> RenderedBundle:
    """A preset rendered in memory, with scenario fields replaced: ``account=...``, ``compute__image=...``,
    ``routing__domain=...`` (a nested field after the double underscore)."""
    scenario = load(name, suffix=SUFFIX)
    for key, value in changes.items():
        if "__" in key:
            outer, inner = key.split("__", 1)
            value = dataclasses.replace(getattr(scenario, outer), **{inner: value})
            key = outer
        scenario = dataclasses.replace(scenario, **{key: value})
    validate(scenario)
    return from_files(render(scenario).files, f"the rendered {name}")
