"""The commercial AWS regions drgen knows, and which of them are opt-in.

The regions are the ``aws`` partition's in botocore's endpoint data (``botocore/data/endpoints.json``), which AWS
updates with every botocore release. The file is read on first use without importing botocore: ``render
--no-lint`` loads neither the AWS SDK nor cfn-lint (tests/test_cli.py). cfn-lint can lag behind botocore by a
release; ``drgen lint`` (and so a linted render) refuses a region cfn-lint has no schemas for, naming the remedy
(``drgen.lint.runner._check_regions``).

Opt-in regions matter for service principals: SNS and StackSets need the regional principal
(``sns.<region>.amazonaws.com``) when the caller lives in an opt-in region.
"""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path

from drgen.errors import DrgenError

# "Regions launched before March 20, 2019 are enabled by default ... Regions launched after March 20, 2019 are
# disabled by default" (https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html): the
# default set is closed, so every other region of the partition is opt-in.
DEFAULT_REGIONS = frozenset(
    {
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "ca-central-1",
        "eu-central-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-north-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "sa-east-1",
    }
)

PARTITION = "aws"  # drgen deploys to the commercial partition only (GovCloud and China are separate accounts)

# Route 53 health-check metrics are published only here, so alarms on them live here too.
ROUTE53_METRICS_REGION = "us-east-1"


@cache
def known_regions() -> frozenset[str]:
    """The regions of the partition, as the installed botocore knows them."""
    spec = importlib.util.find_spec("botocore")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise DrgenError("drgen needs botocore (installed with boto3) for its list of AWS regions; reinstall drgen")
    path = Path(spec.submodule_search_locations[0]) / "data" / "endpoints.json"
    partitions = json.loads(path.read_text(encoding="utf-8"))["partitions"]
    return frozenset(next(p for p in partitions if p["partition"] == PARTITION)["regions"])


def is_known(region: str) -> bool:
    """Whether ``region`` is a region of the partition; the default regions without reading botocore's 1 MB file
    (a render of a scenario in them stays as fast as before)."""
    return region in DEFAULT_REGIONS or region in known_regions()


def is_opt_in(region: str) -> bool:
    return region not in DEFAULT_REGIONS
