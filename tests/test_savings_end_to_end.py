"""End to end: a simulated year with a known efficiency change, through InfluxDB, the analysis and the baseline.

Two buildings of the example site are simulated from January 2024 to June 2025 and stored in
InfluxDB like a backfill does; 县委办公楼 (341122A001) gets a lighting retrofit on 1 January 2025 that
cuts room lighting and sockets (01A10) by 15 %, 县政府办公楼 (341122A002) changes nothing. `analyze`
turns the registers into daily consumption; the daily baseline is fitted on the 12 months of 2024
(CalTRACK asks for a full year, so that every season is in it) and the savings are measured for
January–June 2025 on the main meter (IPMVP Option C).

The true saving is known from the simulator: its main meter is the sub-meters' sum plus 2 % losses
and the retrofit multiplied the lighting load by 0.85, so the lighting not used was 0.15/0.85 of the
lighting observed. Savings are checked against the uncertainty stated at 95 % confidence: at the
68 % of the G14 report one fixed simulated year would miss its band one time in three by design.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
import yaml

from facmon.analytics.analyze import analyze
from facmon.analytics.building_savings import building_savings, savings_in_period
from facmon.analytics.energy_score import score_energy, write_energy_scores
from facmon.analytics.indicators import parse_period
from facmon.registry import Site, parse_site
from facmon.simulators import EfficiencyMeasure, SiteSimulator, backfill
from facmon.stack import Stack
from facmon.store import InfluxStore
from tests.conftest import EXAMPLE_SITE

RETROFITTED, UNCHANGED = "341122A001", "341122A002"
RETROFIT_DAY = date(2025, 1, 1)
LIGHTING_FACTOR = 0.85
MAIN_METER_LOSSES = 1.02  # simulators/parameters.py: the main meter sees the sub-meters plus 2 %
BASELINE = (date(2024, 1, 1), RETROFIT_DAY)
REPORTING = (RETROFIT_DAY, date(2025, 7, 1))
CONFIDENCE = 0.95


def two_building_site() -> Site:
    raw = yaml.safe_load(EXAMPLE_SITE.read_text(encoding="utf-8"))
    keep = {RETROFITTED, UNCHANGED}
    raw["buildings"] = [b for b in raw["buildings"] if b["code"] in keep]
    raw["mqtt"]["decoders"] = [d for d in raw["mqtt"].get("decoders", []) if d["building"] in keep]
    raw.pop("alerting", None)  # its maintenance windows name the other buildings; alerting plays no part here
    bases = raw["energy_targets"]["plan"]["base_values"]
    raw["energy_targets"]["plan"]["base_values"] = {code: base for code, base in bases.items() if code in keep}
    return parse_site(yaml.safe_dump(raw, allow_unicode=True), Path("two-buildings.yaml"))


@pytest.fixture(scope="module")
def year(stack: Stack) -> Iterator[tuple[Site, InfluxStore]]:
    """The 18 months of the two buildings in a database of their own: the main and lighting meters and the
    weather stored, then analysed."""
    site = two_building_site()
    store = InfluxStore(stack.influx_url, f"test_year_{uuid.uuid4().hex[:8]}")
    store.create_database()
    simulator = SiteSimulator(site, seed=11, measures=[EfficiencyMeasure(RETROFITTED, "01A10", LIGHTING_FACTOR, RETROFIT_DAY)])
    # Only what the test needs is stored (18 months of every device would take minutes): the main
    # electricity meters, the lighting sub-meters and the outdoor-air sensors.
    kept = {(b.code, m.id) for b in site.buildings for m in b.meters if m.subitem in ("01000", "01A10")}
    kept |= {(b.code, w.id) for b in site.buildings for w in b.weather_sensors}
    simulator.reading_hooks.append(lambda ts, batch: [r for r in batch if (r.building, r.device) in kept])
    tz = site.site.tz
    start, end = datetime.combine(date(2023, 12, 31), time(), tz), datetime.combine(REPORTING[1], time(), tz)
    backfill(simulator, store, start, end + timedelta(hours=1))  # the last interval ends with the next reading
    analyze(site, store, start, end)
    yield site, store
    store.query(f'DROP DATABASE "{store.database}"', method="POST")
    store.close()


def lighting_kwh(store: InfluxStore, site: Site, building: str, first: date, end: date) -> float:
    tz = site.site.tz
    start_s = int(datetime.combine(first, time(), tz).timestamp())
    end_s = int(datetime.combine(end, time(), tz).timestamp())
    rows = store.rows(
        f"SELECT sum(consumption) FROM energy_daily WHERE building='{building}' AND energy='01' AND subitem='01A10' "
        f"AND time >= {start_s}s AND time < {end_s}s"
    )
    return float(rows[0]["sum"])


def test_a_lighting_retrofit_is_measured_as_the_saving_it_made(year):
    site, store = year
    result = building_savings(store, site, RETROFITTED, BASELINE, REPORTING, confidence=CONFIDENCE)
    assert result.reporting_days == 181, "every simulated day is complete"
    assert result.baseline.statistics.n == 366
    savings = result.savings
    assert savings is not None
    true_avoided_kwh = MAIN_METER_LOSSES * (1 / LIGHTING_FACTOR - 1) * lighting_kwh(store, site, RETROFITTED, *REPORTING)
    assert true_avoided_kwh > 0
    print(
        f"\n{RETROFITTED}: avoided {savings.avoided_kwh:.0f} kWh ± {savings.uncertainty_kwh:.0f} (95 %), true {true_avoided_kwh:.0f} kWh, "
        f"fraction {savings.fraction:.4f}, CV(RMSE) {result.baseline.statistics.cvrmse:.4f}"
    )
    assert abs(savings.avoided_kwh - true_avoided_kwh) <= savings.uncertainty_kwh, (savings, true_avoided_kwh)
    assert savings.avoided_kwh > savings.uncertainty_kwh, "the saving is distinguishable from zero"


def test_a_building_without_a_change_shows_savings_consistent_with_zero(year):
    site, store = year
    result = building_savings(store, site, UNCHANGED, BASELINE, REPORTING, confidence=CONFIDENCE)
    assert result.reporting_days == 181
    savings = result.savings
    assert savings is not None
    print(f"\n{UNCHANGED}: avoided {savings.avoided_kwh:.0f} kWh ± {savings.uncertainty_kwh:.0f} (95 %), fraction {savings.fraction:.4f}")
    assert abs(savings.avoided_kwh) <= savings.uncertainty_kwh, savings


def test_the_energy_score_counts_the_measured_savings_of_the_period(year):
    """`facmon score energy --period 2025-06` measures June against the year before it (June 2024 –
    May 2025, which holds five retrofitted months, so the saving it shows is smaller than the
    retrofit's); the unchanged building's savings component is near zero."""
    site, store = year
    card = score_energy(store, site, parse_period("2025-06"), today=date(2025, 7, 15))
    june = savings_in_period(store, site, date(2025, 6, 1), date(2025, 7, 1))
    for entry in card.buildings:
        component = next(c for c in entry.components if c.component == "savings")
        measured = june[entry.building]
        assert measured is not None and measured.savings is not None
        assert component.available and component.value == pytest.approx(measured.savings.fraction)
    retrofitted = next(e for e in card.buildings if e.building == RETROFITTED)
    assert 0 < next(c.value for c in retrofitted.components if c.component == "savings") < 0.06
    # the savings behind the component are stored for the dashboards, one point per building and period
    write_energy_scores(store, card, site.site.timezone)
    stored = {row["building"]: row for row in store.rows('SELECT * FROM "savings" WHERE "period" = \'2025-06\' GROUP BY "building"')}
    assert set(stored) == {RETROFITTED, UNCHANGED}
    for code, row in stored.items():
        found = june[code].savings
        assert row["avoided_kwh"] == pytest.approx(found.avoided_kwh, abs=1e-3)
        assert row["uncertainty_kwh"] == pytest.approx(found.uncertainty_kwh, abs=1e-3)
        assert row["conclusive"] == (0.0 if found.inconclusive else 1.0) and row["reporting_days"] == 30
