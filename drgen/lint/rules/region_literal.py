"""W9006: a regional template hard-codes a region, so it cannot serve both regions as one StackSet."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar

from cfnlint.helpers import REGIONS
from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from drgen.lint.rules._template import CfnPath

# Longest first so "ap-southeast-1" is not read as a shorter code; not inside a longer word or number.
_REGION = re.compile(
    r"(?<![a-z0-9])(" + "|".join(re.escape(r) for r in sorted(REGIONS, key=lambda r: (-len(r), r))) + r")(?![0-9])"
)


class RegionLiteral(CloudFormationLintRule):
    """A literal region code (e.g. "us-east-1") in any string of a template with a PeerRegion parameter."""

    id = "W9006"
    shortdesc = "Regional templates contain no region literals"
    description = (
        "A drgen regional template (one with a PeerRegion parameter) runs unchanged in both regions, e.g. as a "
        "StackSet. Region-specific values must come from AWS::Region, the PeerRegion parameter, or Mappings keyed "
        "by region, never from a region code written into a string."
    )
    source_url = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html"
    tags: ClassVar[list[str]] = ["drgen", "dr", "regions"]

    def match(self, cfn: Template) -> list[RuleMatch]:
        parameters = cfn.template.get("Parameters")
        if not isinstance(parameters, dict) or "PeerRegion" not in parameters:
            return []
        return [
            RuleMatch(
                path,
                f"region code {', '.join(regions)} written into a regional template: use "
                "Ref AWS::Region, Ref PeerRegion or a Mapping keyed by region so one template serves both regions",
            )
            for path, regions in _region_literals(cfn.template, [])
        ]


def _region_literals(value: Any, path: CfnPath) -> Iterator[tuple[CfnPath, list[str]]]:
    """(path, region codes) for every string value below ``value``; mapping keys are names, not values."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _region_literals(item, [*path, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _region_literals(item, [*path, index])
    elif isinstance(value, str):
        found = sorted(set(_REGION.findall(value)))
        if found:
            yield path, found
