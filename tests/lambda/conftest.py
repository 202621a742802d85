"""Fixtures for the Lambda tests: moto's server over HTTP, a real PostgreSQL, clients, secrets, a global database.

The Lambda code lives in lambda/ (``drgen_common`` plus one directory per function package); it is imported
here as ``failover.promote``, ``lag_monitor.app``, ... with lambda/ on sys.path, the way the zip's root
holds ``drgen_common`` next to the function's modules.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from drgen.operate.moto_server import moto_server
from drgen.operate.moto_standins import promotion_standin

from .servers import Postgres, find_postgres, free_port, http_endpoint, postgres_server

LAMBDA_DIR = Path(__file__).resolve().parents[2] / "lambda"
sys.path.insert(0, str(LAMBDA_DIR))

from drgen_common import aws, db  # noqa: E402 - needs lambda/ on sys.path

PRIMARY = "eu-central-1"
DR = "eu-west-2"
NAMESPACE = "drgen/test"
READ_ONLY_USER = "replica"
READ_ONLY_PASSWORD = "replica-test-password"


# -- moto ----------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def cloud(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """A clean moto, the environment the functions see, and ``cloud(service, region=DR)``: a client like theirs."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", DR)
    monkeypatch.setenv("AWS_DEFAULT_REGION", DR)
    monkeypatch.setenv("METRICS_NAMESPACE", NAMESPACE)
    monkeypatch.setenv("PRIMARY_REGION", PRIMARY)
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"), timeout=10).close()

    def client(service: str, region: str = DR) -> Any:
        return aws.client(service, region)

    return client


@dataclass(frozen=True)
class GlobalDatabase:
    identifier: str
    primary_arn: str
    dr_arn: str


@pytest.fixture
def global_database(cloud: Callable[..., Any]) -> GlobalDatabase:
    """An Aurora global cluster: the writer in PRIMARY, a replica in DR (moto wires membership across regions)."""
    identifier = "drgen-global-db-test"
    # moto finds a SourceDBClusterIdentifier only in us-east-1: create the global cluster empty, then join the
    # primary (the first member becomes the writer) and the DR cluster, as the data layer ends up.
    cloud("rds", PRIMARY).create_global_cluster(
        GlobalClusterIdentifier=identifier, Engine="aurora-postgresql", EngineVersion="16.8"
    )
    primary = cloud("rds", PRIMARY).create_db_cluster(
        DBClusterIdentifier="aurora-primary",
        Engine="aurora-postgresql",
        EngineVersion="16.8",
        MasterUsername="dbadmin",
        MasterUserPassword="not-a-real-password",
        GlobalClusterIdentifier=identifier,
    )["DBCluster"]
    dr = cloud("rds", DR).create_db_cluster(
        DBClusterIdentifier="aurora-dr",
        Engine="aurora-postgresql",
        EngineVersion="16.8",
        GlobalClusterIdentifier=identifier,
    )["DBCluster"]
    return GlobalDatabase(identifier, primary["DBClusterArn"], dr["DBClusterArn"])


@pytest.fixture
def promotion_calls() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Stand-in for FailoverGlobalCluster and SwitchoverGlobalCluster, which moto 5.2.5 does not implement:
    drgen's own sandbox patch (drgen.operate.moto_standins.promotion_standin), which the drill uses too. The two
    operations make the target member the writer at once in moto's global-cluster model, so
    describe_global_clusters (which the code under test reads) sees the result; every other call is moto's.
    Real RDS takes minutes and shows a FailoverState meanwhile; the tests of that path use a describe result.
    The list records each call's action and parameters as moto parsed them (snake_case, typed).
    """
    with promotion_standin() as calls:
        yield calls


@pytest.fixture(scope="session")
def health_endpoint() -> Iterator[str]:
    """Base URL of a local endpoint: /ok answers 200 with a body, /empty 200 without, /down 503."""
    with http_endpoint() as url:
        yield url


# -- PostgreSQL ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A real PostgreSQL for this worker (TLS on, like Aurora), with a read-only role standing for a replica."""
    try:
        bindir = find_postgres()
    except LookupError as missing:
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(str(missing))  # CI must run the database tests, not skip them
        pytest.skip(str(missing))
    with postgres_server(bindir) as server:
        admin = db.connect(db.Target(server.host, server.port, "postgres", server.user, server.password))
        try:
            admin.run(f"CREATE ROLE {READ_ONLY_USER} LOGIN PASSWORD '{READ_ONLY_PASSWORD}'")
            # An Aurora global secondary rejects writes with SQLSTATE 25006, exactly like this role does.
            admin.run(f"ALTER ROLE {READ_ONLY_USER} SET default_transaction_read_only = on")
        finally:
            admin.close()
        yield server


_DATABASES = count()


@pytest.fixture
def database(postgres: Postgres) -> db.Target:
    """A fresh database per test (the writer's view); the read-only role may read every table in it."""
    name = f"test_{os.getpid()}_{next(_DATABASES)}"
    admin = db.connect(db.Target(postgres.host, postgres.port, "postgres", postgres.user, postgres.password))
    try:
        admin.run(f"CREATE DATABASE {name}")
    finally:
        admin.close()
    target = db.Target(postgres.host, postgres.port, name, postgres.user, postgres.password)
    owner = db.connect(target)
    try:
        owner.run(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {READ_ONLY_USER}")
    finally:
        owner.close()
    return target


def read_only(target: db.Target) -> db.Target:
    """The same database as seen from a replica region: every write fails as read-only."""
    return db.Target(target.host, target.port, target.database, READ_ONLY_USER, READ_ONLY_PASSWORD)


def unreachable(target: db.Target) -> db.Target:
    """The same credentials pointed at a port nothing listens on."""
    return db.Target(target.host, free_port(), target.database, target.user, target.password)


def store_secret(cloud: Callable[..., Any], name: str, target: db.Target, region: str = DR) -> str:
    """The data layer's secret as the functions read it (username/password plus the attachment's host/port)."""
    secret = {
        "username": target.user,
        "password": target.password,
        "host": target.host,
        "port": target.port,
        "dbname": target.database,
    }
    cloud("secretsmanager", region).create_secret(Name=name, SecretString=json.dumps(secret))
    return name


def metric_values(cloud: Callable[..., Any], name: str, region: str = DR, stat: str = "Maximum") -> list[float]:
    """The per-minute ``stat`` of ``name`` in the test namespace over the last ten minutes, newest first."""
    end = datetime.now(UTC) + timedelta(minutes=1)
    result = cloud("cloudwatch", region).get_metric_data(
        MetricDataQueries=[
            {
                "Id": "m",
                "MetricStat": {"Metric": {"Namespace": NAMESPACE, "MetricName": name}, "Period": 60, "Stat": stat},
            }
        ],
        StartTime=end - timedelta(minutes=10),
        EndTime=end,
    )
    return list(result["MetricDataResults"][0]["Values"])


# -- the failover control table -------------------------------------------------------------------------------------
CONTROL_TABLE = "drgen-failover-control-test"


@pytest.fixture
def control_table(cloud: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> str:
    """The DR region's control table as the orchestration template creates it (partition key ``id``)."""
    cloud("dynamodb").create_table(
        TableName=CONTROL_TABLE,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    monkeypatch.setenv("CONTROL_TABLE", CONTROL_TABLE)
    return CONTROL_TABLE


def control_item(cloud: Callable[..., Any], key: str) -> dict[str, str]:
    """An item of the control table as plain strings ({} when absent), read back with a client of the test's."""
    item = cloud("dynamodb").get_item(TableName=CONTROL_TABLE, Key={"id": {"S": key}}, ConsistentRead=True)
    return {name: next(iter(value.values())) for name, value in item.get("Item", {}).items()}


# -- the global layer's failover records, as routing.py builds them ------------------------------------------------
RECORD = "app.example.com."
ENGAGED_ALARM = "failover-engaged-eu-west-2-test"
ENDPOINTS = {"PRIMARY": "primary.example.net", "SECONDARY": "dr.example.net"}


@dataclass(frozen=True)
class FailoverRecords:
    zone: str
    checks: dict[str, str]  # PRIMARY / SECONDARY endpoint checks, ENGAGED, GATE (the PRIMARY record's)

    def topology(self) -> Any:
        """The same records for drgen's model of Route 53 (moto keeps no AlarmIdentifier to read back)."""
        from drgen import route53_model as model

        endpoint = {"type": "HTTPS_STR_MATCH", "interval": 10, "failure_threshold": 3}
        alarm = model.Alarm(
            ENGAGED_ALARM, DR, NAMESPACE, "FailoverEngaged", "Maximum", 60, 1, 1, 1.0, "GreaterThanOrEqualToThreshold"
        )
        ids = self.checks
        checks = [
            model.Check(ids["PRIMARY"], endpoint=ENDPOINTS["PRIMARY"], **endpoint),
            model.Check(ids["SECONDARY"], endpoint=ENDPOINTS["SECONDARY"], **endpoint),
            model.Check(ids["ENGAGED"], "CLOUDWATCH_METRIC", alarm=alarm, insufficient="LastKnownStatus"),
            model.Check(ids["GATE"], "CALCULATED", children=(ids["PRIMARY"], ids["ENGAGED"]), threshold=2),
        ]
        records = {
            "PRIMARY": model.Record("PRIMARY", ids["GATE"], ENDPOINTS["PRIMARY"]),
            "SECONDARY": model.Record("SECONDARY", ids["SECONDARY"], ENDPOINTS["SECONDARY"]),
        }
        return model.Topology({check.id: check for check in checks}, records)


@pytest.fixture
def failover_records(cloud: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> FailoverRecords:
    """PRIMARY gated by CALCULATED(primary endpoint AND engaged, threshold 2), SECONDARY by the DR endpoint's check;
    the engaged check follows the DR region's FailoverEngaged alarm, LastKnownStatus when the stream is empty."""
    route53 = cloud("route53")
    zone = route53.create_hosted_zone(Name="example.com", CallerReference="zone")["HostedZone"]["Id"]

    def check(reference: str, config: dict[str, Any]) -> str:
        created = route53.create_health_check(CallerReference=reference, HealthCheckConfig=config)
        return str(created["HealthCheck"]["Id"])

    checks = {
        role: check(
            role,
            {
                "Type": "HTTPS_STR_MATCH",
                "FullyQualifiedDomainName": host,
                "ResourcePath": "/health",
                "SearchString": '"status":"ok"',
                "RequestInterval": 10,
                "FailureThreshold": 3,
            },
        )
        for role, host in ENDPOINTS.items()
    }
    checks["ENGAGED"] = check(
        "engaged",
        {
            "Type": "CLOUDWATCH_METRIC",
            "AlarmIdentifier": {"Region": DR, "Name": ENGAGED_ALARM},
            "InsufficientDataHealthStatus": "LastKnownStatus",
        },
    )
    checks["GATE"] = check(
        "gate",
        {
            "Type": "CALCULATED",
            "ChildHealthChecks": [checks["PRIMARY"], checks["ENGAGED"]],
            "HealthThreshold": 2,
        },
    )
    for role, gate in (("PRIMARY", checks["GATE"]), ("SECONDARY", checks["SECONDARY"])):
        change = {
            "Name": RECORD,
            "Type": "CNAME",
            "SetIdentifier": role.lower(),
            "Failover": role,
            "TTL": 60,
            "HealthCheckId": gate,
            "ResourceRecords": [{"Value": ENDPOINTS[role]}],
        }
        route53.change_resource_record_sets(
            HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": change}]}
        )
    # The data layer's alarm in the DR region (moto's CloudFormation skips alarms: create it as the template does).
    cloud("cloudwatch").put_metric_alarm(
        AlarmName=ENGAGED_ALARM,
        Namespace=NAMESPACE,
        MetricName="FailoverEngaged",
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="ignore",
    )
    monkeypatch.setenv("HOSTED_ZONE_ID", zone)
    monkeypatch.setenv("RECORD_NAME", RECORD)
    monkeypatch.setenv("PRIMARY_HEALTH_CHECK_ID", checks["GATE"])
    return FailoverRecords(zone, checks)
