"""Names a rendered bundle gives its stacks and resources that deploy and operate look up by name.

The builders import them from here, so the side that reads a deployed bundle never imports the builders (or
troposphere) to learn a name.
"""

from __future__ import annotations

# The stack tag naming the scenario that owns a stack (deploy refuses to update a stack another scenario owns).
# No suffix tag: the suffix ends every stack name, so two suffixes never share a stack. No bundle-hash tag:
# stack-level tags propagate to the stack's resources (CloudFormation user guide, "Resource tagging"), so a tag
# that changed with every render would update every resource of every stack on each deploy, changed or not;
# the deployment record keeps each template's hash instead.
OWNER_TAG = "drgen:scenario"

# The DR region's failover control table (drgen/builders/control.py creates it; deploy reads the engaged signal).
CONTROL_TABLE = "failover-control"
