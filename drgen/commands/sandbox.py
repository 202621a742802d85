"""``drgen sandbox``: a local AWS stand-in to deploy and operate against, kept until it is stopped."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click

from drgen.cli.errors import handle_errors


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=5000, show_default=True, help="0: a free port.")
@click.option(
    "--health-port",
    type=click.IntRange(0, 65535),
    help="The health stand-in's port on 127.0.0.1 [default: --port + 1; with --port 0, a free one].",
)
@handle_errors
def sandbox(host: str, port: int, health_port: int | None) -> None:
    """Serve moto's AWS sandbox plus drgen's stand-ins until Ctrl-C (or SIGTERM).

    The stand-ins answer what moto does not implement and the promote step calls: RDS FailoverGlobalCluster and
    SwitchoverGlobalCluster (the target cluster becomes the writer at once), as inside `drgen drill`. A plain
    moto server cannot promote: failover and failback against one stop before they start, naming the action.
    moto runs no application, so a health stand-in (200, {"status": "ok"}) serves the URL to pass as
    --health-url to readiness, failover and failback. Prints the endpoint URL on stdout; everything lives in
    this process's memory and goes when it stops. Any credentials do (AWS_ACCESS_KEY_ID=testing
    AWS_SECRET_ACCESS_KEY=testing).

    \b
    Example:
      drgen sandbox --port 5000 &
      drgen deploy   -s trading-ecs --suffix dev --endpoint-url http://127.0.0.1:5000 --yes
      drgen failover -s trading-ecs --suffix dev --endpoint-url http://127.0.0.1:5000 --planned --wait \\
                     --health-url http://127.0.0.1:5001/health
    """
    from drgen.operate.moto_server import moto_server  # names the `sandbox` extra when moto is missing
    from drgen.operate.moto_standins import PROMOTIONS, promotion_standin
    from drgen.operate.rehearsal import serving

    stopped = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    health_port = (port + 1 if port else 0) if health_port is None else health_port
    healthy = serving(lambda _: (200, {"status": "ok", "stand_in": "drgen sandbox"}), health_port)
    with moto_server(host, port) as url, promotion_standin(), healthy as health:
        from moto import __version__ as moto_version

        click.echo(url)
        click.echo(
            f"sandbox: moto {moto_version} at {url}, with drgen's stand-ins for RDS {' and '.join(PROMOTIONS)}; "
            f"health stand-in at {health}/health (pass it as --health-url); Ctrl-C stops it (and forgets "
            "everything)",
            err=True,
        )
        try:
            while not stopped.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
    click.echo("sandbox: stopped", err=True)
