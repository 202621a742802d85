"""The local stand-ins the Lambda tests run against: moto's server, a real PostgreSQL, a tiny HTTP endpoint.

Each pytest(-xdist) worker starts its own, on free ports of 127.0.0.1, and stops them at the end of its session.
"""

from __future__ import annotations

import datetime
import glob
import http.server
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

PG_USER = "drgen"
PG_PASSWORD = "drgen-test-password"  # a throwaway local server
SERVICE_USER = "postgres"  # the Debian package's user; PostgreSQL refuses to run as root


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- PostgreSQL ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str
    password: str


def find_postgres() -> Path:
    """The newest /usr/lib/postgresql/<version>/bin (else initdb's on PATH); LookupError says what is missing."""
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    found = versions[-1] if versions else shutil.which("initdb")
    if not found or not (Path(os.path.realpath(found)).parent / "pg_ctl").exists():
        raise LookupError("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVICE_USER)
        except KeyError:
            raise LookupError(f"running as root needs the {SERVICE_USER!r} user to run PostgreSQL") from None
        if not shutil.which("runuser"):
            raise LookupError("running as root needs runuser (util-linux) to run PostgreSQL as another user")
    return Path(os.path.realpath(found)).parent


def _as_service_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", SERVICE_USER, "--", *command] if os.geteuid() == 0 else command


def _own(*paths: Path) -> None:
    if os.geteuid() == 0:
        for path in paths:
            shutil.chown(path, SERVICE_USER, SERVICE_USER)


def _self_signed(directory: Path) -> None:
    """server.crt/server.key: the functions always connect with TLS, as Aurora (rds.force_ssl) demands."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .sign(key, hashes.SHA256())
    )
    (directory / "server.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file = directory / "server.key"
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_file.chmod(0o600)
    _own(directory / "server.crt", key_file)


@contextmanager
def postgres_server(bindir: Path) -> Iterator[Postgres]:
    """initdb + pg_ctl start in a temp dir (owned by the service user when we are root); stopped on exit."""
    root = Path(tempfile.mkdtemp(prefix="drgen-pg-"))
    data, log, password_file = root / "data", root / "server.log", root / "password"
    password_file.write_text(PG_PASSWORD)
    _own(root, password_file)
    port = free_port()
    try:
        initdb = [str(bindir / "initdb"), "-D", str(data), "-U", PG_USER, f"--pwfile={password_file}"]
        _run([*initdb, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C"])
        _self_signed(data)
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c ssl=on -c fsync=off -c full_page_writes=off"
        _run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options, "start"])
        yield Postgres("127.0.0.1", port, PG_USER, PG_PASSWORD)
    finally:
        if (data / "postmaster.pid").exists():
            _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(root, ignore_errors=True)


def _run(command: list[str]) -> None:
    result = subprocess.run(_as_service_user(command), capture_output=True, text=True, timeout=120, check=False)
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


# -- an HTTP endpoint for the health-URL checks --------------------------------------------------------------------
ROUTES = {
    "/ok": (200, b'{"status":"ok"}'),
    "/empty": (200, b""),
    "/down": (503, b'{"status":"unavailable"}'),
    # lambda/app/health.py's body: whether this region's database is the writer
    "/writer": (200, b'{"status":"ok","region":"eu-west-2","database":{"writer":true}}'),
    "/reader": (200, b'{"status":"ok","region":"eu-west-2","database":{"writer":false}}'),
}


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, body = ROUTES.get(self.path, (404, b"not found"))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test output is not the place for access logs."""


@contextmanager
def http_endpoint() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
