"""The house rules of issue 17 that a reader cannot keep by eye: small modules, no import cycle, one reader of
the manifest, one evaluator of conditions, one module of cross-stack inputs. Each check reads the source, so it
fails the day a change breaks it."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "drgen"
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """Every drgen module ``name`` imports, at the top or inside a function (a lazy import still cycles)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and not (name.startswith(target + ".") and target + "." in name + "."):
                yield target


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_is_over_400_lines() -> None:
    sizes = {str(p.relative_to(PACKAGE.parent)): len(p.read_text().splitlines()) for p in _modules().values()}
    assert {p: n for p, n in sizes.items() if n > MAX_LINES} == {}


def test_no_import_cycle_top_level_or_lazy() -> None:
    modules = _modules()
    # a package's __init__ importing its own submodules is not a cycle through the package's users
    graph = {
        name: {t for t in _imports(name, path, set(modules)) if not t.startswith(name + ".")}
        for name, path in modules.items()
    }
    assert _cycles(graph) == []
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]  # the detector finds one


def _strings(path: Path) -> set[str]:
    return {
        n.value
        for n in ast.walk(ast.parse(path.read_text()))
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def test_the_manifest_is_read_in_one_module_and_written_in_one() -> None:
    """Only drgen/bundle/ names the manifest's file (render writes it through bundle.manifest.MANIFEST); anyone
    else goes through the reader. A docstring or message that mentions it in a sentence is not the name."""
    naming = sorted(
        str(path.relative_to(PACKAGE.parent))
        for path in _modules().values()
        if "manifest.json" in _strings(path) and not path.is_relative_to(PACKAGE / "bundle")
    )
    assert naming == []


def test_one_condition_evaluator() -> None:
    """Conditions are decided in drgen/bundle/evaluate.py only: no other module reads a template's Conditions
    section (the builders write it, through troposphere)."""
    readers = sorted(
        str(path.relative_to(PACKAGE.parent))
        for path in _modules().values()
        if '"Conditions"' in path.read_text() and not path.is_relative_to(PACKAGE / "builders")
    )
    assert readers == ["drgen/bundle/evaluate.py", "drgen/render.py"]  # render drops unused ones it wrote


def _calls(path: Path, names: set[str]) -> list[int]:
    """Lines calling a function or method named in ``names`` (``OutputRef(...)``, ``ctx.input(...)``)."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and (getattr(node.func, "id", None) in names or getattr(node.func, "attr", None) in names)
    ]


def test_one_module_declares_every_cross_stack_input() -> None:
    """A stack reads another's output only through drgen/builders/inputs.py: no other builder names an OutputRef
    or declares an input (StackContext, which implements them, aside), so the wiring between layers is one read."""
    declaring = {
        str(path.relative_to(PACKAGE.parent)): lines
        for path in _modules().values()
        if path.name not in ("inputs.py", "context.py") or path.parent.name != "builders"
        if (lines := _calls(path, {"OutputRef", "input", "same_region"}))
    }
    assert declaring == {}
    assert _calls(PACKAGE / "builders" / "inputs.py", {"OutputRef", "input", "same_region"})  # the scan sees them


_IMPORT_EACH_FIRST = """
import importlib, sys
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "drgen" or m.startswith(("drgen.", "drgen_common"))]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except ImportError as error:
        failed.append(f"{name}: {error}")
print("\\n".join(failed))
"""


def test_every_module_imports_first() -> None:
    """The AST graph above ignores the parent package's __init__ that importing a submodule runs: a cycle through
    it shows only when that module is the first one imported. Each module is imported first here, in turn."""
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_EACH_FIRST, *sorted(m for m in _modules() if not m.endswith("__main__"))],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == ""
