"""How a long-running command stops on SIGTERM or SIGINT (Ctrl-C): one mechanism for all of them.

``with stop_on_signals() as stop:`` hands the command a :class:`StopRequest` (a ``threading.Event``)
that is set when SIGTERM or SIGINT arrives; the command's loops wait on it and leave cleanly.

Three things make this reliable where a plain ``signal.signal(sig, lambda *_: event.set())`` is not:

* **The signals are unblocked.** A blocked signal stays pending for ever, and a process inherits its
  signal mask from the thread that started it (a parent that blocked SIGTERM while it spawned us, as
  some libraries do around their own helper processes, passes the block on through ``exec``);
  ``signal.signal`` installs a handler but does not unblock. ``stop_on_signals`` unblocks them in the
  main thread, so the kernel can always deliver them there.
* **An ignored signal is handled.** A shell starts background jobs with SIGINT ignored; installing a
  handler replaces the inherited ``SIG_IGN``, so ``kill -INT`` stops such a command too.
* **The event is set outside the Python-level handler.** Python runs a handler only in the main thread,
  between two bytecodes, after the C-level handler (which may have run in any thread) flagged it: a
  main thread blocked in a long C call runs it late, and a handler calling ``Event.set()`` could
  re-enter that event's lock if the main thread held it inside ``wait()`` at that moment. Here the
  C-level handler writes the signal number to a wake-up pipe (``signal.set_wakeup_fd``), from whichever
  thread it ran in, and a small watcher thread sets the event: at once, and never re-entrantly.

Before the handlers are installed (the first few hundred milliseconds of interpreter start-up) SIGTERM
still has its default action and ends the process at once; nothing is acknowledged by then, so nothing
is lost.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)
_WATCHER_EXIT = 0  # no signal has number 0: the byte that tells the watcher to end


class StopRequest(threading.Event):
    """Set when the process was asked to stop; ``reason`` says by what (e.g. ``"SIGTERM received"``)."""

    def __init__(self) -> None:
        super().__init__()
        self.reason: str | None = None

    def request(self, reason: str) -> None:
        """Ask the loops waiting on this request to stop; the first reason given is kept."""
        if self.reason is None:
            self.reason = reason
        self.set()


def _ignore(signum: int, frame: FrameType | None) -> None:
    """The Python-level handler: nothing to do, the C-level handler already wrote the wake-up byte."""


def _watch(read_fd: int, watched: frozenset[int], request: StopRequest) -> None:
    while True:
        try:
            received = os.read(read_fd, 64)
        except InterruptedError:
            continue
        except OSError:
            return
        if not received:
            return
        for signum in received:
            if signum == _WATCHER_EXIT:
                return
            if signum in watched:
                request.request(f"{signal.Signals(signum).name} received")


@contextmanager
def stop_on_signals(signals: tuple[signal.Signals, ...] = STOP_SIGNALS) -> Iterator[StopRequest]:
    """Install SIGTERM/SIGINT handling for the ``with`` block and yield the :class:`StopRequest` they set.

    Call from the main thread (Python delivers signals there only). On leaving the block the previous
    handlers and wake-up fd are restored; the signals stay unblocked (facmon never wants them blocked)."""
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("stop_on_signals() must be called from the main thread")
    request = StopRequest()
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)  # set_wakeup_fd requires it: a signal handler must never block
    watcher = threading.Thread(target=_watch, args=(read_fd, frozenset(int(s) for s in signals), request), name="stop-signals", daemon=True)
    watcher.start()
    previous_wakeup = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    previous_handlers = {sig: signal.signal(sig, _ignore) for sig in signals}
    signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)
    try:
        yield request
    finally:
        for sig, handler in previous_handlers.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(previous_wakeup)
        try:
            os.write(write_fd, bytes([_WATCHER_EXIT]))
        except OSError:  # the pipe is full of signal numbers: closing it ends the watcher too
            pass
        os.close(write_fd)
        watcher.join(5.0)
        os.close(read_fd)
