"""Lambda packaging: one deterministic zip per ``lambda/<package>/`` directory the scenario deploys.

A zip holds the package's own modules at its root, the shared ``drgen_common`` package, and pg8000 with its
pure-Python dependencies, copied from the installed distributions (importlib.metadata lists their files).
Entries are sorted, stamped 1980-01-01 with mode 0644 and stored uncompressed, so the bytes depend only on the
file contents (not on the clock, the umask, the file system order or the zlib build). The zip's name and S3 key
carry the first 12 hex digits of its sha256: templates take the key as a parameter, so new code changes the
manifest's parameter values, not the templates.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import metadata
from pathlib import Path, PurePosixPath

from drgen.bundle.names import camel
from drgen.errors import DrgenError
from drgen.lambda_code import LAMBDA_ROOT, contract
from drgen.lambda_functions import SHARED_PACKAGE, functions_for
from drgen.scenario.model import Scenario

FUNCTIONS_DIR = "functions"
# The template parameter the deployer fills with the region's artifact bucket (not known at render time).
ARTIFACT_BUCKET_PARAMETER = "ArtifactBucket"
VENDORED = ("pg8000",)  # the database driver; its requirements follow from its metadata
# The exact versions the zips vendor (setup.cfg pins the same): another version would change every bundle's
# hashes, so render refuses it instead of writing a bundle that differs from the committed one.
VENDORED_PINS = {
    "asn1crypto": "1.5.1",
    "pg8000": "1.31.6",
    "python-dateutil": "2.9.0.post0",
    "scramp": "1.5.0",
    "six": "1.17.0",
}
DATABASE_ENV = contract.DB_SECRET_NAME  # a function whose environment names the secret connects to the database

_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest timestamp a zip entry can carry
_FILE_MODE = 0o100644 << 16  # regular file, rw-r--r--
_HASH_CHARS = 12
# Files an installer writes next to a distribution: they differ per machine, the code does not need them.
_INSTALLER_FILES = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})
_COMPILED = (".so", ".pyd", ".dylib")
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class Artifact:
    """One zip of the bundle: where it is written, the S3 key templates reference, what it holds."""

    package: str
    file: str  # relative to the bundle directory
    key: str  # the S3 key in the region's artifact bucket
    sha256: str
    functions: tuple[str, ...]  # keys of the catalogue functions that run this code
    data: bytes

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "key": self.key,
            "sha256": self.sha256,
            "package": self.package,
            "functions": list(self.functions),
        }


def key_parameter(package: str) -> str:
    """The template parameter holding a package's S3 key (``lag_monitor`` -> ``LagMonitorCodeKey``)."""
    return f"{camel(package)}CodeKey"


# The package drgen's default EC2 application runs (lambda/app/serve.py around the health endpoint).
INSTANCE_APP_PACKAGE = "app"
INSTANCE_APP_ENTRY = "serve.main"


def build_artifacts(scenario: Scenario, root: Path = LAMBDA_ROOT) -> tuple[Artifact, ...]:
    """One artifact per package the scenario's functions (and its instances) use, in catalogue order."""
    by_package: dict[str, list[str]] = {}
    handlers: dict[str, set[str]] = {}
    driver: set[str] = set()
    for function in functions_for(scenario):
        by_package.setdefault(function.package, []).append(function.key)
        handlers.setdefault(function.package, set()).add(function.handler)
        if DATABASE_ENV in function.env:
            driver.add(function.package)
    if scenario.compute.runs_default_application:
        by_package.setdefault(INSTANCE_APP_PACKAGE, [])
        handlers.setdefault(INSTANCE_APP_PACKAGE, set()).add(INSTANCE_APP_ENTRY)
        driver.add(INSTANCE_APP_PACKAGE)
    return tuple(
        _artifact(scenario, package, tuple(keys), root, package in driver, frozenset(handlers[package]))
        for package, keys in by_package.items()
    )


def _artifact(
    scenario: Scenario, package: str, functions: tuple[str, ...], root: Path, driver: bool, handlers: frozenset[str]
) -> Artifact:
    data = package_zip(package, root, driver=driver)
    check_handlers(package, data, handlers)
    digest = hashlib.sha256(data).hexdigest()
    name = f"{package}-{digest[:_HASH_CHARS]}.zip"
    return Artifact(
        package=package,
        file=f"{FUNCTIONS_DIR}/{name}",
        key=f"drgen/{scenario.name}/{FUNCTIONS_DIR}/{name}",
        sha256=digest,
        functions=functions,
        data=data,
    )


def check_handlers(package: str, data: bytes, handlers: frozenset[str]) -> None:
    """Refuse a zip in which a handler (``module.function``) has no module at the zip's root or no such function:
    Lambda would fail every invocation with Runtime.ImportModuleError, after a green deploy."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        for handler in sorted(handlers):
            module, _, function = handler.rpartition(".")
            path = module.replace(".", "/") + ".py"
            source = archive.read(path).decode("utf-8") if path in names else ""
            if not re.search(rf"^def {re.escape(function)}\(", source, re.MULTILINE):
                where = f"no def {function}( in {path}" if source else f"no {path}"
                raise DrgenError(
                    f"lambda package {package}: handler {handler} is missing ({where} in the zip); "
                    f"the Lambda code is incomplete (is drgen installed with its lambda/ code?)"
                )


def package_zip(package: str, root: Path = LAMBDA_ROOT, *, driver: bool = True) -> bytes:
    """The zip bytes of ``lambda/<package>/`` with the shared code and, for packages that reach the database,
    the vendored driver (about 1.2 MB the others need not carry)."""
    entries: dict[str, bytes] = {}
    sources = (
        _tree(root / package, PurePosixPath()),
        _tree(root / SHARED_PACKAGE, PurePosixPath(SHARED_PACKAGE)),
        _vendored(VENDORED if driver else ()),
    )
    for source in sources:
        for name, content in source:
            if name in entries and entries[name] != content:
                raise DrgenError(f"lambda package {package}: two different files would be zipped as {name}")
            entries[name] = content
    return _zip(tuple(sorted(entries.items())))


@lru_cache(maxsize=32)
def _zip(entries: tuple[tuple[str, bytes], ...]) -> bytes:
    """The zip of ``entries`` (sorted by name). Memoised on the contents: every scenario of a render ships the
    same few packages, and the sources are still read each time, so an edited file makes a new zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, content in entries:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = _FILE_MODE
            info.create_system = 3  # unix, so the mode bits are read back as written
            archive.writestr(info, content)
    return buffer.getvalue()


def _tree(directory: Path, prefix: PurePosixPath) -> Iterator[tuple[str, bytes]]:
    """Every source file below ``directory`` (none if it does not exist yet), named under ``prefix``."""
    if not directory.is_dir():
        return
    for path in sorted(directory.rglob("*")):
        relative = PurePosixPath(path.relative_to(directory).as_posix())
        if path.is_file() and _wanted(relative):
            yield str(prefix / relative), path.read_bytes()


def _wanted(relative: PurePosixPath) -> bool:
    """Source only: no byte code, caches or hidden files."""
    if any(part == "__pycache__" or part.startswith(".") for part in relative.parts):
        return False
    return relative.suffix not in (".pyc", ".pyo")


@cache
def _vendored(roots: tuple[str, ...]) -> tuple[tuple[str, bytes], ...]:
    """The vendored distributions' files, read once per process: what is installed does not change under a
    running drgen, and every package of every scenario carries the same driver."""
    closure = _closure(roots)
    for name in closure:
        installed, pinned = metadata.version(name), VENDORED_PINS.get(name)
        if installed != pinned:
            raise DrgenError(
                f"the Lambda zips vendor {name} {pinned or '(not pinned)'}, but {installed} is installed: the bundle's "
                "hashes would differ; reinstall drgen (pip install --force-reinstall drgen) or update VENDORED_PINS"
            )
    return tuple(entry for distribution in closure for entry in _distribution_files(distribution))


@cache
def _closure(roots: tuple[str, ...]) -> tuple[str, ...]:
    """The named distributions and everything they require (extras excluded), sorted by name."""
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        name = _normalise(pending.pop())
        if name in seen:
            continue
        seen.add(name)
        pending.extend(_requirements(name))
    return tuple(sorted(seen))


def _requirements(name: str) -> list[str]:
    try:
        requires = metadata.distribution(name).requires or []
    except metadata.PackageNotFoundError:
        raise DrgenError(
            f"cannot vendor {name} into the Lambda zips: it is not installed (pip install {name})"
        ) from None
    # A requirement that applies only with an extra ("; extra == 'x'") is not installed for the driver.
    return [m.group(1) for r in requires if "extra" not in r.partition(";")[2] and (m := _REQUIREMENT_NAME.match(r))]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _distribution_files(name: str) -> Iterator[tuple[str, bytes]]:
    """The distribution's importable files plus its METADATA and licence files (attribution travels with it)."""
    distribution = metadata.distribution(name)
    for entry in distribution.files or []:
        path = PurePosixPath(str(entry))
        if ".." in path.parts or not _wanted(path) or not _vendorable(path):
            continue
        if path.suffix in _COMPILED:
            raise DrgenError(f"cannot vendor {name}: {path} is compiled code, and Lambda needs pure Python here")
        yield str(path), Path(str(distribution.locate_file(entry))).read_bytes()


def _vendorable(path: PurePosixPath) -> bool:
    info = next((part for part in path.parts if part.endswith(".dist-info")), None)
    if info is None:
        return True
    if path.name in _INSTALLER_FILES:
        return False
    return path.name == "METADATA" or "licen" in str(path).lower()
