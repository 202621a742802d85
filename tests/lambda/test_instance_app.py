"""drgen's default EC2 application, run from the rendered app package as the instance runs it.

The package the trading-asg bundle ships is unpacked and ``serve.py`` started as its own process, with the
environment the user data writes (/etc/drgen/app.env), against a real PostgreSQL: the health path answers 200
only when the database answered with real rows, 503 when it does not, and any other path 404. This is the
seed's health contract (001: "health checks that validate real trading data").
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from drgen.packaging import INSTANCE_APP_PACKAGE
from drgen.render import render
from drgen.scenario import load

from .conftest import DR, store_secret, unreachable

from drgen_common import db, schema  # isort: skip - lambda/ is on sys.path once conftest is imported
from .servers import free_port


def _unpack_app(where: Path) -> Path:
    bundle = render(load("trading-asg", suffix="t"))
    [artifact] = [a for a in bundle.files if a.startswith(f"functions/{INSTANCE_APP_PACKAGE}-")]
    zipfile.ZipFile(io.BytesIO(bundle.files[artifact])).extractall(where)
    return where


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def start(tmp_path: Path) -> Iterator:
    app = _unpack_app(tmp_path / "app")
    started: list[subprocess.Popen] = []

    def run(secret: str, database: str) -> str:
        port = free_port()
        env = {
            **os.environ,
            "APP_PORT": str(port),
            "HEALTH_PATH": "/health",
            "DB_SECRET_NAME": secret,
            "DB_NAME": database,
            "AWS_REGION": DR,
            "PYTHONPATH": "",
        }
        process = subprocess.Popen([sys.executable, str(app / "serve.py")], cwd=app, env=env)
        started.append(process)
        for _ in range(100):
            try:
                _get(f"http://127.0.0.1:{port}/ready")
                return f"http://127.0.0.1:{port}"
            except OSError:
                time.sleep(0.1)
        raise AssertionError("serve.py did not start")

    yield run
    for process in started:
        process.terminate()
        process.wait(timeout=10)


def test_the_package_holds_the_server_and_what_it_imports(tmp_path):
    app = _unpack_app(tmp_path)
    for needed in ("serve.py", "health.py", "drgen_common/db.py", "pg8000/__init__.py"):
        assert (app / needed).is_file(), needed


def test_the_health_path_answers_with_real_rows_and_503_without_the_database(cloud, database, start):
    connection = db.connect(database)
    connection.run(schema.TRADES_DDL)
    for order in ("t-1", "t-2"):
        connection.run(
            "INSERT INTO trades (order_id, symbol, side, quantity, price, region) VALUES (:o, 'X', 'buy', 1, 1, :r)",
            o=order,
            r=DR,
        )
    connection.close()

    url = start(store_secret(cloud, "app-db", database), database.database)
    status, body = _get(f"{url}/health")
    assert status == 200 and '"status":"ok"' in body  # what the target group and Route 53 look for
    assert json.loads(body)["database"]["trades"]["count"] == 2  # read from the database, not a constant
    assert _get(f"{url}/")[0] == 404

    down = start(store_secret(cloud, "app-db-down", unreachable(database)), database.database)
    status, body = _get(f"{down}/health")
    assert status == 503 and json.loads(body)["status"] == "unavailable"
