"""The commercial AWS regions drgen knows, and which of them are opt-in.

Opt-in regions matter for service principals: SNS and StackSets need the regional principal
(``sns.<region>.amazonaws.com``) when the caller lives in an opt-in region.
"""

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

OPT_IN_REGIONS = frozenset(
    {
        "af-south-1",
        "ap-east-1",
        "ap-south-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ca-west-1",
        "eu-central-2",
        "eu-south-1",
        "eu-south-2",
        "il-central-1",
        "me-central-1",
        "me-south-1",
    }
)

KNOWN_REGIONS = DEFAULT_REGIONS | OPT_IN_REGIONS

# Route 53 health-check metrics are published only here, so alarms on them live here too.
ROUTE53_METRICS_REGION = "us-east-1"


def is_opt_in(region: str) -> bool:
    return region in OPT_IN_REGIONS
