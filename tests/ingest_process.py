"""`facmon ingest` as a child process, its log read line by line: what the tests that run the real
command (end to end, SIGKILL and restart, shared subscriptions) start and stop."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

FACMON = str(Path(sys.executable).with_name("facmon"))
# The collector's own bound on stopping against a slow InfluxDB: 30 s of retries for the held batch
# (shutdown_timeout_s), each request up to its 30 s timeout, then a final ingest_stats write (30 s) and
# 10 s for the MQTT goodbye. Beyond that it is stuck, not slow.
STOP_LIMIT_S = 120


class IngestProcess:
    def __init__(self, env: dict[str, str], *options: str):
        self.process = subprocess.Popen(
            [FACMON, "ingest", *options], env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
        )
        self.log: list[str] = []
        self.subscribed = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for text in self.process.stderr:
            self.log.append(text)
            if "subscribed to" in text:
                self.subscribed.set()

    def wait_subscribed(self) -> None:
        """Until the broker confirmed the subscription, so nothing published afterwards can be missed."""
        assert self.subscribed.wait(30), "".join(self.log)

    def kill(self) -> None:
        """SIGKILL: no flush, no ack, no goodbye."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def terminate(self) -> int:
        """SIGTERM, then the exit code (0: everything received was stored and acknowledged). A process
        still running after STOP_LIMIT_S fails the test with its log and every thread's stack (SIGUSR1)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(STOP_LIMIT_S)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGUSR1)
            time.sleep(2.0)
            self.kill()
            time.sleep(0.5)  # the reader thread collects the last lines
            raise AssertionError(f"facmon ingest did not stop within {STOP_LIMIT_S} s of SIGTERM:\n" + "".join(self.log)) from None
