"""Fixtures for the work-order service: Django configured against the session stack's real PostgreSQL,
a database of its own per test (copied from a migrated template), the service on a free port (waitress
in a thread of the test process) and one account per role."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from facmon.stack import Stack, free_port

ACCOUNTS = {
    # user name: (password, role, vendor, building)
    "officer": ("officer-pass-01", "officer", "", ""),
    "property-staff": ("property-pass-01", "vendor", "property", ""),
    "hvac-staff": ("hvac-pass-0001", "vendor", "hvac", ""),
    "occupant": ("occupant-pass-01", "occupant", "", "341122A001"),
    "other-occupant": ("occupant-pass-02", "occupant", "", "341122A002"),
}


def _admin(stack: Stack) -> psycopg.Connection:
    return psycopg.connect(**{**stack.postgres_dsn(), "dbname": "postgres"}, autocommit=True)


@pytest.fixture(scope="session")
def django_workorders(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Django set up for this process against a migrated template database; yields its name."""
    template = f"workorders_template_{uuid.uuid4().hex[:8]}"
    with _admin(stack) as admin:
        admin.execute(f'CREATE DATABASE "{template}"')
    dsn = stack.postgres_dsn()
    os.environ.update(
        FACMON_POSTGRES_HOST=dsn["host"],
        FACMON_POSTGRES_PORT=str(dsn["port"]),
        FACMON_POSTGRES_DB=template,
        FACMON_POSTGRES_USER=dsn["user"],
        FACMON_POSTGRES_PASSWORD=dsn["password"],
        FACMON_WEB_SECRET_KEY="test-secret-key-" + uuid.uuid4().hex,
        FACMON_HOME=str(tmp_path_factory.mktemp("web-home")),
    )
    from facmon.workorders import server

    server.migrate()
    from django.db import connections

    connections.close_all()
    yield template
    connections.close_all()
    with _admin(stack) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')


@pytest.fixture
def workorder_db(stack: Stack, django_workorders: str) -> Iterator[str]:
    """A fresh, migrated work-order database for one test (with the accounts of ACCOUNTS)."""
    from django.conf import settings
    from django.core.cache import cache
    from django.db import connections

    name = f"workorders_{uuid.uuid4().hex[:10]}"
    connections.close_all()
    with _admin(stack) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{django_workorders}"')
    settings.DATABASES["default"]["NAME"] = name
    for connection in connections.all():
        connection.settings_dict["NAME"] = name
    cache.clear()
    from facmon.workorders import server

    for username, (password, role, vendor, building) in ACCOUNTS.items():
        server.ensure_account(username, password, role, vendor=vendor, building=building)
    yield name
    connections.close_all()
    settings.DATABASES["default"]["NAME"] = django_workorders
    with _admin(stack) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class WebService:
    url: str


@pytest.fixture
def web(workorder_db: str) -> Iterator[WebService]:
    """The work-order service (pages and API) on a free loopback port, in a thread of this process."""
    from django.core.wsgi import get_wsgi_application
    from waitress.server import create_server

    port = free_port()
    server = create_server(get_wsgi_application(), host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield WebService(f"http://127.0.0.1:{port}")

    # waitress has no stop (Pylons/waitress#343): its loop runs while any channel is open, and the test's
    # clients leave keep-alive connections, so without this the join waited its full 10 s on every test
    def close_everything() -> None:  # run by the server's own loop thread: no descriptor closed under its poll
        for channel in list(server._map.values()):  # noqa: SLF001 - the test clients' keep-alive connections
            if channel is not server and channel is not server.trigger:
                channel.close()
        server.close()  # the listening socket and the trigger: the map is empty, the loop ends

    server.trigger.pull_trigger(close_everything)
    server.task_dispatcher.shutdown()
    thread.join(timeout=10)
    assert not thread.is_alive(), "the web service's thread did not stop"


def screenshot_folder() -> Path:
    """Where browser tests save their screenshots: FACMON_SCREENSHOTS, else test-screenshots/ (git-ignored)."""
    folder = Path(os.environ.get("FACMON_SCREENSHOTS") or Path(__file__).resolve().parent.parent / "test-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
