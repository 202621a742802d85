"""Database access: pg8000 (pure Python) with the credentials from the Secrets Manager secret.

The secret is the JSON the data layer generates (``username``, ``password``; the primary's attachment adds
``host``, ``port``, ``dbname``). DB_ENDPOINT overrides the host, because the secret replicated to the DR
region still names the primary's cluster while each region's functions must use their own cluster.

Connections are TLS-encrypted (the clusters set ``rds.force_ssl``). The server certificate is not verified:
the Lambda runtime does not carry the RDS certificate authorities (packaging their bundle would allow it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pg8000.native
from pg8000.exceptions import DatabaseError, InterfaceError

from drgen_common import config, logs
from drgen_common.contract import DB_ENDPOINT, DB_NAME, DB_READER_ENDPOINT, DB_SECRET_NAME
from drgen_common.retry import retry

T = TypeVar("T")

DEFAULT_PORT = 5432
CONNECT_TIMEOUT_SECONDS = 5.0
READ_ONLY_SQLSTATE = "25006"  # read_only_sql_transaction: a write on a replica (Aurora global secondary)
# Server-side ends of a session: connection exceptions (class 08) and shutdowns (e.g. an Aurora failover).
CONNECTION_SQLSTATES = ("08", "57P01", "57P02", "57P03")


@dataclass(frozen=True)
class Target:
    """Where and as whom to connect; the password stays out of repr (it ends up in logs otherwise)."""

    host: str
    port: int
    database: str
    user: str
    password: str

    def __repr__(self) -> str:
        return f"Target(host={self.host!r}, port={self.port}, database={self.database!r}, user={self.user!r})"


def target(secrets: Any, secret_name: str, endpoint: str = "", database: str = "") -> Target:
    """The connection target from the secret, with this region's endpoint and database name when given."""
    secret = json.loads(retry(secrets.get_secret_value, SecretId=secret_name)["SecretString"])
    host = endpoint or secret.get("host", "")
    if not host:
        raise ValueError(f"no database host: {DB_ENDPOINT} is empty and secret {secret_name} has no 'host'")
    return Target(
        host=host,
        port=int(secret.get("port") or DEFAULT_PORT),
        database=database or secret.get("dbname") or "postgres",
        user=secret["username"],
        password=secret["password"],
    )


def configured_target(secrets: Any) -> Target:
    """The target the function's environment names: DB_SECRET_NAME, and DB_ENDPOINT and DB_NAME when set."""
    return target(secrets, config.required(DB_SECRET_NAME), config.optional(DB_ENDPOINT), config.optional(DB_NAME))


def writer_targets(rds: Any, regional: Target, global_cluster_id: str | None) -> list[Target]:
    """Where a writer connects: the global cluster's writer endpoint, which Aurora points at the current
    primary's writer after a switchover or failover, so a promoted writer is reached with no record or setting
    changed (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database-connecting.html).

    Only that endpoint once it is known, never this region's beside it: after an unplanned failover "fencing
    writes is a best-effort attempt, it's possible that writes might be momentarily accepted in the old primary
    Region, causing split-brain issues", and Aurora's safeguards apply to "write operations submitted through the
    global endpoint" (aurora-global-database-disaster-recovery.html). A write that cannot reach the writer fails
    and is retried; it does not land in a fenced cluster. This region's endpoint when there is no global cluster
    or its endpoint cannot be read (a database that is not global, or the lookup failing)."""
    if not global_cluster_id:
        return [regional]
    try:
        response = retry(rds.describe_global_clusters, GlobalClusterIdentifier=global_cluster_id)
        clusters = [
            c
            for c in response.get("GlobalClusters", [])
            if c.get("GlobalClusterIdentifier", "").lower() == global_cluster_id.lower()
        ]
        endpoint = clusters[0].get("Endpoint") if clusters else None
    except Exception as error:  # the lookup only improves on this region's endpoint; it never stops a write
        logs.warning("global writer endpoint unknown", global_cluster=global_cluster_id, error=str(error))
        return [regional]
    if not endpoint:
        return [regional]
    return [dataclasses.replace(regional, host=str(endpoint))]


def reader_of(writer: Target) -> Target:
    """The same database through this region's reader endpoint (DB_READER_ENDPOINT), which answers whether this
    region's cluster is the global database's primary or a secondary; the writer endpoint when there is none."""
    return dataclasses.replace(writer, host=config.optional(DB_READER_ENDPOINT) or writer.host)


def connect_first(targets: list[Target], timeout: float = CONNECT_TIMEOUT_SECONDS) -> pg8000.native.Connection:
    """A connection to the first target that accepts one. A secondary cluster's writer endpoint is inactive,
    so after a failover the old primary's functions reach their cluster through its reader endpoint."""
    failure: BaseException | None = None
    for where in targets:
        try:
            return connect(where, timeout)
        except Exception as error:
            if not is_connection_error(error):
                raise
            failure = error
    raise failure if failure else ValueError("no database target to connect to")


def _tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def connect(where: Target, timeout: float = CONNECT_TIMEOUT_SECONDS) -> pg8000.native.Connection:
    """An encrypted connection; ``timeout`` bounds the connect and every read (a dead server is an error)."""
    return pg8000.native.Connection(
        user=where.user,
        password=where.password,
        host=where.host,
        port=where.port,
        database=where.database,
        ssl_context=_tls(),
        timeout=timeout,
        application_name="drgen",
    )


def sqlstate(error: BaseException) -> str:
    """The SQLSTATE of a server error ("" for anything else, e.g. a refused connection)."""
    if isinstance(error, DatabaseError) and error.args and isinstance(error.args[0], dict):
        return str(error.args[0].get("C", ""))
    return ""


def is_read_only(error: BaseException) -> bool:
    """True for the error a write gets on a read-only replica (the region is not the writer)."""
    return sqlstate(error) == READ_ONLY_SQLSTATE


def is_connection_error(error: BaseException) -> bool:
    """True when the connection itself is gone (network, server restart), not just the statement failed."""
    if isinstance(error, InterfaceError | OSError):
        return True
    return sqlstate(error).startswith(CONNECTION_SQLSTATES)


class ConnectionCache:
    """One connection per warm Lambda container, re-opened after it breaks.

    Functions called often (the health endpoint, the trade processor) keep the connection between
    invocations. ``run`` drops the connection after any error and, when a connection kept from an earlier
    invocation turns out to be dead, reconnects once and tries again.
    """

    def __init__(self, factory: Callable[[], pg8000.native.Connection]) -> None:
        self._factory = factory
        self._connection: pg8000.native.Connection | None = None

    def get(self) -> pg8000.native.Connection:
        if self._connection is None:
            self._connection = self._factory()
        return self._connection

    def run(self, work: Callable[[pg8000.native.Connection], T]) -> T:
        """``work(connection)``, with one reconnect when a kept connection has died in between."""
        reused = self._connection is not None
        try:
            return work(self.get())
        except Exception as error:
            self.discard()
            if not (reused and is_connection_error(error)):
                raise
        return work(self.get())

    def discard(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):  # it is already broken: closing is best effort
                self._connection.close()
            self._connection = None
