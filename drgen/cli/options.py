"""Options shared by the deploy-side commands, and the two things every one of them builds from them.

Nothing here imports boto3 or rich: ``drgen --help`` must stay fast.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from drgen.deploy.target import DEFAULT_POLL_SECONDS, TARGET_FIELDS, Target, check_url
from drgen.errors import DrgenError

if TYPE_CHECKING:
    from drgen.bundle.reader import RenderedBundle
    from drgen.deploy.executor import StackResult
    from drgen.deploy.session import Aws

OUTPUT = click.Choice(["text", "json"])
FORMATS = click.Choice(["text", "json", "sarif"])
DEFAULT_OUT = Path("templates_out")


@dataclass(frozen=True)
class Source:
    """Where a command's scenario comes from: a preset, a scenario file, or a rendered bundle (exactly one)."""

    preset: str | None = None
    config: Path | None = None
    bundle_dir: Path | None = None

    def check(self) -> None:
        given = [x for x in (self.preset, self.config, self.bundle_dir) if x is not None]
        if len(given) != 1:
            raise DrgenError("give exactly one of --scenario NAME, --config FILE or --bundle DIR")


SUFFIX_HELP = "Environment suffix the stacks were (or are) rendered with (else $ENVIRONMENT_SUFFIX)."


def source_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--scenario NAME | --config FILE | --bundle DIR, and --suffix (or $ENVIRONMENT_SUFFIX): the command gets
    them as ``source: Source`` and ``suffix``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["source"] = Source(kwargs.pop("scenario"), kwargs.pop("config"), kwargs.pop("bundle_dir"))
        return func(*args, **kwargs)

    wrapper = click.option("--suffix", required=True, envvar="ENVIRONMENT_SUFFIX", help=SUFFIX_HELP)(wrapper)
    wrapper = click.option(
        "--bundle",
        "bundle_dir",
        type=click.Path(path_type=Path, file_okay=False),
        help="A rendered bundle directory (templates_out/<scenario>); its suffix must match --suffix.",
    )(wrapper)
    wrapper = click.option(
        "--config",
        "-c",
        type=click.Path(path_type=Path, dir_okay=False),
        help="A scenario YAML file (may start from a preset with `base:`), rendered in memory.",
    )(wrapper)
    return click.option("--scenario", "-s", metavar="NAME", help="A preset, rendered in memory.")(wrapper)


def target_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Where to: --endpoint-url, --profile, retries and the poll interval; the command gets them as one
    ``target: Target`` (checked when ``make_aws`` turns it into clients)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["target"] = Target(*(kwargs.pop(name) for name in TARGET_FIELDS))
        return func(*args, **kwargs)

    wrapper = click.option(
        "--poll-seconds",
        type=click.FloatRange(min=0.05),
        default=DEFAULT_POLL_SECONDS,
        show_default=True,
        envvar="DRGEN_POLL_SECONDS",
        help="How often a running stack is polled.",
    )(wrapper)
    wrapper = click.option(
        "--max-attempts", type=click.IntRange(min=1), help="Botocore max attempts (default 10; 3 with --endpoint-url)."
    )(wrapper)
    wrapper = click.option(
        "--retry-mode",
        type=click.Choice(["standard", "adaptive"]),
        default="standard",
        show_default=True,
        help="Botocore retry mode for throttling.",
    )(wrapper)
    wrapper = click.option("--profile", help="AWS profile (else the usual credential chain).")(wrapper)
    return click.option(
        "--endpoint-url",
        envvar="AWS_ENDPOINT_URL",
        metavar="URL",
        help="Send every AWS call here, e.g. a local sandbox (`drgen sandbox`: http://127.0.0.1:5000).",
    )(wrapper)


def load_bundle(source: Source, suffix: str) -> RenderedBundle:
    from drgen.bundle import reader as bundle

    source.check()
    if source.bundle_dir is not None:
        return bundle.from_directory(source.bundle_dir, suffix)
    if source.config is not None:
        from drgen.render import render
        from drgen.scenario import load

        return bundle.from_files(render(load(config=source.config, suffix=suffix)).files, str(source.config))
    return bundle.from_scenario(source.preset or "", suffix)


def make_aws(target: Target) -> Aws:
    """The AWS clients for ``target``; an endpoint the HTTP stack would choke on is refused in one line first."""
    from drgen.deploy.session import Aws

    if target.endpoint_url is not None:
        check_url(target.endpoint_url, "--endpoint-url (or $AWS_ENDPOINT_URL)", "http://127.0.0.1:5000")
    return Aws(target)


def print_results(results: Sequence[StackResult], output: str, operation: str) -> None:
    """The summary at the end: JSON on stdout with --output json, else one line of counts."""
    if output == "json":
        click.echo(json.dumps([r.to_dict() for r in results], indent=2))
        return
    counts: dict[str, int] = {}
    for result in results:
        counts[result.outcome.value] = counts.get(result.outcome.value, 0) + 1
    summary = ", ".join(f"{n} {outcome}" for outcome, n in counts.items())
    click.echo(f"{operation}: {len(results)} stack(s): {summary}")
    for result in results:
        if not result.outcome.ok:
            click.echo(f"  {result.name} ({result.region}): {result.outcome.value}: {result.reason}")


def exit_on_failure(results: Sequence[StackResult]) -> None:
    """Exit 2 when a stack is left in a state only the user can clear (its line says how), else 1 on a failure."""
    if any(r.blocked for r in results):
        sys.exit(2)
    if any(not r.outcome.ok for r in results):
        sys.exit(1)


# How a scenario is (or will be) deployed.
MODE = click.option(
    "--mode",
    type=click.Choice(["stacks", "stacksets"]),
    default="stacks",
    show_default=True,
    help="Ordered stacks, or one StackSet per regional layer (run `drgen bootstrap --stacksets` once first).",
)


def bundle_dirs(dirs: list[Path]) -> list[Path]:
    from drgen.bundle.reader import is_bundle

    found: list[Path] = []
    for d in dirs:
        if is_bundle(d):
            found.append(d)
            continue
        children = sorted(p for p in d.iterdir() if is_bundle(p)) if d.is_dir() else []
        if not children:
            raise DrgenError(f"{d} holds no rendered bundle (no manifest); run `drgen render` first")
        found.extend(children)
    return found
