"""Event-level evaluation of detected faults against ground-truth labels (``facmon-fault-labels/1``).

A detected fault (a ``fault`` series' active episode) matches a labelled fault of the same kind and
building whose target is the same device, when [detected start, detected clear) overlaps
[true start, true end + tolerance) — the tolerance lets a detection that needs time to confirm
(a leak seen at night) still count. Each label is matched by at most one detection and vice versa
(earliest first); a detection of a label already matched (the same fault raised twice) is a duplicate,
neither true nor false. Reported per kind and overall:

- ``precision`` = matched detections / (detections − duplicates), ``recall`` = matched labels / labels,
  ``f1``; None where undefined (nothing to divide by);
- ``ttd_median_s``, ``ttd_p90_s``: time to detect, raised (the start point's ``raised``) − true start, seconds, over matched labels;
- ``false_alarms_per_building_month``: unmatched detections / (buildings × months of the window, 30.44-day months).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from facmon.errors import FacmonError
from facmon.fault_kinds import FaultKind
from facmon.schema import FAULT
from facmon.store import InfluxStore

LABELS_FORMAT = "facmon-fault-labels/1"
DEFAULT_TOLERANCE_S = 12 * 3600  # a night-flow leak raised the morning after an evening start
MONTH_S = 30.44 * 86400


class LabelsError(FacmonError):
    """The labels file cannot be used."""


@dataclass(frozen=True)
class FaultEvent:
    """One fault, labelled or detected: kind, building, target, start and end (None: still active), epoch s.
    A detection's start is its onset in the data; ``raised_s`` is when detection raised it (None: at the start)."""

    kind: str
    building: str
    target: str
    start_s: int
    end_s: int | None
    raised_s: int | None = None

    @property
    def detected_s(self) -> int:
        return self.start_s if self.raised_s is None else self.raised_s


def load_labels(path: str | Path) -> tuple[list[FaultEvent], int, int]:
    """(labelled faults, window start s, window end s) of a labels file; LabelsError naming the file when unusable."""
    path = Path(path)
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LabelsError(f"{path}: no such labels file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LabelsError(f"{path}: not a readable JSON labels file: {exc}") from None
    if not isinstance(content, dict) or content.get("format") != LABELS_FORMAT:
        raise LabelsError(
            f"{path}: expected format {LABELS_FORMAT!r} (facmon simulate --labels-out), got {content.get('format') if isinstance(content, dict) else type(content).__name__!r}"
        )
    try:
        window = content["window"]
        events = [FaultEvent(f["kind"], f["building"], f["target"], int(f["start_s"]), int(f["end_s"])) for f in content["faults"]]
        return events, int(window["start_s"]), int(window["end_s"])
    except (KeyError, TypeError, ValueError) as exc:
        raise LabelsError(
            f"{path}: a labels entry lacks {exc}; expected kind, building, target, start_s, end_s and window.start_s/end_s"
        ) from None


def detected_events(store: InfluxStore, start_s: int, end_s: int) -> list[FaultEvent]:
    """Fault episodes from ``fault`` points: starts in [start_s, end_s), or active at start_s (started earlier)."""
    rows = store.query(f'SELECT "active", "raised" FROM "{FAULT}" WHERE time < {int(end_s)}s GROUP BY "building", "kind", "target"')
    events = []
    for series in rows:
        tags = series["tags"]
        opened: int | None = None
        raised: int | None = None
        at = {name: i for i, name in enumerate(series["columns"])}  # "raised" is missing before any point had it
        for row in series["values"]:
            ts, active = row[0], row[at["active"]]
            raised_at = row[at["raised"]] if "raised" in at else None
            if active == 1.0 and opened is None:
                opened, raised = int(ts), (int(raised_at) if raised_at is not None else None)
            elif active == 0.0 and opened is not None:
                if int(ts) > start_s:
                    events.append(FaultEvent(tags["kind"], tags["building"], tags["target"], opened, int(ts), raised))
                opened = None
        if opened is not None:
            events.append(FaultEvent(tags["kind"], tags["building"], tags["target"], opened, None, raised))
    return events


def _overlaps(d: FaultEvent, t: FaultEvent, tolerance_s: int) -> bool:
    d_end = d.end_s if d.end_s is not None else 2**62
    t_end = (t.end_s if t.end_s is not None else 2**62) + tolerance_s
    return d.start_s < t_end and d_end > t.start_s


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def evaluate(
    labels: list[FaultEvent],
    detections: list[FaultEvent],
    window_s: tuple[int, int],
    buildings: int,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> dict[str, Any]:
    """Precision, recall, F1, time to detect and false alarms per building-month, overall and by kind (module docstring)."""
    matched_label: dict[int, int] = {}
    duplicates: set[int] = set()
    order = sorted(range(len(detections)), key=lambda i: detections[i].start_s)
    for i in order:
        d = detections[i]
        candidates = [
            j
            for j, t in enumerate(labels)
            if t.kind == d.kind and t.building == d.building and t.target == d.target and _overlaps(d, t, tolerance_s)
        ]
        free = [j for j in candidates if j not in matched_label.values()]
        if free:
            matched_label[i] = min(free, key=lambda j: labels[j].start_s)
        elif candidates:
            duplicates.add(i)
    months = max(window_s[1] - window_s[0], 1) / MONTH_S

    def summary(kinds: set[str]) -> dict[str, Any]:
        det = [i for i, d in enumerate(detections) if d.kind in kinds]
        lab = [j for j, t in enumerate(labels) if t.kind in kinds]
        tp = sum(1 for i in det if i in matched_label)
        counted = sum(1 for i in det if i not in duplicates)
        ttd = np.array([detections[i].detected_s - labels[matched_label[i]].start_s for i in det if i in matched_label], dtype=float)
        precision, recall = _ratio(tp, counted), _ratio(tp, len(lab))
        f1 = 2 * precision * recall / (precision + recall) if precision and recall else (0.0 if precision == 0 or recall == 0 else None)
        return {
            "labels": len(lab),
            "detections": counted,
            "matched": tp,
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "ttd_median_s": float(np.median(ttd)) if ttd.size else None,
            "ttd_p90_s": float(np.percentile(ttd, 90)) if ttd.size else None,
            "false_alarms_per_building_month": (counted - tp) / (buildings * months) if buildings else None,
        }

    kinds = sorted({k.value for k in FaultKind} & ({t.kind for t in labels} | {d.kind for d in detections}))
    return {
        "window": {"start_s": window_s[0], "end_s": window_s[1], "buildings": buildings, "months": round(months, 4)},
        "tolerance_s": tolerance_s,
        "overall": summary({k.value for k in FaultKind}),
        "by_kind": {kind: summary({kind}) for kind in kinds},
        "false_alarms": [d.__dict__ for i, d in enumerate(detections) if i not in matched_label and i not in duplicates],
        "missed": [labels[j].__dict__ for j in range(len(labels)) if j not in matched_label.values()],
    }


def evaluate_store(
    store: InfluxStore, labels_path: str | Path, buildings: int, *, tolerance_s: int = DEFAULT_TOLERANCE_S
) -> dict[str, Any]:
    """Evaluate the ``fault`` points of the labels' window against the labels file."""
    labels, start_s, end_s = load_labels(labels_path)
    detections = [d for d in detected_events(store, start_s, end_s) if d.start_s < end_s and (d.end_s is None or d.end_s > start_s)]
    return evaluate(labels, detections, (start_s, end_s), buildings, tolerance_s=tolerance_s)


def active_faults(store: InfluxStore) -> list[dict[str, Any]]:
    """Faults active now: series whose last ``active`` is 1, with their start, tags, value and detail, oldest first."""
    rows = store.query(
        f'SELECT last("active") AS "active", "value", "detail" FROM "{FAULT}" GROUP BY "building", "kind", "target", "severity", "vendor"'
    )
    active = []
    for series in rows:
        ts, flag, value, detail = series["values"][0][:4]
        if flag == 1.0:
            tags = series["tags"]
            active.append(
                {
                    "start_s": int(ts),
                    "building": tags["building"],
                    "kind": tags["kind"],
                    "target": tags["target"],
                    "severity": tags["severity"],
                    "vendor": tags["vendor"],
                    "value": float(value if value is not None else 0.0),
                    "detail": str(detail or ""),
                }
            )
    return sorted(active, key=lambda r: (r["start_s"], r["building"], r["kind"], r["target"]))
