"""The ``anomaly`` measurement: the weekly anomaly review list, its :class:`AnomalyPoint` record, its
one writer and the delete that makes a new review of a week replace the earlier one.

Stored shape (docs/architecture.md#the-measurement-schema): tags ``building`` and ``kind``
(``load_above_baseline``, ``load_below_baseline``, ``night_base_load_creep``); one point per entry,
stamped at the anomaly's start (a creep entry at the start of the review week). Never paged: nothing
here touches the ``fault`` measurement.

Written by ``facmon faults review --write`` (analytics.anomalies) through :func:`anomaly_line` and
:func:`delete_anomalies`; nothing in facmon reads it back (it is for people, and Grafana).
"""

from __future__ import annotations

from dataclasses import dataclass

from facmon.schema.names import ANOMALY
from facmon.store import InfluxStore, line, quote_identifier, quote_string

NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class AnomalyPoint:
    """One ``anomaly`` point, at ``time_s`` (epoch s): the anomaly's start, or the review week's start
    for a creep entry.

    ``score``: peak z of the hourly residual, signed; for creep, the rise per week as a share of the
    night base load. ``excess_kwh``: energy above the baseline (negative below), kWh; for creep, the
    rise in kW × 168 h. ``end_s``: end of the anomaly (epoch s, exclusive; stored as a float).
    ``detail``: for people. ``isolation_rank``: 0..1, hourly anomalies ranked by the IsolationForest
    only (None, and no field, otherwise).
    """

    building: str
    kind: str
    time_s: int
    end_s: int
    score: float
    excess_kwh: float
    detail: str
    isolation_rank: float | None = None


def anomaly_line(point: AnomalyPoint) -> str:
    """The ``anomaly`` point of ``point`` as line protocol."""
    fields: dict[str, float | str] = {
        "score": float(point.score),
        "excess_kwh": float(point.excess_kwh),
        "end_s": float(point.end_s),
        "detail": point.detail,
    }
    if point.isolation_rank is not None:
        fields["isolation_rank"] = float(point.isolation_rank)
    return line(ANOMALY, {"building": point.building, "kind": point.kind}, fields, int(point.time_s) * NS_PER_S)


def delete_anomalies(store: InfluxStore, building: str, start_s: int, end_s: int) -> None:
    """Delete the building's ``anomaly`` points in [start_s, end_s) (before a new review of the period is written)."""
    store.query(
        f'DELETE FROM {quote_identifier(ANOMALY)} WHERE "building"={quote_string(building)} '
        f"AND time >= {int(start_s)}s AND time < {int(end_s)}s",
        method="POST",
    )
