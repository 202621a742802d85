"""Is a failover engaged? A deploy during one would put the DR region back to standby while it serves.

The failover's DNS step records where traffic goes in the DR region's control table (lambda/drgen_common/
control.py). While it says the DR region, a deploy of the rendered bundle would scale the DR compute back to its
standby capacity and reset the PRIMARY record's gate in the global stack: ``drgen deploy`` refuses unless told.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from drgen.bundle.manifest import LayerName
from drgen.bundle.names import CONTROL_TABLE
from drgen.bundle.reader import RenderedBundle
from drgen.deploy.session import Aws
from drgen.lambda_code import contract
from drgen.operate import lambdas
from drgen.scenario.model import Role

TABLE_RESOURCE = "FailoverControlTable"  # drgen/builders/control.py


def engaged_failover(aws: Aws, bundle: RenderedBundle) -> str:
    """Why traffic is in the DR region now ("" when it is not, or nothing is deployed yet)."""
    entry = next((e for e in bundle.stacks if e.layer == LayerName.ORCHESTRATION and e.role is Role.SECONDARY), None)
    if entry is None:
        return ""
    resources = bundle.document(entry).get("Resources", {})
    table = resources.get(TABLE_RESOURCE, {}).get("Properties", {}).get("TableName")
    if not isinstance(table, str) or CONTROL_TABLE not in table:
        return ""
    try:
        record = lambdas.shared("control").traffic_record(aws.client("dynamodb", entry.region), table)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return ""  # not deployed yet: nothing is engaged
        raise
    if record.get(contract.TRAFFIC_TO) != contract.TRAFFIC_DR:
        return ""
    since, execution = record.get(contract.TRAFFIC_SINCE, "?"), record.get(contract.TRAFFIC_EXECUTION, "?")
    return f"traffic goes to {entry.region} since {since} ({execution})"
