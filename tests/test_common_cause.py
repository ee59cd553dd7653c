"""One cause, one alert: devices that fail together make one fault of their data gateway, and every
building at once makes one of facmon's collection path, which pages no vendor.

The rules as plain functions first, then end to end: the example site simulated with a gateway
restart that resets every register of 县人大 (A002), a gateway of 县政府 (A003) offline for three
hours, and a broker outage (every device of every building silent for two hours), stored in a real
InfluxDB, analysed, and the faults read back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from facmon.analytics.analyze import analyze
from facmon.analytics.common_cause import COLLECTION_TARGET, GATEWAY_TARGET, collection_outages, group_common_causes
from facmon.analytics.fault_detection import detect_faults_after
from facmon.registry import Site
from facmon.schema.faults import NO_VENDOR, Fault, read_faults
from facmon.simulators import SiteSimulator, backfill
from facmon.simulators.faults import parse_faults
from facmon.stack import Stack
from facmon.store import InfluxStore

WINDOWS = {"device_offline": 2250, "meter_reset": 900, "spike": 900}


def offline(target: str, onset_s: int, cleared_s: int | None = None, building: str = "") -> Fault:
    return Fault(building, "device_offline", target, onset_s, onset_s, cleared_s, detail="no readings")


def test_three_devices_silent_together_are_one_fault_of_the_gateway_naming_them() -> None:
    episodes = [offline("E-MAIN", 1000, 5000), offline("E-LS-1F", 1900, 5100), offline("IEQ-1F", 2500), offline("E-IT", 90_000)]
    grouped = group_common_causes(episodes, window_s=WINDOWS, min_devices=3)
    (gateway,) = [e for e in grouped if e.target == GATEWAY_TARGET]
    assert (gateway.onset_s, gateway.raised_s, gateway.cleared_s, gateway.value) == (1000, 2500, None, 3.0)
    assert "3 devices together (E-LS-1F, E-MAIN, IEQ-1F)" in gateway.detail
    # a device silent at another time is its own fault
    assert [e.target for e in grouped if e.target != GATEWAY_TARGET] == ["E-IT"]


def test_two_devices_are_not_a_common_cause_at_the_default_of_three() -> None:
    episodes = [offline("E-MAIN", 1000), offline("E-IT", 1100)]
    assert sorted(e.target for e in group_common_causes(episodes, window_s=WINDOWS, min_devices=3)) == ["E-IT", "E-MAIN"]


def test_a_gateway_silent_in_every_building_at_once_is_the_collection_path_of_no_vendor() -> None:
    def gateway(onset_s: int) -> Fault:
        return Fault("", "device_offline", GATEWAY_TARGET, onset_s, onset_s, None, detail="5 devices together (…): one cause")

    both = collection_outages({"A": [gateway(1000)], "B": [gateway(1600)]}, window_s=2250)
    assert [e.target for found in both.values() for e in found] == [COLLECTION_TARGET, COLLECTION_TARGET]
    assert "every building at once" in both["A"][0].detail
    one = collection_outages({"A": [gateway(1000)], "B": []}, window_s=2250)
    assert one["A"][0].target == GATEWAY_TARGET  # one building's own gateway


# -- end to end ------------------------------------------------------------------------------------

START = datetime(2026, 10, 12)  # local midnight, set with the site's zone below
RESTART_H, GATEWAY_H, OUTAGE_H = 20, 34, 58  # hours after START


def _scenario(site: Site, start: datetime) -> str:
    def at(hours: float) -> str:
        return (start + timedelta(hours=hours)).isoformat()

    lines = ["faults:"]
    a002, a003 = site.building("341122A002"), site.building("341122A003")
    assert a002 is not None and a003 is not None
    for meter in a002.meters:
        if meter.cumulative:
            lines.append(f"- {{kind: meter_reset, building: '341122A002', target: {meter.id}, start: '{at(RESTART_H)}', duration: 15m}}")
    for device in a003.all_devices():
        lines.append(f"- {{kind: device_offline, building: '341122A003', target: {device.id}, start: '{at(GATEWAY_H)}', duration: 3h}}")
    for building in site.buildings:
        for device in building.all_devices():
            lines.append(
                f"- {{kind: device_offline, building: '{building.code}', target: {device.id}, start: '{at(OUTAGE_H)}', duration: 2h}}"
            )
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def detected(stack: Stack, example_site: Site) -> Iterator[list[Fault]]:
    store = InfluxStore(stack.influx_url, f"test_cause_{uuid.uuid4().hex[:8]}")
    store.create_database()
    start = START.replace(tzinfo=example_site.site.tz)
    faults = parse_faults(_scenario(example_site, start), Path("common-cause.yaml"), example_site)
    end = start + timedelta(days=3)
    backfill(SiteSimulator(example_site, seed=4, faults=faults), store, start - timedelta(days=1), end)
    summary = analyze(example_site, store, start, end)
    assert detect_faults_after(example_site, store, summary) is not None
    yield read_faults(store, int(start.timestamp()), int(end.timestamp()))
    store.query(f'DROP DATABASE "{store.database}"', method="POST")


def _around(found: list[Fault], hours: float, kind: str) -> list[Fault]:
    """The faults of ``kind`` starting within 3 h of ``hours`` after START (local)."""
    at_s = int(START.replace(tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()) + int(hours * 3600)
    return [f for f in found if f.kind == kind and abs(f.onset_s - at_s) <= 3 * 3600]


def test_a_gateway_restart_that_resets_every_register_is_one_fault(detected: list[Fault]) -> None:
    resets = [f for f in _around(detected, RESTART_H, "meter_reset") + _around(detected, RESTART_H, "spike") if f.building == "341122A002"]
    assert [(f.kind, f.target) for f in resets] == [("meter_reset", GATEWAY_TARGET)], resets
    assert resets[0].value is not None and resets[0].value >= 10 and resets[0].vendor == "property"


def test_a_gateway_offline_is_one_fault_against_the_building_not_one_per_device(detected: list[Fault]) -> None:
    silent = [f for f in _around(detected, GATEWAY_H, "device_offline") if f.building == "341122A003"]
    assert [f.target for f in silent] == [GATEWAY_TARGET], silent
    assert silent[0].vendor == "property" and silent[0].cleared_s is not None


def test_a_broker_outage_raises_nothing_against_vendors(detected: list[Fault], example_site: Site) -> None:
    outage = _around(detected, OUTAGE_H, "device_offline")
    assert {f.building for f in outage} == {b.code for b in example_site.buildings}
    assert {(f.target, f.vendor) for f in outage} == {(COLLECTION_TARGET, NO_VENDOR)}, outage
