"""The ``anomaly`` measurement through its writer and delete (facmon.schema.anomalies), on a real InfluxDB:
a new review of a week replaces that week's points of the building, and nothing else."""

from __future__ import annotations

from facmon.schema.anomalies import AnomalyPoint, anomaly_line, delete_anomalies
from facmon.store import InfluxStore

WEEK_S = 1_767_542_400  # a Monday, 2026-01-05 00:00 +08:00
H = 3600


def test_an_anomaly_stores_its_end_and_rank_as_floats() -> None:
    point = AnomalyPoint("341122A001", "load_above_baseline", WEEK_S + 5 * H, WEEK_S + 9 * H, 4.5, 120.25, "4 h above", 0.97)
    assert anomaly_line(point) == (
        "anomaly,building=341122A001,kind=load_above_baseline score=4.5,excess_kwh=120.25,"
        f'end_s={float(WEEK_S + 9 * H)!r},detail="4 h above",isolation_rank=0.97 {(WEEK_S + 5 * H) * 10**9}'
    )
    creep = AnomalyPoint("341122A001", "night_base_load_creep", WEEK_S, WEEK_S + 168 * H, 0.03, 84.0, "rising")
    assert "isolation_rank" not in anomaly_line(creep)


def test_deleting_a_week_of_a_building_keeps_the_rest(store: InfluxStore) -> None:
    def point(building: str, at_s: int) -> str:
        return anomaly_line(AnomalyPoint(building, "load_below_baseline", at_s, at_s + H, -3.0, -10.0, "below"))

    store.write([point("B1", WEEK_S + H), point("B1", WEEK_S + 8 * 24 * H), point("B2", WEEK_S + H)])
    delete_anomalies(store, "B1", WEEK_S, WEEK_S + 7 * 24 * H)
    left = store.rows('SELECT "score" FROM "anomaly" GROUP BY "building"')
    assert sorted((row["building"], row["time"]) for row in left) == [("B1", WEEK_S + 8 * 24 * H), ("B2", WEEK_S + H)]
