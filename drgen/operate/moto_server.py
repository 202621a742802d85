"""moto's server in this process: the sandbox behind ``drgen sandbox``, ``drgen drill``, the tests and the bench.

moto's backends are plain dicts that the server's request threads share, without a lock (getmoto/moto#372:
"Moto running into thread-safety issues"). drgen deploys the two regions at once, so two CreateStack requests run
side by side, and moto creates every resource of a template inside that one request: the IAM roles of both go into
the account-wide IAM backend while a Lambda function of the other looks its role up by iterating that same dict
(``get_role_by_arn``). About one deploy in a few hundred failed with "dictionary changed size during iteration",
answered as an HTML error page. AWS serves concurrent stack operations, so the sandbox must as well: it serves
CloudFormation requests one at a time. Only those: a stand-in answering inside a request may call the server
again (the drill's model of Route 53 reads CloudWatch), which a lock around every request would deadlock.

An exception moto raises (an action it lacks, a bug like that race) is answered in one line that names it, which
drgen's error then shows, rather than werkzeug's HTML page, whose cause only the server's log held.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from drgen.deploy.session import MOTO_RAISED
from drgen.errors import DrgenError

# The credential scope of a SigV4 request to CloudFormation (boto3 signs every request it sends).
CLOUDFORMATION_SCOPE = "/cloudformation/aws4_request"

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class NamedFailures:
    """WSGI middleware: an exception moto raises (an action it lacks, a bug) becomes a 500 whose body names it in
    one line, instead of werkzeug's HTML page, so drgen's error says what happened (``session.error_text``)."""

    def __init__(self, app: Wsgi) -> None:
        self._app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            return self._app(environ, start_response)
        except Exception as error:  # whatever moto raises; the traceback goes to the log
            logging.getLogger(__name__).exception(
                "moto failed on %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
            )
            start_response("500 INTERNAL SERVER ERROR", [("Content-Type", "text/plain; charset=utf-8")])
            return [f"{MOTO_RAISED}{type(error).__name__}: {error}".splitlines()[0].encode()]


class TemplatesOneAtATime:
    """WSGI middleware: CloudFormation requests one at a time, every other request as it comes."""

    def __init__(self, app: Wsgi) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if CLOUDFORMATION_SCOPE not in environ.get("HTTP_AUTHORIZATION", ""):
            return self._app(environ, start_response)
        with self._lock:  # moto's Flask view builds the whole body inside the call
            return self._app(environ, start_response)


@contextlib.contextmanager
def moto_server(host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """moto's server in this process on ``port`` (0: a free one; the stand-ins patch it in place), starting
    empty: moto keeps its state per process, and an earlier sandbox in this process must not leak into this one."""
    try:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import WSGIRequestHandler, make_server
    except ImportError:
        raise DrgenError(
            "the local sandbox needs moto's server, which is not installed: pip install 'drgen[sandbox]' "
            "(or run against AWS with --live)"
        ) from None
    handler: type[WSGIRequestHandler] = WSGIRequestHandler
    try:  # moto's own handler keeps S3 metadata headers' spelling; a moto without it serves drgen all the same
        from moto.moto_server.werkzeug_app import MotoRequestHandler

        handler = MotoRequestHandler
    except ImportError:
        pass

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    _refuse_taken(host, port)
    app = NamedFailures(TemplatesOneAtATime(DomainDispatcherApplication(create_backend_app)))
    # As moto's ThreadedMotoServer builds it: a thread per request.
    server = make_server(host, port, app, threaded=True, request_handler=handler)
    serving = threading.Thread(target=server.serve_forever, name="moto-server", daemon=True)
    serving.start()
    url = f"http://{f'[{host}]' if ':' in host else host}:{server.server_port}"
    try:
        urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10).close()
        yield url
    finally:
        server.shutdown()
        serving.join()
        server.server_close()


def _refuse_taken(host: str, port: int) -> None:
    """One line naming the port, rather than a traceback from the bind."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise DrgenError(f"cannot serve on {host}:{port}: {error.strerror}; choose another --port") from None
