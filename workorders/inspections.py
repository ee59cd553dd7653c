"""Inspections (现场检查, scheduled, and 抽查, spot checks): an officer scores a registry checklist for a
vendor in a building on a day. A record of a closed period changes only through an amendment that says
who and why (:class:`~.models.Amendment`); the assessment is evidence in a contract dispute."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction

from facmon.registry import Site
from facmon.workorders.closures import closure_holding, lock_assessment_records
from facmon.workorders.lifecycle import Role
from facmon.workorders.models import Amendment, Inspection, InspectionItem
from facmon.workorders.orders import Actor, RequestInvalid

MAX_TEXT = 2000


@dataclass(frozen=True)
class ItemInput:
    """An inspector's score of one item: ``awarded`` points (0 to the item's points) and a note."""

    awarded: float
    note: str = ""


def _officer(actor: Actor) -> None:
    if actor.role != Role.OFFICER:
        raise PermissionError("only officers record and amend inspections")


def record_inspection(
    site: Site,
    actor: Actor,
    *,
    vendor: str,
    building: str,
    checklist: str,
    kind: str,
    day: date,
    scores: Mapping[str, ItemInput],
    today: date,
    notes: str = "",
    photo: str = "",
    reason: str = "",
    at: datetime | None = None,
    simulated: bool = False,
) -> Inspection:
    """Record an inspection; every item of the checklist is scored. In a closed period only with a
    ``reason``, recorded as an amendment. Raises :class:`RequestInvalid` naming the input."""
    _officer(actor)
    entry = site.vendor(vendor)
    if entry is None:
        raise RequestInvalid("vendor", f"{vendor!r} is not a vendor of the registry")
    if site.building(building) is None:
        raise RequestInvalid("building", f"{building!r} is not a building of the registry")
    template = site.vendor_assessment.checklist(checklist)
    if template is None:
        raise RequestInvalid("checklist", f"{checklist!r} is not a checklist of vendor_assessment.checklists")
    if template.service not in entry.services:
        raise RequestInvalid("checklist", f"{template.name} inspects {template.service.value}, which {entry.name} does not provide")
    if kind not in (Inspection.KIND_SCHEDULED, Inspection.KIND_SPOT):
        raise RequestInvalid("kind", f"{kind!r} must be scheduled or spot")
    if day > today:
        raise RequestInvalid("day", f"{day.isoformat()} is in the future")
    for name, text in (("notes", notes), ("photo", photo), ("reason", reason)):
        if len(text) > MAX_TEXT:
            raise RequestInvalid(name, f"at most {MAX_TEXT} characters")
    unknown = sorted(set(scores) - {i.id for i in template.items})
    if unknown:
        raise RequestInvalid(f"item {unknown[0]}", f"is not an item of {template.name}")
    for item in template.items:
        given = scores.get(item.id)
        if given is None:
            raise RequestInvalid(f"item {item.id}", "not scored: every item of the checklist needs a score")
        if not 0 <= given.awarded <= item.points:
            raise RequestInvalid(f"item {item.id}", f"{given.awarded:g} points is outside 0..{item.points:g}")
        if len(given.note) > 500:
            raise RequestInvalid(f"item {item.id}", "note: at most 500 characters")
    with transaction.atomic():
        lock_assessment_records()
        closure = closure_holding(day)
        if closure is not None and not reason.strip():
            raise RequestInvalid("reason", f"period {closure.period} is closed: a new inspection in it needs a reason (an amendment)")
        inspection = Inspection.objects.create(
            vendor=vendor,
            building=building,
            checklist=template.id,
            checklist_name=template.name,
            kind=kind,
            day=day,
            inspector=actor.name,
            notes=notes,
            photo=photo,
            simulated=simulated,
        )
        for item in template.items:
            given = scores[item.id]
            InspectionItem.objects.create(
                inspection=inspection, item=item.id, text=item.text, points=item.points, awarded=given.awarded, note=given.note
            )
        if closure is not None:
            Amendment.objects.create(
                at=at or datetime.now().astimezone(),
                by=actor.name,
                reason=reason.strip(),
                record=f"inspection #{inspection.pk} added",
                period=f"{day:%Y-%m}",
                vendor=vendor,
                before={},
                after={"day": day.isoformat(), "checklist": template.id, "scores": {k: v.awarded for k, v in scores.items()}},
            )
    return inspection


def amend_item(
    actor: Actor, inspection_id: int, item: str, awarded: float, *, note: str | None = None, reason: str = "", at: datetime
) -> InspectionItem:
    """Change one item's score. While its period is open the change is made; once closed only with a
    ``reason``, and the before and after are kept as an :class:`~.models.Amendment`."""
    _officer(actor)
    with transaction.atomic():
        lock_assessment_records()
        try:
            row = InspectionItem.objects.select_for_update().select_related("inspection").get(inspection_id=inspection_id, item=item)
        except InspectionItem.DoesNotExist:
            raise RequestInvalid("item", f"inspection #{inspection_id} has no item {item!r}") from None
        if not 0 <= awarded <= row.points:
            raise RequestInvalid(f"item {item}", f"{awarded:g} points is outside 0..{row.points:g}")
        closure = closure_holding(row.inspection.day)
        before = {"awarded": row.awarded, "note": row.note}
        row.awarded = awarded
        if note is not None:
            row.note = note[:500]
        if closure is not None:
            if not reason.strip():
                raise RequestInvalid("reason", f"period {closure.period} is closed: a change needs a reason, kept as an amendment")
            Amendment.objects.create(
                at=at,
                by=actor.name,
                reason=reason.strip(),
                record=f"inspection #{inspection_id} item {item}",
                period=f"{row.inspection.day:%Y-%m}",
                vendor=row.inspection.vendor,
                before=before,
                after={"awarded": row.awarded, "note": row.note},
            )
        row.save()
    return row
