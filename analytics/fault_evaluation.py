"""Event-level evaluation of detected faults against ground-truth labels (``facmon-fault-labels/1``).

A detected fault (a ``fault`` series' active episode) matches a labelled fault of the same kind and
building whose target is the same device, when [detected start, detected clear) overlaps
[true start, true end + tolerance) — the tolerance lets a detection that needs time to confirm
(a leak seen at night) still count. Each label is matched by at most one detection and vice versa
(earliest first); a detection of a label already matched (the same fault raised twice) is a duplicate,
neither true nor false. A detection against a building's data gateway or facmon's collection path
(target ``gateway`` / ``collection``, one fault for many devices: analytics/common_cause.py) matches
every label of its kind and building that it overlaps. Reported per kind and overall:

- ``precision`` = matched detections / (detections − duplicates), ``recall`` = matched labels / labels,
  ``f1``; None where undefined (nothing to divide by);
- ``ttd_median_s``, ``ttd_p90_s``: time to detect, raised (the start point's ``raised``) − true start, seconds, over matched
  labels: data time, what the readings allowed;
- ``pipeline_median_s``, ``pipeline_p90_s``: noticed (the wall-clock time facmon first wrote the fault) − raised, seconds,
  over matched detections that record it: the delay of facmon's own pipeline (for a backfilled history, the time since);
- ``false_alarms_per_building_month``: unmatched detections / (buildings × months of the window, 30.44-day months).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from facmon.analytics.common_cause import COLLECTION_TARGET, GATEWAY_TARGET
from facmon.errors import FacmonError
from facmon.fault_kinds import FaultKind
from facmon.schema.faults import Fault, read_faults
from facmon.schema.faults import active_faults as read_active_faults
from facmon.store import InfluxStore

LABELS_FORMAT = "facmon-fault-labels/1"
DEFAULT_TOLERANCE_S = 12 * 3600  # a night-flow leak raised the morning after an evening start
MONTH_S = 30.44 * 86400
GROUP_TARGETS = (GATEWAY_TARGET, COLLECTION_TARGET)  # one detection for the faults of many devices


class LabelsError(FacmonError):
    """The labels file cannot be used."""


def load_labels(path: str | Path) -> tuple[list[Fault], int, int]:
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
            f"{path}: expected format {LABELS_FORMAT!r} (facmon simulate --labels-out), got "
            f"{content.get('format') if isinstance(content, dict) else type(content).__name__!r}"
        )
    try:
        window = content["window"]
        events = [
            Fault(building=f["building"], kind=f["kind"], target=f["target"], onset_s=int(f["start_s"]), cleared_s=int(f["end_s"]))
            for f in content["faults"]
        ]
        return events, int(window["start_s"]), int(window["end_s"])
    except (KeyError, TypeError, ValueError) as exc:
        raise LabelsError(
            f"{path}: a labels entry lacks {exc}; expected kind, building, target, start_s, end_s and window.start_s/end_s"
        ) from None


def detected_events(store: InfluxStore, start_s: int, end_s: int) -> list[Fault]:
    """Faults from ``fault`` points: started in [start_s, end_s), or active at start_s (started earlier)."""
    return read_faults(store, start_s, end_s)


def _overlaps(d: Fault, t: Fault, tolerance_s: int) -> bool:
    d_end = d.cleared_s if d.cleared_s is not None else 2**62
    t_end = (t.cleared_s if t.cleared_s is not None else 2**62) + tolerance_s
    return d.onset_s < t_end and d_end > t.onset_s


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


@dataclass(frozen=True)
class DetectionScore:
    """How well detection did for a set of fault kinds (module docstring); None where undefined."""

    labels: int
    detections: int  # detections of these kinds, duplicates not counted
    matched: int
    precision: float | None
    recall: float | None
    f1: float | None
    ttd_median_s: float | None  # time to detect: raised − true start, s (data time)
    ttd_p90_s: float | None
    pipeline_median_s: float | None  # noticed (wall clock) − raised, s
    pipeline_p90_s: float | None
    false_alarms_per_building_month: float | None


@dataclass(frozen=True)
class FaultEvaluation:
    """Detected faults against the labels of one window (epoch s), overall and by kind."""

    window_start_s: int
    window_end_s: int
    buildings: int
    months: float  # of 30.44 days
    tolerance_s: int
    overall: DetectionScore
    by_kind: dict[str, DetectionScore]
    false_alarms: list[Fault]
    missed: list[Fault]

    def as_dict(self) -> dict[str, Any]:
        """As ``facmon faults evaluate --format json`` prints it."""
        return {
            "window": {
                "start_s": self.window_start_s,
                "end_s": self.window_end_s,
                "buildings": self.buildings,
                "months": round(self.months, 4),
            },
            "tolerance_s": self.tolerance_s,
            "overall": asdict(self.overall),
            "by_kind": {kind: asdict(score) for kind, score in self.by_kind.items()},
            "false_alarms": [asdict(fault) for fault in self.false_alarms],
            "missed": [asdict(fault) for fault in self.missed],
        }


def evaluate(
    labels: list[Fault],
    detections: list[Fault],
    window_s: tuple[int, int],
    buildings: int,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> FaultEvaluation:
    """Precision, recall, F1, time to detect and false alarms per building-month, overall and by kind (module docstring)."""
    matched: dict[int, list[int]] = {}  # detection -> the labels it matched
    taken: set[int] = set()
    duplicates: set[int] = set()
    order = sorted(range(len(detections)), key=lambda i: detections[i].onset_s)
    for i in order:
        d = detections[i]
        grouped = d.target in GROUP_TARGETS
        candidates = [
            j
            for j, t in enumerate(labels)
            if t.kind == d.kind and t.building == d.building and (grouped or t.target == d.target) and _overlaps(d, t, tolerance_s)
        ]
        free = [j for j in candidates if j not in taken]
        if free:
            matched[i] = free if grouped else [min(free, key=lambda j: labels[j].onset_s)]
            taken.update(matched[i])
        elif candidates:
            duplicates.add(i)
    months = max(window_s[1] - window_s[0], 1) / MONTH_S

    def summary(kinds: set[str]) -> DetectionScore:
        det = [i for i, d in enumerate(detections) if d.kind in kinds]
        lab = [j for j, t in enumerate(labels) if t.kind in kinds]
        tp = sum(1 for i in det if i in matched)
        counted = sum(1 for i in det if i not in duplicates)
        ttd = np.array([detections[i].detected_s - labels[j].onset_s for i in det for j in matched.get(i, [])], dtype=float)
        pipeline = np.array(
            [detections[i].noticed_s - detections[i].detected_s for i in det if i in matched and detections[i].noticed_s is not None],
            dtype=float,
        )
        found = sum(len(matched[i]) for i in det if i in matched)
        precision, recall = _ratio(tp, counted), _ratio(found, len(lab))
        f1 = 2 * precision * recall / (precision + recall) if precision and recall else (0.0 if precision == 0 or recall == 0 else None)
        return DetectionScore(
            labels=len(lab),
            detections=counted,
            matched=tp,
            precision=precision,
            recall=recall,
            f1=f1,
            ttd_median_s=float(np.median(ttd)) if ttd.size else None,
            ttd_p90_s=float(np.percentile(ttd, 90)) if ttd.size else None,
            pipeline_median_s=float(np.median(pipeline)) if pipeline.size else None,
            pipeline_p90_s=float(np.percentile(pipeline, 90)) if pipeline.size else None,
            false_alarms_per_building_month=(counted - tp) / (buildings * months) if buildings else None,
        )

    kinds = sorted({k.value for k in FaultKind} & ({t.kind for t in labels} | {d.kind for d in detections}))
    return FaultEvaluation(
        window_start_s=window_s[0],
        window_end_s=window_s[1],
        buildings=buildings,
        months=months,
        tolerance_s=tolerance_s,
        overall=summary({k.value for k in FaultKind}),
        by_kind={kind: summary({kind}) for kind in kinds},
        false_alarms=[d for i, d in enumerate(detections) if i not in matched and i not in duplicates],
        missed=[labels[j] for j in range(len(labels)) if j not in taken],
    )


def evaluate_store(
    store: InfluxStore, labels_path: str | Path, buildings: int, *, tolerance_s: int = DEFAULT_TOLERANCE_S
) -> FaultEvaluation:
    """Evaluate the ``fault`` points of the labels' window against the labels file."""
    labels, start_s, end_s = load_labels(labels_path)
    detections = [d for d in detected_events(store, start_s, end_s) if d.onset_s < end_s and (d.cleared_s is None or d.cleared_s > start_s)]
    return evaluate(labels, detections, (start_s, end_s), buildings, tolerance_s=tolerance_s)


def active_faults(store: InfluxStore) -> list[dict[str, Any]]:
    """Faults active now, oldest first, as ``facmon faults active --format json`` prints them (``start_s``:
    the onset)."""
    return [
        {
            "start_s": f.onset_s,
            "building": f.building,
            "kind": f.kind,
            "target": f.target,
            "severity": f.severity,
            "vendor": f.vendor,
            "value": float(f.value if f.value is not None else 0.0),
            "detail": f.detail,
        }
        for f in read_active_faults(store)
    ]
