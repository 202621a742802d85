"""Stack outputs feed the parameters of their dependents, across regions (exports do not cross regions).

Outputs of stacks deployed in this run are kept as they finish; those of stacks deployed earlier (``--only``,
or a plan) are read once from CloudFormation. Values found in the account before the run (the existing hosted
zone's id) are ``given``: every stack that declares the parameter and has no other value for it receives them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

from drgen.bundle.manifest import StackEntry
from drgen.errors import DrgenError

ARTIFACT_BUCKET_PARAMETER = "ArtifactBucket"


class Outputs:
    def __init__(
        self,
        entries: tuple[StackEntry, ...],
        fetch: Callable[[StackEntry], dict[str, str] | None],
        given: dict[str, str] | None = None,
    ) -> None:
        self.given = dict(given or {})
        self._entries = {e.name: e for e in entries}
        self._fetch = fetch
        self._known: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def put(self, stack: str, outputs: dict[str, str]) -> None:
        with self._lock:
            self._known[stack] = dict(outputs)

    def of(self, stack: str) -> dict[str, str]:
        """The outputs of ``stack``; a DrgenError when it is not deployed."""
        with self._lock:
            known = self._known.get(stack)
        if known is None:
            fetched = self._fetch(self._entries[stack])
            if fetched is None:
                raise DrgenError(f"{stack} is not deployed; deploy it first (drop --only)")
            self.put(stack, fetched)
            known = fetched
        return known


def declared_parameters(template: bytes) -> frozenset[str]:
    return frozenset(json.loads(template).get("Parameters", {}))


def parameters_for(
    entry: StackEntry, declared: frozenset[str], outputs: Outputs, artifact_bucket: str
) -> dict[str, str]:
    """Render-time values as they are, inputs from upstream outputs, values found before the run, ArtifactBucket
    from this region's bucket."""
    values = {**outputs.given, **entry.parameters}
    for parameter, source in entry.inputs.items():
        upstream = outputs.of(source["stack"])
        if source["output"] not in upstream:
            raise DrgenError(f"{source['stack']} has no output {source['output']} (needed for {parameter})")
        values[parameter] = upstream[source["output"]]
    if ARTIFACT_BUCKET_PARAMETER in declared:
        values[ARTIFACT_BUCKET_PARAMETER] = artifact_bucket
    return {k: v for k, v in values.items() if k in declared}
