"""Running the work-order service: Django set up from the environment, migrations, translations, the
accounts, the WSGI server (waitress) and facmon's own loop beside it (fault data → orders, SLA breaches,
the InfluxDB timeline)."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from facmon.errors import FacmonError

log = logging.getLogger(__name__)

PACKAGE = Path(__file__).resolve().parent


def setup() -> None:
    """Configure Django for this process (idempotent): settings from the environment (server_settings)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facmon.workorders.server_settings")
    import django
    from django.apps import apps

    if not apps.ready:
        compile_translations()
        django.setup()


def compile_translations() -> None:
    """Compile the package's .po catalogues into FACMON_HOME/web/locale with msgfmt (Debian's gettext),
    when missing or older than the .po: the compiled .mo files are build output, never committed."""
    from facmon.settings import facmon_home

    target_root = facmon_home().absolute() / "web" / "locale"
    for po in (PACKAGE / "locale").glob("*/LC_MESSAGES/*.po"):
        mo = target_root / po.relative_to(PACKAGE / "locale").with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        msgfmt = shutil.which("msgfmt")
        if msgfmt is None:
            raise FacmonError(
                "msgfmt is not installed (the pages' Chinese texts are compiled with it): run `make install` or `apt-get install gettext`"
            )
        mo.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([msgfmt, "--check", "-o", str(mo), str(po)], check=True)


def migrate() -> None:
    """Bring the database schema up to date (runs once; harmless when current)."""
    setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def ensure_account(username: str, password: str, role: str, *, vendor: str = "", building: str = "") -> None:
    """Create or update a work-order account (password hashed with Django's PBKDF2-SHA256)."""
    setup()
    from django.contrib.auth.models import User

    from facmon.workorders.lifecycle import Role
    from facmon.workorders.models import Account

    if role not in {r.value for r in Role} - {Role.SYSTEM.value}:
        raise FacmonError(f"role {role!r} is not officer, vendor or occupant")
    if role == Role.VENDOR.value and not vendor:
        raise FacmonError("a vendor account needs --vendor (a vendor id of the registry)")
    user, _ = User.objects.get_or_create(username=username)
    user.set_password(password)
    user.save()
    Account.objects.update_or_create(user=user, defaults={"role": role, "vendor": vendor, "building": building})


class Background:
    """facmon's loop beside the web server: every ``interval_s`` it turns new fault data into orders,
    marks SLA breaches and writes pending events to InfluxDB; every ``ASSESSMENT_EVERY_S`` it rewrites the
    combined assessment's points of the last and the current month. An error in one pass is logged and the
    next pass tries again; it never stops the web service."""

    ASSESSMENT_EVERY_S = 600.0

    def __init__(
        self,
        store: Any,
        site: Any,
        *,
        interval_s: float = 10.0,
        lookback: timedelta = timedelta(days=35),
        extra_steps: list[tuple[str, Callable[[datetime], Any]]] | None = None,
    ):
        """``extra_steps``: (name, step(now)) run after the fault sync, e.g. the simulated vendors of the demo."""
        self.store, self.site, self.interval_s, self.lookback = store, site, interval_s, lookback
        self.extra_steps = extra_steps or []
        self._assessment_due = 0.0  # monotonic s: the first pass refreshes the assessment's points
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="workorders-background", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def run_once(self, now: datetime | None = None) -> dict[str, Any]:
        from django.db import close_old_connections

        from facmon.workorders import fault_sync, orders, timeline

        close_old_connections()
        at = now or datetime.now(UTC)
        report: dict[str, Any] = {}
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("faults", lambda: fault_sync.sync_faults(self.store, self.site, at - self.lookback, at)),
            *[(name, lambda step=step: step(at)) for name, step in self.extra_steps],
            ("breaches", lambda: orders.mark_breaches(self.site, at)),
            ("timeline", lambda: timeline.flush(self.store, self.site)),
        ]
        if time.monotonic() >= self._assessment_due:
            from facmon.workorders import assessment

            self._assessment_due = time.monotonic() + self.ASSESSMENT_EVERY_S
            steps.append(("assessment", lambda: assessment.refresh_points(self.site, self.store, at)))
        for name, step in steps:
            try:
                report[name] = step()
            except Exception as error:  # noqa: BLE001 - one failed pass must not stop the service
                log.warning("work orders: %s failed this pass (%s); retrying in %.0f s", name, error, self.interval_s)
                report[name] = error
        faults = report.get("faults")
        if isinstance(faults, fault_sync.SyncReport):
            if faults.withdrawn:
                log.info("work orders: withdrawn (the data no longer show their fault): %s", ", ".join(faults.withdrawn))
            if faults.reinstated:
                log.info("work orders: reinstated (their withdrawn fault is back in the data): %s", ", ".join(faults.reinstated))
        return report

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.interval_s)


def serve(
    host: str,
    port: int,
    *,
    store: Any,
    site: Any,
    threads: int = 8,
    interval_s: float = 10.0,
    extra_steps: list[tuple[str, Callable[[datetime], Any]]] | None = None,
) -> None:
    """Serve the pages and the API on host:port until SIGINT/SIGTERM, with the background loop."""
    setup()
    migrate()
    from django.core.wsgi import get_wsgi_application
    from waitress.server import create_server

    server = create_server(get_wsgi_application(), host=host, port=port, threads=threads, ident="facmon")
    from facmon.workorders.site_registry import use_store

    use_store(store)
    background = Background(store, site, interval_s=interval_s, extra_steps=extra_steps)
    background.start()
    log.info("work orders: serving http://%s:%s", host, port)
    try:
        server.run()
    finally:
        background.stop()
