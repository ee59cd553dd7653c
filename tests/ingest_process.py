"""`facmon ingest` as a child process, its log read line by line: what the tests that run the real
command (end to end, SIGKILL and restart, shared subscriptions) start and stop."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from facmon.ingest.collector import stop_worst_case_s

FACMON = str(Path(sys.executable).with_name("facmon"))
# The collector's own bound on stopping (its InfluxDB requests time out after 30 s): beyond that it is
# stuck, not slow.
STOP_LIMIT_S = stop_worst_case_s(store_timeout_s=30.0)


def signal_status(pid: int) -> str:
    """The signal lines of /proc/<pid>/status (pending, blocked, ignored, caught masks), for a failure message."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return " ".join(row.strip() for row in status if row.startswith(("SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt")))
    except OSError as exc:
        return f"({exc})"


class IngestProcess:
    def __init__(self, env: dict[str, str], *options: str, preexec_fn: Callable[[], None] | None = None):
        self.process = subprocess.Popen(
            [FACMON, "ingest", *options], env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, preexec_fn=preexec_fn
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
            masks = signal_status(self.process.pid)
            self.process.send_signal(signal.SIGUSR1)
            time.sleep(2.0)
            self.kill()
            time.sleep(0.5)  # the reader thread collects the last lines
            raise AssertionError(
                f"facmon ingest did not stop within {STOP_LIMIT_S} s of SIGTERM ({masks}):\n" + "".join(self.log)
            ) from None
