"""Service-linked roles that the bundle's key policies name, created before the first stack.

A key policy may only name principals that exist: the region's key lets the EC2 Auto Scaling service-linked
role encrypt the instances' volumes (what AWS documents for a customer managed key), but that role only exists
once the account has used Auto Scaling. Creating it first is idempotent (an existing role is left as it is).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable

from drgen.bundle.reader import RenderedBundle
from drgen.deploy.session import Aws

# arn:...:iam::<account>:role/aws-service-role/<service principal>/<role name>
SERVICE_ROLE = re.compile(r":role/aws-service-role/([a-z0-9.-]+\.amazonaws\.com)/([\w+=,.@-]+)")
IAM_REGION = "us-east-1"  # IAM is global; its endpoint answers in us-east-1


def named_roles(bundle: RenderedBundle) -> list[tuple[str, str]]:
    """(service, role name) of each service-linked role a key policy in the bundle names, sorted."""
    found: set[tuple[str, str]] = set()
    for path, body in bundle.files.items():
        if path.startswith("templates/") and path.endswith(".json"):
            for resource in json.loads(body).get("Resources", {}).values():
                if resource.get("Type") == "AWS::KMS::Key":
                    found.update(SERVICE_ROLE.findall(json.dumps(resource["Properties"].get("KeyPolicy", {}))))
    return sorted(found)


def ensure(aws: Aws, roles: Iterable[tuple[str, str]], note: Callable[[str], None]) -> list[str]:
    """Create each service-linked role that does not exist yet; returns the names of those created."""
    iam = aws.client("iam", IAM_REGION)
    created = []
    for service, role in roles:
        try:
            iam.get_role(RoleName=role)
            continue
        except iam.exceptions.NoSuchEntityException:
            pass
        iam.create_service_linked_role(AWSServiceName=service)
        created.append(role)
        note(f"created {role}, the service-linked role of {service} that the region's key policy names")
    return created
