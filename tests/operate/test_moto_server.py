"""The sandbox serves CloudFormation requests one at a time, everything else as it comes, and names what moto raised.

moto's backends are unlocked dicts (getmoto/moto#372); two regions' CreateStack requests at once once failed a
deploy with "dictionary changed size during iteration" (a Lambda function's role looked up while the other region's
stack created roles). These tests hold the middleware to that rule with an app that counts who is inside it, and
hold its test of a request against the Authorization header botocore really signs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.parsers import ResponseParserError

from drgen.deploy.session import error_text
from drgen.operate.moto_server import NamedFailures, TemplatesOneAtATime, moto_server


class Inside:
    """A WSGI app that stays a while and notes the most requests inside it at once."""

    def __init__(self, stay: float = 0.15) -> None:
        self.stay, self.now, self.most = stay, 0, 0
        self._count = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._count:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(self.stay)
        with self._count:
            self.now -= 1
        start_response("200 OK", [])
        return [b"ok"]


def _at_once(app: Callable[..., Any], authorizations: list[str]) -> None:
    start = threading.Barrier(len(authorizations))

    def request(authorization: str) -> None:
        start.wait()
        assert app({"HTTP_AUTHORIZATION": authorization}, lambda *a: None) == [b"ok"]

    threads = [threading.Thread(target=request, args=(a,)) for a in authorizations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _signed(service: str, region: str) -> str:
    """The Authorization header botocore signs for ``service``; the request is stopped before it is sent."""
    client = boto3.client(
        service, region_name=region, endpoint_url="http://127.0.0.1:9", aws_access_key_id="x", aws_secret_access_key="x"
    )
    seen: list[str] = []

    class Stop(Exception):
        pass

    def capture(request: Any, **_: Any) -> None:
        seen.append(request.headers["Authorization"].decode())
        raise Stop

    client.meta.events.register("before-send", capture)
    with pytest.raises(Stop):
        {"cloudformation": lambda: client.describe_stacks(), "iam": lambda: client.list_roles()}[service]()
    return seen[0]


def test_two_regions_create_stacks_one_after_the_other():
    inside = Inside()
    _at_once(
        TemplatesOneAtATime(inside), [_signed("cloudformation", "eu-west-1"), _signed("cloudformation", "us-east-1")]
    )
    assert inside.most == 1


def test_other_requests_are_not_held_back_so_a_stand_in_may_call_the_server_from_inside_one():
    inside = Inside()
    _at_once(TemplatesOneAtATime(inside), [_signed("iam", "us-east-1"), _signed("cloudformation", "us-east-1"), ""])
    assert inside.most == 3


def test_the_served_sandbox_creates_two_regions_stacks_one_after_the_other(monkeypatch):
    """The real server, not the middleware alone: moto's create_stack, made slow and watched, never runs twice at
    once when both regions' CreateStack arrive together (it did on moto's own threaded server)."""
    from moto.cloudformation.models import CloudFormationBackend

    inside = Inside(stay=0.3)
    original = CloudFormationBackend.create_stack

    def watched(self: CloudFormationBackend, *args: Any, **kwargs: Any) -> Any:
        inside({}, lambda *a: None)  # counts itself in, stays a while, counts out
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CloudFormationBackend, "create_stack", watched)
    template = '{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}'
    with moto_server() as url:
        start = threading.Barrier(2)

        def create(region: str) -> None:
            client = boto3.client(
                "cloudformation", endpoint_url=url, region_name=region, aws_access_key_id="x", aws_secret_access_key="x"
            )
            start.wait()
            client.create_stack(StackName="one", TemplateBody=template)

        threads = [threading.Thread(target=create, args=(r,)) for r in ("eu-west-1", "eu-west-2")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert inside.most == 1


def test_the_served_sandbox_creates_a_stack_and_answers_other_services():
    with moto_server() as url:
        options = {
            "endpoint_url": url,
            "region_name": "eu-west-1",
            "aws_access_key_id": "x",
            "aws_secret_access_key": "x",
        }
        cloudformation = boto3.client("cloudformation", **options)
        template = '{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}'
        cloudformation.create_stack(StackName="one", TemplateBody=template)
        status = cloudformation.describe_stacks(StackName="one")["Stacks"][0]["StackStatus"]
        assert status == "CREATE_COMPLETE"
        assert len(boto3.client("sns", **options).list_topics()["Topics"]) == 1


def test_an_exception_in_moto_is_answered_in_one_line_that_names_it():
    def failing(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        raise RuntimeError("dictionary changed size during iteration\nsecond line")

    answered: list[str] = []
    body = NamedFailures(failing)({"PATH_INFO": "/"}, lambda status, headers: answered.append(status))
    assert answered == ["500 INTERNAL SERVER ERROR"]
    assert list(body) == [b"moto raised RuntimeError: dictionary changed size during iteration"]


def test_drgens_error_names_what_moto_raised_for_an_action_it_lacks():
    """moto has no RDS FailoverGlobalCluster (the drill stands in for it): its NotImplementedError reaches the
    user's one line, where a plain moto server gives only an HTML page."""
    with moto_server() as url:
        rds = boto3.client(
            "rds", endpoint_url=url, region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        with pytest.raises(ResponseParserError) as raised:
            rds.failover_global_cluster(GlobalClusterIdentifier="g", TargetDbClusterIdentifier="c")
    text = error_text(raised.value)
    assert text.startswith("the endpoint answered with an error page instead of an AWS error (moto raised ")
    assert "NotImplementedError" in text and "\\" not in text and text.endswith(")")
