"""Templates and Lambda zips into each region's artifact bucket, and how each stack is handed its template.

One bucket per region (``drgen-artifacts-<account>-<region>``): CloudFormation and Lambda read from a bucket in
their own region. Keys carry the content's sha256, so an unchanged file is never uploaded twice. A template
over CloudFormation's 51,200-byte TemplateBody limit is passed by TemplateURL instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from botocore.exceptions import ClientError

from drgen.bundle.manifest import StackEntry
from drgen.bundle.reader import RenderedBundle
from drgen.deploy import buckets, moto_templates
from drgen.deploy.session import Aws, error_code

TEMPLATE_BODY_LIMIT = 51_200


def bucket_name(account: str, region: str) -> str:
    return f"drgen-artifacts-{account}-{region}"


@dataclass(frozen=True)
class TemplateSource:
    body: bytes  # empty: the stack's current template (UsePreviousTemplate)
    url: str | None = None  # set when the body is over the TemplateBody limit

    def api_args(self) -> dict[str, Any]:
        """The TemplateBody, TemplateURL or UsePreviousTemplate argument of a CloudFormation call."""
        if self.url:
            return {"TemplateURL": self.url}
        return {"TemplateBody": self.body.decode("utf-8")} if self.body else {"UsePreviousTemplate": True}


PREVIOUS_TEMPLATE = TemplateSource(b"")


class Artifacts:
    """The artifact buckets of one deployment and the body each template is deployed with.

    Against moto the bodies are the sandbox-adjusted ones (``moto_templates.adapt``); elsewhere the rendered bytes.
    """

    def __init__(self, aws: Aws, bundle: RenderedBundle, body_limit: int = TEMPLATE_BODY_LIMIT) -> None:
        self._aws = aws
        self._bundle = bundle
        self._body_limit = body_limit
        paths = sorted({e.template for e in bundle.stacks})
        self.adapted = {p: moto_templates.adapt(bundle.files[p]) for p in paths} if aws.sandbox else {}
        self._bodies = {p: self.adapted[p].body if aws.sandbox else bundle.files[p] for p in paths}

    def bucket(self, region: str) -> str:
        return bucket_name(self._aws.account_id(), region)

    def prepare(self, regions: Iterable[str], report: Callable[[str], None]) -> None:
        """Bootstrap each region's bucket and upload every template and artifact it may need."""
        for region in sorted(set(regions)):
            s3 = self._aws.client("s3", region)
            name = self.bucket(region)
            endpoint = self._aws.target.endpoint_url or "https:"
            buckets.ensure_private_bucket(s3, name, region, tls_only=not endpoint.startswith("http:"))
            uploads = [(a.key, self._bundle.files[a.file]) for a in self._bundle.artifacts]
            uploads += [(self._template_key(p), body) for p, body in self._bodies.items()]
            sent = sum(_upload(s3, name, key, data) for key, data in uploads)
            report(f"artifacts: s3://{name} ready ({sent} uploaded, {len(uploads) - sent} already there)")

    def template(self, entry: StackEntry, region: str | None = None) -> TemplateSource:
        """How ``entry``'s template reaches CloudFormation in ``region`` (default: the entry's own)."""
        body = self._bodies[entry.template]
        if len(body) <= self._body_limit:
            return TemplateSource(body)
        where = region or entry.region
        key = self._template_key(entry.template)
        return TemplateSource(body, f"https://{self.bucket(where)}.s3.{where}.amazonaws.com/{key}")

    def _template_key(self, path: str) -> str:
        digest = hashlib.sha256(self._bodies[path]).hexdigest()[:16]
        b = self._bundle
        return f"drgen/{b.scenario}/{b.suffix}/templates/{PurePosixPath(path).stem}-{digest}.json"


def _upload(s3: Any, bucket: str, key: str, data: bytes) -> bool:
    """Put ``data`` at ``key`` unless it is already there; True when it was uploaded."""
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return False
    except ClientError as exc:
        if error_code(exc) not in (*buckets.MISSING_BUCKET, "NoSuchKey"):
            raise
    s3.put_object(Bucket=bucket, Key=key, Body=data)
    return True
