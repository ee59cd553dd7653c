"""Fast backfill: simulated history written straight to InfluxDB as line protocol.

Lines are byte-identical to :func:`facmon.schema.reading_line` (the collector's path), only faster:
each device's escaped measurement-and-tags prefix is computed once, by
:func:`facmon.schema.device_line_prefix` through ``reading_line``'s own formatting. Formatting runs
in the calling thread while a writer thread posts the previous batch, so the simulator and InfluxDB
work at the same time.
"""

from __future__ import annotations

import queue
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from facmon.registry import Site
from facmon.schema import MEASUREMENT_OF_KIND, allowed_fields, device_kind, device_line_prefix
from facmon.simulators.clock import epoch_s
from facmon.simulators.site import Reading, SiteSimulator
from facmon.store import InfluxStore

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_]+$")  # needs no line-protocol escaping
NS_PER_S = 1_000_000_000


class LineFormatter:
    """Turns readings into line protocol, byte for byte what ``reading_line`` produces."""

    def __init__(self, site: Site):
        self._devices: dict[tuple[str, str], tuple[str, float | None, str]] = {}
        for building in site.buildings:
            for device in building.all_devices():
                prefix, multiplier = device_line_prefix(site, building, device)
                for name in allowed_fields(device):
                    if not _PLAIN_KEY.match(name):  # pragma: no cover - schema field names are identifiers
                        raise ValueError(f"field name {name!r} would need escaping; use reading_line")
                measurement = MEASUREMENT_OF_KIND[device_kind(device)]
                self._devices[(building.code, device.id)] = (prefix, multiplier, measurement)

    def measurement(self, reading: Reading) -> str:
        return self._devices[(reading.building, reading.device)][2]

    def line(self, reading: Reading) -> str:
        """One reading as a line (raw meter values multiplied by the meter's multiplier, as stored)."""
        prefix, multiplier, _ = self._devices[(reading.building, reading.device)]
        if multiplier is None:
            fields = ",".join([f"{name}={float(value)!r}" for name, value in reading.fields.items()])
        else:
            fields = ",".join([f"{name}={float(value * multiplier)!r}" for name, value in reading.fields.items()])
        return f"{prefix} {fields} {reading.ts * NS_PER_S}"


def reading_lines(sim: SiteSimulator, readings: Iterable[Reading]) -> Iterator[str]:
    """Line protocol for readings of ``sim``'s site (convenience for tools and tests)."""
    formatter = LineFormatter(sim.site)
    for reading in readings:
        yield formatter.line(reading)


def backfill(
    sim: SiteSimulator,
    store: InfluxStore,
    start: datetime,
    end: datetime,
    *,
    batch_lines: int = 5000,
    progress: Callable[[int, int], None] | None = None,
) -> Counter[tuple[str, str]]:
    """Write the readings of [start, end) straight to InfluxDB in batches of ``batch_lines`` lines.

    Returns the points written per (measurement, building), counted only after InfluxDB accepted
    the batch. ``progress(simulated_s, total_s)`` is called after each accepted batch with the
    simulated seconds covered so far and in total (from the writer thread). Raises the store's
    StoreUnavailable / StoreRejected if a batch is refused; batches written before stay written.
    """
    formatter = LineFormatter(sim.site)
    start_s, end_s = epoch_s(start), epoch_s(end)
    total_s = max(0, end_s - start_s)
    written: Counter[tuple[str, str]] = Counter()
    batches: queue.Queue[tuple[list[str], Counter[tuple[str, str]], int] | None] = queue.Queue(maxsize=3)
    failure: list[BaseException] = []

    def write_batches() -> None:
        while True:
            item = batches.get()
            if item is None:
                return
            if failure:
                continue  # drain after a failure so the producer never blocks
            lines, counts, done_s = item
            try:
                store.write(lines)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
                failure.append(exc)
                continue
            written.update(counts)
            if progress is not None:
                progress(done_s, total_s)

    writer = threading.Thread(target=write_batches, name="facmon-backfill-writer", daemon=True)
    writer.start()
    lines: list[str] = []
    counts: Counter[tuple[str, str]] = Counter()
    line = formatter.line
    try:
        for tick in sim.readings(start, end):
            for reading in tick:
                lines.append(line(reading))
                counts[(formatter.measurement(reading), reading.building)] += 1
            if len(lines) >= batch_lines:
                batches.put((lines, counts, min(tick[0].ts - start_s, total_s)))
                lines, counts = [], Counter()
                if failure:
                    break
        if lines and not failure:
            batches.put((lines, counts, total_s))
    finally:
        batches.put(None)
        writer.join()
    if failure:
        raise failure[0]
    if progress is not None and total_s and not lines:
        progress(total_s, total_s)
    return written
