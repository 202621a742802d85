"""Where two JSON values differ: each path as its keys and list indices, with both sides' values."""

from __future__ import annotations

import json
from typing import Any

MISSING = object()  # the side of a difference where the key is absent
JsonPath = tuple[str | int, ...]  # keys and list indices from the document's root
MAX_VALUE = 60


def diff_paths(old: Any, new: Any, path: JsonPath = ()) -> list[tuple[JsonPath, Any, Any]]:
    """(path, old, new) for every leaf that differs; a list of another length differs as a whole.

    Paths stay tuples (not ``A.B[2]`` text) so a key holding a dot, such as API Gateway's
    ``method.request.path.proxy``, stays one key when it is matched against a schema pointer.
    """
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in sorted(set(old) | set(new)):
            found += diff_paths(old.get(key, MISSING), new.get(key, MISSING), (*path, key))
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        found = []
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            found += diff_paths(a, b, (*path, index))
        return found
    return [] if old == new else [(path, old, new)]


def path_text(path: JsonPath) -> str:
    """``("Properties", "Tags", 2, "Value")`` -> ``Properties.Tags[2].Value``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(value)"


def short(value: Any) -> str:
    """A value as one short line: ``(absent)`` for a missing side, long JSON cut with an ellipsis."""
    if value is MISSING:
        return "(absent)"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"
