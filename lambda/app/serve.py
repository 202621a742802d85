"""The health endpoint as an HTTP server, for EC2 instances (compute kind asg) that run drgen's default application.

The same code the Lambda targets run (``health.health``) answers GET on HEALTH_PATH: 200 with the data it read
from the database, or 503 when the database does not answer, so the load balancer and Route 53 see whether the
instance can serve (seed 001: health checks that validate real trading data). Everything else is 404. With
APP_TLS_CERT and APP_TLS_KEY the server speaks HTTPS (the load balancer does not validate the certificate).

Run on the instance as ``python3.11 serve.py`` from the unpacked app package; configuration comes from the
environment (/etc/drgen/app.env, written by the launch template's user data).
"""

from __future__ import annotations

import json
import os
import ssl
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from drgen_common.contract import APP_PORT, APP_TLS_CERT, APP_TLS_KEY, HEALTH_PATH

Respond = Callable[[dict[str, Any]], dict[str, Any]]  # a proxy event in, a proxy response out


def make_server(
    port: int, health_path: str, respond: Respond, tls: tuple[str, str] | None = None
) -> ThreadingHTTPServer:
    """A server on ``port`` that answers ``health_path`` through ``respond`` (``health.health`` bound)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path != health_path:
                self._send(404, {"Content-Type": "application/json"}, json.dumps({"status": "not found"}))
                return
            response = respond({"path": path, "httpMethod": "GET", "requestContext": {"elb": {}}})
            self._send(response["statusCode"], response.get("headers", {}), response["body"])

        def _send(self, status: int, headers: dict[str, str], body: str) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the load balancer probes every few seconds; failures are logged by health itself

    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile=tls[0], keyfile=tls[1])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    return server


def main() -> None:
    import health  # the package's root module on the instance (lambda/app/health.py)

    region = os.environ["AWS_REGION"]
    cert, key = os.environ.get(APP_TLS_CERT), os.environ.get(APP_TLS_KEY)
    server = make_server(
        int(os.environ[APP_PORT]),
        os.environ.get(HEALTH_PATH, "/health"),
        lambda event: health.health(event, health.CONNECTIONS, region=region),
        (cert, key) if cert and key else None,
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
