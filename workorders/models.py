"""The work-order tables (PostgreSQL through Django's ORM). The database is the source of truth; the
``work_order`` measurement in InfluxDB is a timeline written from :class:`Event` rows (:mod:`.timeline`).

:class:`Event` is the audit log: rows are only ever inserted. The model refuses updates and deletes,
and a trigger in the database (migration 0002) refuses them from any client, the admin's psql included.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from facmon.workorders.lifecycle import Action, Channel, Role, State


def _choices(enum: Any) -> list[tuple[str, str]]:
    return [(member.value, member.value) for member in enum]


class Account(models.Model):
    """What a signed-in user is to the work orders: an officer, a vendor's staff (of one vendor), an occupant."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account")
    role = models.CharField(max_length=16, choices=_choices(Role))
    vendor = models.CharField(max_length=64, blank=True, help_text="registry vendor id, for vendor staff")
    building = models.CharField(max_length=32, blank=True, help_text="an occupant's building code, preselected in requests")

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.role}{' ' + self.vendor if self.vendor else ''})"


class WorkOrder(models.Model):
    """One fault episode or one repair request, and its current state and clocks (UTC timestamps)."""

    SOURCE_FAULT = "fault"
    SOURCE_REQUEST = "request"

    source = models.CharField(max_length=16, choices=[(SOURCE_FAULT, SOURCE_FAULT), (SOURCE_REQUEST, SOURCE_REQUEST)])
    building = models.CharField(max_length=32)
    vendor = models.CharField(max_length=64)
    severity = models.CharField(max_length=16)
    kind = models.CharField(max_length=64, help_text="fault kind, or the building system of a repair request")
    target = models.CharField(max_length=128, blank=True, help_text="the faulty device, or blank for a repair request")
    location = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    state = models.CharField(max_length=16, choices=_choices(State), default=State.OPEN.value)
    # Resolved by the vendor while the data still show the fault: not verified until the data recover.
    flagged = models.BooleanField(default=False)
    episodes = models.PositiveIntegerField(default=1, help_text="1 + the number of times a repeat fault reopened it")

    reported_at = models.DateTimeField(help_text="the SLA's report time: order opened or last reopened")
    onset_at = models.DateTimeField(help_text="restore clock start: the fault's onset, or the request's report")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    on_site_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    restored_at = models.DateTimeField(null=True, blank=True, help_text="fault cleared in the data, or request resolved")
    verified_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    fault_onset_at = models.DateTimeField(null=True, blank=True, help_text="onset of the latest fault episode on this order")
    fault_cleared_at = models.DateTimeField(null=True, blank=True, help_text="when the data showed the latest episode clear")
    onsite_breached_at = models.DateTimeField(null=True, blank=True)
    restore_breached_at = models.DateTimeField(null=True, blank=True)

    requester = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="requests")
    requester_contact = models.CharField(max_length=100, blank=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True, help_text="return visit 回访, 1-5")
    rating_comment = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["vendor", "state"]),
            models.Index(fields=["source", "building", "kind", "target"]),
        ]

    @property
    def number(self) -> str:
        """The order's number as people quote it, e.g. GD000042."""
        return f"GD{self.pk:06d}"

    def __str__(self) -> str:
        return f"{self.number} {self.building} {self.kind} {self.state}"


class Event(models.Model):
    """One entry of an order's history: who did what, when, from where. Insert-only."""

    order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField()
    action = models.CharField(max_length=16, choices=_choices(Action))
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16)
    actor = models.CharField(max_length=150, help_text="user name, or facmon for the system")
    role = models.CharField(max_length=16, choices=_choices(Role))
    channel = models.CharField(max_length=16, choices=_choices(Channel))
    note = models.TextField(blank=True)
    photo = models.CharField(max_length=500, blank=True, help_text="a reference to a photo (URL or file name), not the photo")
    detail = models.JSONField(default=dict, blank=True, help_text="SLA outcome, vendor change, ...")
    # When the row was written (wall clock): ``at`` is when it happened, which a backfill or the fault data
    # may place earlier; an auditor sees both.
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("work-order history is append-only: an event cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("work-order history is append-only: an event cannot be deleted")


class TimelinePending(models.Model):
    """Outbox: an event not yet confirmed in InfluxDB's ``work_order`` measurement. Inserted in the same
    transaction as the event, deleted once InfluxDB accepted the point (:mod:`.timeline`)."""

    event = models.OneToOneField(Event, on_delete=models.PROTECT, primary_key=True)


# ---------------------------------------------------------------------------------------------
# The combined assessment's records (物业服务考核): inspections, satisfaction surveys, third-party
# scores, closed periods and amendments (workorders/assessment.py reads them).


class AppendOnly(models.Model):
    """A record that is evidence: rows are only inserted (the model refuses changes; migration 0003 adds
    the database trigger)."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError(f"{type(self).__name__} records are append-only: a row cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError(f"{type(self).__name__} records are append-only: a row cannot be deleted")


class Inspection(models.Model):
    """One inspection of a vendor's service in a building on a day, by an officer, against a checklist of
    the registry (vendor_assessment.checklists)."""

    KIND_SCHEDULED = "scheduled"  # 现场检查, announced
    KIND_SPOT = "spot"  # 抽查, unannounced

    vendor = models.CharField(max_length=64)
    building = models.CharField(max_length=32)
    checklist = models.CharField(max_length=64)
    checklist_name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=[(KIND_SCHEDULED, KIND_SCHEDULED), (KIND_SPOT, KIND_SPOT)])
    day = models.DateField(help_text="local date of the inspection")
    inspector = models.CharField(max_length=150)
    notes = models.TextField(blank=True)
    photo = models.CharField(max_length=500, blank=True, help_text="a reference to a photo (URL or file name), not the photo")
    simulated = models.BooleanField(default=False, help_text="seeded by the demo, not a real inspection")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["vendor", "day"])]


class InspectionItem(models.Model):
    """One checklist item as scored: ``points`` copied from the checklist when filled, ``awarded`` 0..points.
    Changed after its period is closed only through an :class:`Amendment`."""

    inspection = models.ForeignKey(Inspection, on_delete=models.PROTECT, related_name="items")
    item = models.CharField(max_length=64)
    text = models.CharField(max_length=500)
    points = models.FloatField()
    awarded = models.FloatField()
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["inspection", "item"], name="one_score_per_item")]


class Survey(models.Model):
    """A satisfaction survey (满意度测评) of a vendor in a building for a period, answered through links."""

    vendor = models.CharField(max_length=64)
    building = models.CharField(max_length=32)
    period = models.CharField(max_length=16, help_text="the month or quarter it assesses, e.g. 2026-11")
    questions = models.JSONField(help_text="the registry's questions when issued: [{id, text, scale}]")
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    simulated = models.BooleanField(default=False, help_text="seeded by the demo, answered by simulated respondents")

    class Meta:
        indexes = [models.Index(fields=["vendor", "period"])]


class SurveyLink(models.Model):
    """One issued link: one response. Only a hash of the token is kept; the response is not tied to the link,
    so nobody, the officer included, can tell who answered what."""

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="links")
    token_sha256 = models.CharField(max_length=64, unique=True)
    used = models.BooleanField(default=False)


class SurveyResponse(AppendOnly):
    """One anonymous response: question id -> answer (1..5, or 1..4 for 差..优)."""

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    answers = models.JSONField()
    comment = models.TextField(blank=True)
    submitted_on = models.DateField(help_text="local date only: a time of day could identify a respondent")


class ThirdPartyScore(models.Model):
    """A third-party assessor's score of a vendor for a period, imported from CSV/XLSX."""

    vendor = models.CharField(max_length=64)
    period = models.CharField(max_length=16)
    score = models.FloatField()
    assessor = models.CharField(max_length=200)
    note = models.TextField(blank=True)
    source = models.CharField(max_length=300, help_text="imported file, sheet and row")
    imported_by = models.CharField(max_length=150)
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["vendor", "period"], name="one_third_party_score_per_period")]


class PeriodClosure(AppendOnly):
    """A period closed by an officer: its records change only through amendments, and ``results`` keeps the
    combined assessment as it stood at closing (the published figures)."""

    period = models.CharField(max_length=16, unique=True)
    start = models.DateField()
    end = models.DateField(help_text="exclusive")
    closed_by = models.CharField(max_length=150)
    closed_at = models.DateTimeField()
    results = models.JSONField(help_text="every vendor's assessment at closing")
    inputs = models.JSONField(
        help_text="what the period is assessed against from now on: the registry's rules and contracts, the measured scores"
    )


class Amendment(AppendOnly):
    """A change to a record of a closed period: who, when, why, what it was and what it became."""

    at = models.DateTimeField()
    by = models.CharField(max_length=150)
    reason = models.TextField()
    record = models.CharField(max_length=200, help_text="e.g. inspection #12 item toilets")
    period = models.CharField(max_length=16, help_text="the closed period the record belongs to")
    vendor = models.CharField(max_length=64)
    before = models.JSONField()
    after = models.JSONField()

    class Meta:
        ordering = ["at", "id"]
