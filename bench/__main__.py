"""``python -m bench``: run every benchmark, write bench/results.json and bench/results.md, put the table into
docs/performance.md, print it with one PASS/FAIL line per target. Exit status 1 when a target fails."""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from bench.cdk import cdk_figures
from bench.cold import lint_figures, render_figures
from bench.deploy import deploy_figures
from bench.scaling import scaling_figures
from bench.stats import Figure, Target, table

HERE = Path(__file__).resolve().parent
DOC = HERE.parent / "docs" / "performance.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
SECTIONS = ("render", "lint", "deploy", "scaling", "cdk")
MIN_RUNS = 5


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=MIN_RUNS, help=f"runs per figure (at least {MIN_RUNS})")
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only these sections (repeatable)")
    args = parser.parse_args()
    if args.runs < MIN_RUNS:
        parser.error(f"--runs must be at least {MIN_RUNS}")
    # Every child process imports compiled modules, as an installed drgen does (pip compiles at install time);
    # with PYTHONDONTWRITEBYTECODE set, a module added since the last compile would be compiled in every run.
    for tree in ("drgen", "lambda"):
        compileall.compile_dir(HERE.parent / tree, quiet=1)
    from drgen.scenario import PRESETS

    presets = list(PRESETS)
    sections: dict[str, tuple[list[Figure], list[Target]]] = {}
    calls: dict[str, dict[str, float]] = {}
    notes: list[str] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="drgen-bench-") as directory:
        scratch = Path(directory)
        for name in args.only or SECTIONS:
            print(f"bench: {name} ...", file=sys.stderr, flush=True)
            if name == "render":
                sections[name] = render_figures(presets, args.runs, scratch)
            elif name == "lint":
                sections[name] = lint_figures(args.runs, scratch)
            elif name == "deploy":
                figures, targets, calls = deploy_figures(presets, args.runs, scratch)
                sections[name] = (figures, targets)
            elif name == "cdk":
                figures, targets, section_notes = cdk_figures(args.runs, scratch)
                sections[name] = (figures, targets)
                notes += section_notes
            else:
                sections[name] = scaling_figures(args.runs, scratch)
    targets = [t for _, section_targets in sections.values() for t in section_targets]
    markdown = report(sections, calls, targets, args.runs, notes)
    (HERE / "results.md").write_text(markdown)
    data = results(sections, calls, targets, args.runs, notes)
    (HERE / "results.json").write_text(json.dumps(data, indent=2) + "\n")
    if not args.only:
        update_doc(markdown)
    print(markdown)
    print(f"bench: {time.perf_counter() - started:.0f} s; results in bench/results.json and bench/results.md")
    return 0 if all(t.holds for t in targets) else 1


def machine() -> dict[str, str | int | None]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "drgen": metadata.version("drgen"),
        "cfn-lint": metadata.version("cfn-lint"),
        "moto": metadata.version("moto"),
        "troposphere": metadata.version("troposphere"),
    }


def results(
    sections: dict[str, tuple[list[Figure], list[Target]]],
    calls: dict[str, dict[str, float]],
    targets: list[Target],
    runs: int,
    notes: list[str],
) -> dict[str, object]:
    return {
        "machine": machine(),
        "runs": runs,
        "figures": {name: [f.to_dict() for f in figures] for name, (figures, _) in sections.items()},
        "deploy_api_calls_median": calls,
        "targets": [t.to_dict() for t in targets],
        "notes": notes,
        "pass": all(t.holds for t in targets),
    }


def report(
    sections: dict[str, tuple[list[Figure], list[Target]]],
    calls: dict[str, dict[str, float]],
    targets: list[Target],
    runs: int,
    notes: list[str],
) -> str:
    info = machine()
    lines = [
        f"Machine: {info['cpus']} CPUs, {info['processor']}, {info['platform']}; Python {info['python']}, "
        f"drgen {info['drgen']}, cfn-lint {info['cfn-lint']}, moto {info['moto']}. {runs} runs per figure.",
        "",
        *table([f for figures, _ in sections.values() for f in figures]),
    ]
    if calls:
        lines += ["", *calls_table(calls)]
    lines += ["", "```", *(t.line() for t in targets), *notes, "```", ""]
    return "\n".join(lines)


def calls_table(calls: dict[str, dict[str, float]]) -> list[str]:
    """AWS API calls per deploy by operation (median over the runs), one column per preset."""
    presets = list(calls)
    operations = sorted({op for by_op in calls.values() for op in by_op})
    rows = ["| API calls per deploy (median) | " + " | ".join(presets) + " |", "|---" + "|---:" * len(presets) + "|"]
    for op in operations:
        rows.append(f"| {op} | " + " | ".join(f"{calls[p].get(op, 0):.0f}" for p in presets) + " |")
    rows.append("| **total** | " + " | ".join(f"{sum(calls[p].values()):.0f}" for p in presets) + " |")
    return rows


def update_doc(markdown: str) -> None:
    """Replace the table between the markers in docs/performance.md (left alone when the markers are gone)."""
    if not DOC.is_file():
        return
    text = DOC.read_text()
    if BEGIN not in text or END not in text:
        return
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{BEGIN}\n{markdown}{END}{tail}")


if __name__ == "__main__":
    sys.exit(main())
