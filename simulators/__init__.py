"""Simulated buildings: physics, occupancy and calendar, meter registers, MQTT publishing and fast backfill.

Public API (used by ``facmon simulate``)::

    sim = SiteSimulator(site, seed=0, state_path=Path(".facmon/simulator-state.json"))
    counts = backfill(sim, store, start, end)                       # history straight to InfluxDB
    counts = publish(sim, host, port, start, duration_s, speed, topic_prefix="facmon")  # live over MQTT
    sim.save_state()
    SiteSimulator(site, measures=[EfficiencyMeasure("341122A001", "01A10", 0.85, date(2025, 7, 1))])  # a known saving
    SiteSimulator(site, faults=simulators.faults.load_faults("examples/faults-month.yaml", site))  # injected faults

Only ``facmon`` (plus numpy, paho-mqtt and the standard library) is imported here.
"""

from facmon.simulators.backfill import backfill, reading_lines
from facmon.simulators.measures import EfficiencyMeasure
from facmon.simulators.publisher import PublishError, publish
from facmon.simulators.site import DayPlan, Reading, SimulatorStateError, SiteSimulator

__all__ = [
    "DayPlan",
    "EfficiencyMeasure",
    "PublishError",
    "Reading",
    "SimulatorStateError",
    "SiteSimulator",
    "backfill",
    "publish",
    "reading_lines",
]
