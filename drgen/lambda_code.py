"""Where drgen finds the Lambda code, and the contract it shares with it.

The code is inside the package when installed (setup.py copies lambda/ to drgen/_lambda), else the checkout's
top-level lambda/ (an editable install, or running from the tree). Its ``drgen_common`` package is imported as
the functions import it, as a top-level package with LAMBDA_ROOT on ``sys.path``, so drgen and the functions
share one module, not two copies of it. This module imports nothing else of drgen: the catalogue
(drgen/lambda_functions.py) and the scenario model import the contract from here.
"""

from __future__ import annotations

import sys
from pathlib import Path

_PACKAGED = Path(__file__).resolve().parent / "_lambda"
LAMBDA_ROOT = _PACKAGED if _PACKAGED.is_dir() else Path(__file__).resolve().parent.parent / "lambda"


def put_on_path() -> None:
    """LAMBDA_ROOT on ``sys.path`` (once), so ``drgen_common`` imports as it does in a function's zip."""
    root = str(LAMBDA_ROOT)
    if root not in sys.path:
        sys.path.insert(0, root)


put_on_path()

from drgen_common import contract  # noqa: E402  (needs LAMBDA_ROOT on sys.path, above)

__all__ = ["LAMBDA_ROOT", "contract", "put_on_path"]
