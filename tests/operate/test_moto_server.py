"""The sandbox serves CloudFormation requests one at a time, and everything else as it comes.

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

from drgen.operate.moto_server import TemplatesOneAtATime, moto_server


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
