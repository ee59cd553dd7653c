"""Shared fixtures: real Mosquitto and InfluxDB servers on free loopback ports in a temporary folder.

One stack serves the whole session (starting InfluxDB costs a second or two); each test that
stores data gets a database of its own, so tests never see each other's points.

Tests that start servers (or need the Debian packages ``make test`` installs: Mosquitto, InfluxDB,
Go) are marked ``integration`` here, by the fixtures they use or by their module; ``make test-unit``
runs the others, on any machine with Python, in under a minute.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from facmon.registry import Site, load_site
from facmon.stack import Stack, free_port
from facmon.store import InfluxStore
from tests.clock import calendar  # noqa: F401 - the fake-clock fixture, for every test module

# The work-order service's fixtures (django_workorders, workorder_db, web), defined once for the session:
# Django is configured once per process, so its template database must be too.
pytest_plugins = ["tests.workorder_service"]

# Fixtures that start real servers, and modules whose tests start them (or build with Go) themselves.
SERVER_FIXTURES = {"stack", "own_stack", "stress_stack", "secure_stack", "tls_stack", "ports", "django_workorders", "workorder_db", "web"}
SERVER_MODULES = {"test_end_to_end", "test_security", "test_stack", "test_stack_security", "test_ingest_stop", "test_grafana_check"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & SERVER_FIXTURES or item.module is not None and item.module.__name__.split(".")[-1] in SERVER_MODULES:
            item.add_marker(pytest.mark.integration)


ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_SITE = ROOT / "examples" / "county-offices.yaml"


@pytest.fixture(scope="session")
def example_site() -> Site:
    return load_site(EXAMPLE_SITE)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A running local stack on free ports; stopped (exactly its own PIDs) after the session."""
    home = tmp_path_factory.mktemp("facmon-home")
    running = Stack(home, mqtt_port=free_port(), influx_port=free_port(), influx_rpc_port=free_port(), postgres_port=free_port())
    try:
        running.up()
    except BaseException:
        running.down()  # what did start is stopped, not left behind
        raise
    yield running
    running.down()


@pytest.fixture
def store(stack: Stack) -> Iterator[InfluxStore]:
    """A fresh, empty InfluxDB database on the session's server."""
    database = f"test_{uuid.uuid4().hex[:12]}"
    fresh = InfluxStore(stack.influx_url, database)
    fresh.create_database()
    yield fresh
    fresh.query(f'DROP DATABASE "{database}"', method="POST")
    fresh.close()


@pytest.fixture
def stack_env(stack: Stack, store: InfluxStore) -> dict[str, str]:
    """Environment for running `facmon` commands against the session's stack and the test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACMON_")}
    env.update(
        FACMON_HOME=str(stack.home),
        FACMON_INFLUX_DATABASE=store.database,
        FACMON_SITE=str(EXAMPLE_SITE),
    )
    return env
