"""One cause, one alert: many devices failing together are one fault of the data path, not one per device.

A data gateway that restarts rebases every register behind it (a `meter_reset` or `spike` on each
meter), one that loses power or network silences every device (`device_offline` on each), and a broker
or collector outage silences every building at once. Paging a vendor once per device for that floods
them with alerts of one cause, and blames the maintenance vendor for facmon's own collection path.

:func:`group_common_causes` (plain function on a building's episodes) replaces the episodes of one kind
that start together on at least ``min_devices`` devices by one episode against the building's data
gateway (target ``gateway``), naming the devices. :func:`collection_outages` finds gateway offline
episodes that start together in every building of a site (two or more): the cause is upstream of the
buildings (the broker, the network to it, the collector), so they are retargeted to ``collection``,
which no vendor answers for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from facmon.fault_kinds import FaultKind
from facmon.schema.faults import Fault

GATEWAY_TARGET = "gateway"  # the building's data gateway and the path behind it
COLLECTION_TARGET = "collection"  # facmon's side: the broker, the network to it, the collector
COMMON_CAUSE_KINDS = (FaultKind.DEVICE_OFFLINE, FaultKind.METER_RESET, FaultKind.SPIKE)
_NAMED = 6  # devices named in a detail; the rest are counted


def _clusters(episodes: Sequence[Fault], window_s: int) -> list[list[Fault]]:
    """Episodes ordered by onset, split where two consecutive onsets lie more than ``window_s`` apart."""
    ordered = sorted(episodes, key=lambda e: (e.onset_s, e.target))
    clusters: list[list[Fault]] = []
    for episode in ordered:
        if clusters and episode.onset_s - clusters[-1][-1].onset_s <= window_s:
            clusters[-1].append(episode)
        else:
            clusters.append([episode])
    return clusters


def _merged(kind: str, cluster: Sequence[Fault], target: str, cause: str) -> Fault:
    targets = sorted({e.target for e in cluster})
    named = ", ".join(targets[:_NAMED]) + (f" and {len(targets) - _NAMED} more" if len(targets) > _NAMED else "")
    cleared = [e.cleared_s for e in cluster]
    raised = [e.raised_s for e in cluster if e.raised_s is not None]
    onset_s = min(e.onset_s for e in cluster)
    return Fault(
        building=cluster[0].building,
        kind=kind,
        target=target,
        onset_s=onset_s,
        # known once the last of the devices that make the group showed it (never before the onset)
        raised_s=max(onset_s, max(raised)) if raised else None,
        cleared_s=None if any(c is None for c in cleared) else max(c for c in cleared if c is not None),
        severity=cluster[0].severity,
        vendor=cluster[0].vendor,
        value=float(len(targets)),
        detail=f"{len(targets)} devices together ({named}): {cause}",
    )


_CAUSE = {
    FaultKind.DEVICE_OFFLINE: "one cause, e.g. the data gateway, its network or its power",
    FaultKind.METER_RESET: "registers reset together, e.g. a restart of the data gateway",
    FaultKind.SPIKE: "registers jumped together, e.g. a restart of the data gateway that rebased them",
}


def group_common_causes(episodes: Sequence[Fault], *, window_s: Mapping[str, int], min_devices: int) -> list[Fault]:
    """A building's episodes with those of each common-cause kind (device_offline, meter_reset, spike)
    that start within ``window_s[kind]`` seconds of each other on at least ``min_devices`` devices
    replaced by one episode against ``gateway`` (value: the number of devices; detail: which). Other
    episodes pass unchanged, in their order."""
    kept = [e for e in episodes if e.kind not in COMMON_CAUSE_KINDS or e.target == GATEWAY_TARGET]
    for kind in COMMON_CAUSE_KINDS:
        of_kind = [e for e in episodes if e.kind == kind and e.target != GATEWAY_TARGET]
        for cluster in _clusters(of_kind, window_s[kind]):
            if len({e.target for e in cluster}) >= min_devices:
                kept.append(_merged(kind, cluster, GATEWAY_TARGET, _CAUSE[kind]))
            else:
                kept.extend(cluster)
    return kept


def collection_outages(by_building: Mapping[str, list[Fault]], *, window_s: int) -> dict[str, list[Fault]]:
    """Gateway offline episodes that start within ``window_s`` of each other in every building (two or
    more buildings) retargeted to ``collection``: the cause is upstream of the buildings, no vendor's."""
    if len(by_building) < 2:
        return dict(by_building)
    gateways = [
        replace(e, building=code)
        for code, found in by_building.items()
        for e in found
        if e.kind == FaultKind.DEVICE_OFFLINE and e.target == GATEWAY_TARGET
    ]
    upstream: set[tuple[str, int]] = set()
    for cluster in _clusters(gateways, window_s):
        if {e.building for e in cluster} >= set(by_building):
            upstream |= {(e.building, e.onset_s) for e in cluster}
    cause = "every building at once: the broker, the network to it or the collector, not a building's gateway"
    return {
        code: [
            replace(e, target=COLLECTION_TARGET, detail=f"{e.detail.split(':')[0]}; {cause}")
            if e.kind == FaultKind.DEVICE_OFFLINE and e.target == GATEWAY_TARGET and (code, e.onset_s) in upstream
            else e
            for e in found
        ]
        for code, found in by_building.items()
    }
