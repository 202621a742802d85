"""Click commands kept out of drgen/cli.py, one module per area; drgen.cli registers them on the group.

drgen.cli is imported first so that importing a command module on its own still finds the group and the
shared helpers fully defined (the modules import ``handle_errors`` and friends from it).
"""

import drgen.cli  # noqa: F401
