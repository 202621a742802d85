"""The Lambda code in lambda/, imported as it runs in AWS: the shared package on the path, each module by file.

A function's zip holds ``drgen_common/`` next to its own modules, so the handlers import ``drgen_common``
as a top-level package. Here lambda/ goes on ``sys.path`` for that, while each function module is loaded by
its file under a private name (``drgen_lambda.<package>.<module>``): the modules' own names (``dns``, ``app``)
would otherwise clash with installed packages and with each other.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from types import ModuleType

from drgen.lambda_code import LAMBDA_ROOT, put_on_path
from drgen.lambda_functions import Function

_LOCK = threading.Lock()


def module(package: str, name: str) -> ModuleType:
    """``lambda/<package>/<name>.py``, imported once."""
    key = f"drgen_lambda.{package}.{name}"
    with _LOCK:
        if key in sys.modules:
            return sys.modules[key]
        put_on_path()
        spec = importlib.util.spec_from_file_location(key, LAMBDA_ROOT / package / f"{name}.py")
        if spec is None or spec.loader is None:
            raise ImportError(f"no Lambda module lambda/{package}/{name}.py")
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[key] = loaded
        try:
            spec.loader.exec_module(loaded)
        except BaseException:
            del sys.modules[key]
            raise
        return loaded


def shared(name: str) -> ModuleType:
    """``drgen_common.<name>``, the package every function ships with."""
    with _LOCK:
        put_on_path()
    return importlib.import_module(f"drgen_common.{name}")


def handler(function: Function) -> object:
    """The entry point the catalogue names for ``function`` (``guard.handler`` -> lambda/failover/guard.py)."""
    module_name, attribute = function.handler.rsplit(".", 1)
    return getattr(module(function.package, module_name), attribute)
