"""The assessment's pages of `facmon serve`: the combined assessment of a period (officers see every vendor,
a vendor's staff only their own, with every point lost explained), the inspection form for officers on a
phone, and the survey page respondents open from their link without signing in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_ratelimit.decorators import ratelimit

from facmon.errors import ServiceUnavailable
from facmon.periods import PeriodError, last_complete_month, parse_period
from facmon.workorders import assessment, inspections, labels, surveys
from facmon.workorders.lifecycle import Role
from facmon.workorders.models import Inspection, WorkOrder
from facmon.workorders.orders import Actor, RequestInvalid
from facmon.workorders.pages import _actor, client_key, now, request_rate
from facmon.workorders.site_registry import current_site, current_store


def _local_today() -> Any:
    return now().astimezone(current_site().site.tz).date()


def visible_vendors(actor: Actor) -> list[str] | None:
    """Whose results the actor may see: officers every vendor (None), a vendor's staff their own; else 404."""
    if actor.role == Role.OFFICER:
        return None
    if actor.role == Role.VENDOR:
        return [actor.vendor]
    raise Http404("the assessment is for officers and vendors")


def survey_key(group: str, request: HttpRequest) -> str:
    """A survey link's limit counts per link (respondents behind one office address do not share a count)."""
    return "survey:" + surveys.token_hash(request.path)


@login_required
@ratelimit(key=client_key, rate=request_rate, block=True, group="assessment")
def assessment_page(request: HttpRequest, period: str | None = None) -> HttpResponse:
    """The combined assessment of ``period`` (default: the last complete month)."""
    actor = _actor(request)
    shown = visible_vendors(actor)
    if period is None:
        return redirect("assessment-period", period=last_complete_month(_local_today()).label)
    try:
        assessed = parse_period(period)
    except PeriodError:
        raise Http404("no such period") from None
    try:
        card = assessment.assess(current_site(), current_store(), assessed)
    except ServiceUnavailable as down:  # InfluxDB away: say so, never a 500
        message = _("The measurement database does not answer; try again in a few minutes.") + f" ({down})"
        return render(request, "workorders/message.html", {"message": message}, status=503)
    results = [r for r in card.vendors if shown is None or r.vendor in shown]
    rows = [
        {
            "result": r,
            "breaches": breached_orders(r.vendor, assessed),
            "parts": [{"part": p, "label": labels.label(labels.PARTS, p.part)} for p in r.parts],
            "standing_label": None if r.consequence is None else labels.label(labels.STANDINGS, r.consequence.standing.value),
            "history": [{"entry": e, "standing_label": labels.label(labels.STANDINGS, e.standing)} for e in card.history.get(r.vendor, [])],
        }
        for r in results
    ]
    context = {
        "card": card,
        "rows": rows,
        "actor": actor,
        "amendments": [a for a in card.amendments if shown is None or a["vendor"] in shown],
        "previous": assessed.previous().label,
        "weights": [(labels.label(labels.PARTS, name), weight) for name, weight in card.weights.items()],
    }
    return render(request, "workorders/assessment.html", context)


def breached_orders(vendor: str, period: Any) -> list[dict[str, Any]]:
    """The vendor's work orders with an SLA limit passed in ``period``: the faults behind the measured
    part's lost SLA points, each linked to its order."""
    zone = current_site().site.tz
    start = datetime.combine(period.start, datetime.min.time(), zone)
    end = datetime.combine(period.end, datetime.min.time(), zone)
    found = WorkOrder.objects.filter(vendor=vendor).filter(
        Q(onsite_breached_at__gte=start, onsite_breached_at__lt=end) | Q(restore_breached_at__gte=start, restore_breached_at__lt=end)
    )
    return [
        {
            "order": order,
            "kind_label": labels.label(labels.KINDS, order.kind),
            "onsite": order.onsite_breached_at is not None and start <= order.onsite_breached_at < end,
            "restore": order.restore_breached_at is not None and start <= order.restore_breached_at < end,
        }
        for order in found.order_by("reported_at")[:200]
    ]


class InspectionForm(forms.Form):
    vendor = forms.ChoiceField(label=gettext_lazy("Vendor"))
    building = forms.ChoiceField(label=gettext_lazy("Building"))
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        choices=[(Inspection.KIND_SCHEDULED, gettext_lazy("Scheduled inspection")), (Inspection.KIND_SPOT, gettext_lazy("Spot check"))],
    )
    day = forms.DateField(label=gettext_lazy("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    notes = forms.CharField(label=gettext_lazy("Notes"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    photo = forms.CharField(label=gettext_lazy("Photo reference"), required=False, max_length=500)
    reason = forms.CharField(
        label=gettext_lazy("Reason (only for a closed period: kept as an amendment)"),
        required=False,
        max_length=2000,
    )

    def __init__(self, checklist: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        site = current_site()
        self.fields["vendor"].choices = [(v.id, v.name) for v in site.vendors if checklist.service in v.services]
        self.fields["building"].choices = [(b.code, b.name) for b in site.buildings]
        for item in checklist.items:
            self.fields[f"item_{item.id}"] = forms.FloatField(
                label=f"{item.text} ({item.points:g})", min_value=0, max_value=item.points, initial=item.points, help_text=item.judged
            )
            self.fields[f"note_{item.id}"] = forms.CharField(label=_("Note"), required=False, max_length=500)


@login_required
def new_inspection(request: HttpRequest) -> HttpResponse:
    """An officer fills an inspection: first the checklist, then its items (full points preset, marked down)."""
    actor = _actor(request)
    if actor.role != Role.OFFICER:
        raise Http404("inspections are recorded by officers")
    site = current_site()
    checklist = site.vendor_assessment.checklist(request.GET.get("checklist", ""))
    if checklist is None:
        return render(request, "workorders/inspection.html", {"checklists": site.vendor_assessment.checklists, "actor": actor})
    form = InspectionForm(checklist, request.POST or None, initial={"day": _local_today(), "kind": Inspection.KIND_SCHEDULED})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        scores = {item.id: inspections.ItemInput(data[f"item_{item.id}"], data[f"note_{item.id}"]) for item in checklist.items}
        try:
            recorded = inspections.record_inspection(
                site,
                actor,
                vendor=data["vendor"],
                building=data["building"],
                checklist=checklist.id,
                kind=data["kind"],
                day=data["day"],
                scores=scores,
                today=_local_today(),
                notes=data["notes"],
                photo=data["photo"],
                reason=data["reason"],
                at=now(),
            )
        except RequestInvalid as invalid:
            form.add_error(None, str(invalid))
        else:
            total = sum(i.points for i in checklist.items)
            awarded = sum(s.awarded for s in scores.values())
            messages.success(
                request,
                _("Inspection #%(id)s recorded: %(awarded)g of %(total)g points.")
                % {"id": recorded.pk, "awarded": awarded, "total": total},
            )
            return redirect("assessment-period", period=f"{data['day']:%Y-%m}")
    items = [(item, form[f"item_{item.id}"], form[f"note_{item.id}"]) for item in checklist.items]
    general = [form[name] for name in ("vendor", "building", "kind", "day", "notes", "photo", "reason")]
    return render(
        request, "workorders/inspection.html", {"checklist": checklist, "form": form, "items": items, "general": general, "actor": actor}
    )


def _survey_gone(request: HttpRequest) -> HttpResponse:
    message = _("This survey link cannot be used: it is not valid, its one response was given, or the survey has closed.")
    return render(request, "workorders/message.html", {"message": message}, status=410)


@ratelimit(key=survey_key, rate=request_rate, method="POST", block=True, group="survey-answers")
def survey_page(request: HttpRequest, token: str) -> HttpResponse:
    """A respondent's survey from their link: no sign-in, one response, anonymous."""
    try:
        survey = surveys.survey_of_token(token)
    except surveys.SurveyClosed:
        return _survey_gone(request)
    site = current_site()
    vendor = site.vendor(survey.vendor)
    building = site.building(survey.building)
    errors = []
    if request.method == "POST":
        answers = {q["id"]: request.POST.get(f"q_{q['id']}", "") for q in survey.questions}
        try:
            surveys.answer_survey(token, answers, comment=request.POST.get("comment", ""), today=_local_today())
        except surveys.SurveyClosed:
            return _survey_gone(request)
        except RequestInvalid as invalid:
            errors.append(str(invalid))
        else:
            return render(request, "workorders/message.html", {"message": _("Thank you. Your answers were recorded anonymously.")})
    questions = [
        {
            "id": q["id"],
            "text": q["text"],
            "choices": [(str(n), str(n)) for n in range(5, 0, -1)]
            if q["scale"] == "1-5"
            else [("4", _("Excellent (优)")), ("3", _("Good (良)")), ("2", _("Fair (中)")), ("1", _("Poor (差)"))],
            "scale": q["scale"],
        }
        for q in survey.questions
    ]
    context = {
        "survey": survey,
        "vendor_name": vendor.name if vendor else survey.vendor,
        "building_name": building.name if building else survey.building,
        "questions": questions,
        "errors": errors,
    }
    return render(request, "workorders/survey.html", context)


def assessment_json(actor: Actor, period: str) -> dict:
    """The card of ``period`` as the API gives it (only the actor's own vendor for vendor staff)."""
    try:
        assessed = parse_period(period)
    except PeriodError as error:
        raise RequestInvalid("period", str(error)) from None
    shown = visible_vendors(actor)
    return assessment.assess(current_site(), current_store(), assessed).as_dict(shown)
