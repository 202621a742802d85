"""The scenario's tags against the limits of every resource that receives them, as drgen expands them.

drgen puts the scenario's tags on every taggable resource (``drgen.builders.tags``), adds its own ``Name`` to some
(Route 53 health checks, VPC resources), and fills in the placeholders per stack: ``{suffix}`` with the suffix,
``{region}`` with the stack's region (the global stack's is us-east-1), ``{role}`` with primary, secondary or
global. So the count is checked against the resource with the least room, and each value's length once its
placeholders are filled in with the longest text they can take.
"""

from __future__ import annotations

import re

from drgen.errors import ScenarioError
from drgen.regions import ROUTE53_METRICS_REGION
from drgen.scenario.model import Role, Scenario

TAG_PLACEHOLDERS = {"suffix", "region", "role"}
KEY_MAX = 128
# "Maximum value length – 256 Unicode characters in UTF-8"; Route 53's HealthCheckTag Value: "Maximum: 256".
VALUE_MAX = 256
# resource -> (the most tags AWS lets it hold, the tags drgen adds beside the scenario's). Route 53: "You can add
# a maximum of 10 tags to a health check or a hosted zone" (https://docs.aws.amazon.com/Route53/latest/
# APIReference/API_ChangeTagsForResource.html), and health checks get a Name (drgen.builders.routing). Every other
# type drgen tags: "Maximum number of tags per resource – 50" (https://docs.aws.amazon.com/tag-editor/latest/
# userguide/tagging.html), some of them with a Name. tests/scenario/test_aws_refusals.py holds a rendered bundle
# to these numbers.
TAG_ROOM = {
    "Route 53 health check": (10, 1),
    "Route 53 hosted zone": (10, 0),
    "other resource": (50, 1),
}


def tightest() -> tuple[str, int, int]:
    """The resource with the least room for the scenario's tags: (what, its limit, the tags drgen adds to it)."""
    what, (limit, added) = min(TAG_ROOM.items(), key=lambda item: item[1][0] - item[1][1])
    return what, limit, added


def check_tags(s: Scenario, longest_suffix: int) -> None:
    """Refuse tags some resource would refuse: too many, a bad key, a value too long once expanded."""
    what, limit, added = tightest()
    if len(s.tags) > limit - added:
        raise ScenarioError(
            f"tags: {len(s.tags)} tags; a {what} takes at most {limit} and drgen adds {added} of its own (Name), "
            f"so keep at most {limit - added}"
        )
    keys = set()
    for key, value in s.tags:
        # "Don't use aws:, AWS:, or any upper or lowercase combination of such as a prefix" (tag restrictions)
        if not 1 <= len(key) <= KEY_MAX or key.lower().startswith("aws:"):
            raise ScenarioError(
                f"tags: key '{key}' must be 1-{KEY_MAX} characters and not start with 'aws:' in any case"
            )
        if key in keys:
            raise ScenarioError(f"tags: key '{key}' appears twice")
        keys.add(key)
        for placeholder in re.findall(r"\{([^}]*)\}", value):
            if placeholder not in TAG_PLACEHOLDERS:
                raise ScenarioError(
                    f"tags.{key}: unknown placeholder '{{{placeholder}}}'; use {{suffix}}, {{region}} or {{role}}"
                )
        _check_length(s, key, value, longest_suffix)


def _check_length(s: Scenario, key: str, value: str, longest_suffix: int) -> None:
    region = max((s.regions.primary, s.regions.secondary, ROUTE53_METRICS_REGION), key=len)
    role = max((r.value for r in Role), key=len)
    filled = {"suffix": "s" * longest_suffix, "region": region, "role": role}
    expanded = value
    for placeholder, text in filled.items():
        expanded = expanded.replace(f"{{{placeholder}}}", text)
    if len(expanded) > VALUE_MAX:
        used = [p for p in filled if f"{{{p}}}" in value]
        worst = ", ".join(
            f"{{suffix}} as a {longest_suffix}-character suffix" if p == "suffix" else f"{{{p}}} as '{filled[p]}'"
            for p in used
        )
        filled_in = f" with {worst}" if used else ""
        raise ScenarioError(
            f"tags.{key}: value is {len(expanded)} characters{filled_in}; AWS allows {VALUE_MAX}, shorten it"
        )
