"""facmon.stop: every long-running command stops on SIGTERM and SIGINT, however it was started.

Each case runs a small Python program in a process of its own (signals are per process), waiting in
``stop_on_signals()`` as the commands do, and signals it from here."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest

from facmon.stop import StopRequest, stop_on_signals

# The program under test: says it is ready, then waits for the stop request and prints its reason.
# ``busy`` waits on the event in a tight loop of short waits, so signals land in every part of
# Event.wait(), including the moments it holds the event's own lock; ``idle`` waits once.
PROGRAM = """
import sys, time
from facmon.stop import stop_on_signals
with stop_on_signals() as stop:
    print("ready", flush=True)
    if sys.argv[1] == "busy":
        while not stop.wait(0.0001):
            pass
    else:
        stop.wait(60)
    print(stop.reason, flush=True)
"""
STOP_WITHIN_S = 5.0


def _block_stop_signals() -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})


def _ignore_stop_signals() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


STARTS: dict[str, Callable[[], None] | None] = {
    "plain": None,
    "signals-blocked-by-the-parent": _block_stop_signals,  # the mask survives exec
    "signals-ignored-by-the-parent": _ignore_stop_signals,  # so does SIG_IGN (a shell's background job)
}


def _status_mask(pid: int, name: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for row in status:
            if row.startswith(f"{name}:"):
                return int(row.split()[1], 16)
    raise AssertionError(f"{name} not in /proc/{pid}/status")


def _run_and_signal(mode: str, start: Callable[[], None] | None, signum: signal.Signals) -> tuple[str, float, int]:
    """(what the program printed after 'ready', seconds from the signal to its exit, exit code)."""
    process = subprocess.Popen([sys.executable, "-c", PROGRAM, mode], stdout=subprocess.PIPE, text=True, preexec_fn=start)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        assert not _status_mask(process.pid, "SigBlk") & (1 << (signum - 1)), "stop_on_signals unblocked the signal"
        process.send_signal(signum)
        sent = time.monotonic()
        process.wait(STOP_WITHIN_S * 4)
        return process.stdout.read().strip(), time.monotonic() - sent, process.returncode
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("start", STARTS, ids=list(STARTS))
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_waiting_command_stops_on_the_signal_and_names_it_however_it_was_started(start: str, signum: signal.Signals) -> None:
    said, seconds, code = _run_and_signal("idle", STARTS[start], signum)
    assert (said, code) == (f"{signum.name} received", 0)
    assert seconds < STOP_WITHIN_S


def test_a_signal_landing_anywhere_in_a_tight_wait_loop_stops_it() -> None:
    for _ in range(20):
        said, seconds, code = _run_and_signal("busy", None, signal.SIGTERM)
        assert (said, code) == ("SIGTERM received", 0)
        assert seconds < STOP_WITHIN_S


def test_leaving_the_block_restores_the_previous_handlers() -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    with stop_on_signals() as stop:
        assert isinstance(stop, StopRequest) and not stop.is_set()
        assert all(signal.getsignal(sig) is not handler for sig, handler in before.items())
    assert {sig: signal.getsignal(sig) for sig in before} == before


def test_a_stop_request_keeps_its_first_reason() -> None:
    stop = StopRequest()
    stop.request("SIGTERM received")
    stop.request("SIGINT received")
    assert stop.is_set() and stop.reason == "SIGTERM received"


def test_only_the_main_thread_can_take_the_signals() -> None:
    errors: list[BaseException] = []

    def enter() -> None:
        try:
            with stop_on_signals():
                pass
        except RuntimeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=enter)
    thread.start()
    thread.join()
    assert len(errors) == 1 and "main thread" in str(errors[0])
