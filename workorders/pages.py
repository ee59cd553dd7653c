"""The pages of `facmon serve`, phone-sized: the order board, one order with its history and buttons,
the repair-request form, deep links and the fault links of alert messages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_ratelimit.core import get_usage
from django_ratelimit.decorators import ratelimit

from facmon.workorders import labels, links, orders
from facmon.workorders.lifecycle import ACTIVE, Action, Channel, Role, State, TransitionRefused, actions_for
from facmon.workorders.models import WorkOrder
from facmon.workorders.site_registry import current_site


def now() -> datetime:
    return datetime.now(UTC)


def login_rate(group: str, request: HttpRequest) -> str:
    return f"{current_site().work_orders.logins_per_15min}/15m"


def request_rate(group: str, request: HttpRequest) -> str:
    return f"{current_site().work_orders.requests_per_minute}/m"


def client_key(group: str, request: HttpRequest) -> str:
    """A signed-in user by name, anyone else by address."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.get_username()}"
    return f"ip:{request.META.get('REMOTE_ADDR', '')}"


def rate_limited(request: HttpRequest, exception: Exception) -> HttpResponse:
    """HTTP 429 for a client over its limit (django-ratelimit's RATELIMIT_VIEW)."""
    if request.path.startswith("/api/"):
        return HttpResponse('{"detail": "too many requests; try again in a minute"}', status=429, content_type="application/json")
    return render(request, "workorders/message.html", {"message": _("Too many attempts. Wait a few minutes and try again.")}, status=429)


def username_key(group: str, request: HttpRequest) -> str:
    """The user name as Django compares it (NFKC, surrounding spaces dropped), so spellings of one name share a count."""
    from django.contrib.auth.models import AbstractBaseUser

    return (
        "user:"
        + AbstractBaseUser.normalize_username(str(request.POST.get("username") or request.META.get("facmon.basic_user") or "")).strip()
    )


def sign_in_blocked(request: HttpRequest) -> bool:
    """True when the address or the user name has used up its failed sign-ins (registry work_orders.logins_per_15min)."""
    for key in ("ip", username_key):
        usage = get_usage(request, group="sign-in", key=key, rate=login_rate, increment=False)
        if usage is not None and usage["count"] >= usage["limit"]:
            return True
    return False


def count_failed_sign_in(request: HttpRequest) -> None:
    for key in ("ip", username_key):
        get_usage(request, group="sign-in", key=key, rate=login_rate, increment=True)


class SignIn(auth_views.LoginView):
    """Django's sign-in. Failed attempts are counted per address and per user name; over the limit HTTP
    429 (successful sign-ins count for nothing, so a shared address is not locked out by its users)."""

    template_name = "workorders/login.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if sign_in_blocked(request):
            return rate_limited(request, Exception("sign-in limit"))
        response: HttpResponse = super().post(request, *args, **kwargs)
        if not request.user.is_authenticated:
            count_failed_sign_in(request)
        return response


def _actor(request: HttpRequest) -> orders.Actor:
    try:
        return orders.Actor.of_user(request.user)
    except PermissionError:
        raise Http404("no work-order account") from None


def _view(order: WorkOrder, actor: orders.Actor | None, at: datetime, *, history: bool = True) -> dict[str, Any]:
    """What a page shows of an order: labels, clocks in minutes, the buttons ``actor`` has, and (``history``)
    its events."""
    site = current_site()
    building = site.building(order.building)
    vendor = site.vendor(order.vendor)
    try:
        status: orders.SlaStatus | None = orders.sla_status(order, site, at)
        clock: orders.SlaClock | None = orders.sla_clock(order, site)
    except LookupError:  # its vendor left the registry: the order shows, without SLA clocks
        status = clock = None
    role = actor.role if actor else None
    own_request = actor is not None and (actor.role != Role.OCCUPANT or order.requester_id == actor.user_id)
    buttons = [(a.value, labels.ACTIONS[a.value]) for a in actions_for(State(order.state), role)] if role and own_request else []
    if role == Role.OCCUPANT and order.source != WorkOrder.SOURCE_REQUEST:
        buttons = []
    return {
        "order": order,
        "building_name": building.name if building else order.building,
        "vendor_name": vendor.name if vendor else order.vendor,
        "state_label": labels.label(labels.STATES, order.state),
        "kind_label": labels.label(labels.KINDS, order.kind),
        "severity_label": labels.label(labels.SEVERITIES, order.severity),
        "source_label": labels.label(labels.SOURCES, order.source),
        "active": State(order.state) in ACTIVE,
        "sla": status,
        "onsite_limit_min": clock.onsite_limit_min if clock else None,
        "restore_limit_min": clock.restore_limit_min if clock else None,
        "buttons": buttons,
        "can_return_visit": role in (Role.OCCUPANT, Role.OFFICER)
        and own_request
        and order.source == WorkOrder.SOURCE_REQUEST
        and order.rating is None
        and order.state in (State.RESOLVED, State.VERIFIED, State.CLOSED),
        "can_assign": role == Role.OFFICER and order.state not in (State.CLOSED, State.CANCELLED),
        "vendors": [(v.id, v.name) for v in site.vendors],
        "events": [
            {
                "event": e,
                "action_label": labels.label(labels.ACTIONS, e.action),
                "state_label": labels.label(labels.STATES, e.to_state),
                "channel_label": labels.label(labels.CHANNELS, e.channel),
                "actor_label": labels.SYSTEM_ACTOR if e.role == Role.SYSTEM else e.actor,
            }
            for e in (order.events.all() if history else [])
        ],
    }


@login_required
def board(request: HttpRequest) -> HttpResponse:
    """The orders the user may see: those still owed first, then the rest of the last 200."""
    actor = _actor(request)
    at = now()
    visible = list(orders.visible_orders(actor)[:200])
    rows = [_view(order, actor, at, history=False) for order in visible]
    rows.sort(key=lambda r: (not r["active"], r["order"].reported_at.timestamp() * (-1)))
    counts = {
        "active": sum(1 for r in rows if r["active"]),
        "breached": sum(1 for r in rows if r["active"] and r["sla"] and (r["sla"].onsite_breached or r["sla"].restore_breached)),
    }
    return render(request, "workorders/board.html", {"rows": rows, "actor": actor, "counts": counts, "site": current_site().site})


@login_required
def order_page(request: HttpRequest, order_id: int) -> HttpResponse:
    actor = _actor(request)
    try:
        order = orders.get_order(order_id, actor)
    except orders.OrderNotFound:
        raise Http404("no such order") from None
    context = _view(order, actor, now())
    if actor.role in (Role.OFFICER, Role.VENDOR):
        context["share_link"] = f"{current_site().work_orders.public_url}/l/{links.sign_order(order.pk, order.vendor)}/"
    return render(request, "workorders/order.html", {**context, "actor": actor})


@require_POST
def order_action(request: HttpRequest, order_id: int) -> HttpResponseBase:
    """A button on the order page: a lifecycle action, a note, an assignment or a return visit."""
    token = request.POST.get("link_token", "")
    site = current_site()
    if request.user.is_authenticated:
        actor, channel = _actor(request), Channel.WEB
    elif token and site.work_orders.link_actions:
        try:
            linked, vendor = links.order_of(token, site.work_orders.link_ttl_hours)
        except links.LinkRefused as refused:
            return render(request, "workorders/message.html", {"message": str(refused)}, status=403)
        if linked != order_id:
            return render(request, "workorders/message.html", {"message": _("This link is for another order.")}, status=403)
        order = WorkOrder.objects.filter(pk=order_id, vendor=vendor).first()
        if order is None:
            raise Http404("no such order")  # gone, or handed to another vendor since the link was made
        actor, channel = orders.Actor(f"link:{vendor}", Role.VENDOR, vendor), Channel.LINK
    else:
        return redirect(f"/login/?next=/orders/{order_id}/")
    kind = request.POST.get("action", "")
    try:
        if kind == Action.RETURN_VISIT.value:
            rating = int(request.POST.get("rating", "0") or 0)
            orders.return_visit(site, order_id, actor, channel, now(), rating=rating, comment=request.POST.get("comment", ""))
        else:
            action = Action(kind)
            orders.act(
                site,
                order_id,
                action,
                actor,
                channel,
                now(),
                note=request.POST.get("note", ""),
                photo=request.POST.get("photo", ""),
                vendor=request.POST.get("vendor") or None,
            )
        messages.success(request, _("Saved."))
    except ValueError as invalid:  # Action(kind) or RequestInvalid
        messages.error(request, str(invalid))
    except TransitionRefused as refused:
        messages.error(request, str(refused))
    except orders.OrderNotFound:
        raise Http404("no such order") from None
    if channel == Channel.LINK:
        return redirect(f"/l/{token}/")
    return redirect("order", order_id=order_id)


def deep_link(request: HttpRequest, token: str) -> HttpResponse:
    """A signed link: the order read-only (or its own page for a user who may see it)."""
    site = current_site()
    try:
        order_id, vendor = links.order_of(token, site.work_orders.link_ttl_hours)
    except links.LinkRefused as refused:
        return render(request, "workorders/message.html", {"message": str(refused)}, status=403)
    if request.user.is_authenticated:
        try:
            orders.get_order(order_id, _actor(request))
            return redirect("order", order_id=order_id)
        except orders.OrderNotFound:
            raise Http404("no such order") from None
    order = WorkOrder.objects.filter(pk=order_id, vendor=vendor).first()
    if order is None:
        raise Http404("no such order")  # gone, or handed to another vendor since the link was made
    link_actor = orders.Actor(f"link:{vendor}", Role.VENDOR, vendor) if site.work_orders.link_actions else None
    context = _view(order, link_actor, now())
    return render(request, "workorders/order.html", {**context, "link_token": token, "via_link": True})


@login_required
def fault_order(request: HttpRequest, building: str, kind: str, target: str) -> HttpResponseBase:
    """The link in an alert message: the latest order of this fault (building, kind, target)."""
    actor = _actor(request)
    order = (
        orders.visible_orders(actor)
        .filter(source=WorkOrder.SOURCE_FAULT, building=building, kind=kind, target=target)
        .order_by("-fault_onset_at", "-id")
        .first()
    )
    if order is None:
        return render(request, "workorders/message.html", {"message": _("No work order for this fault yet; it opens within a minute.")})
    return redirect("order", order_id=order.pk)


class RepairRequestForm(forms.Form):
    building = forms.ChoiceField(label=gettext_lazy("Building"))
    system = forms.ChoiceField(label=gettext_lazy("Repair category"))
    location = forms.CharField(label=gettext_lazy("Where (floor, room)"), max_length=200)
    description = forms.CharField(label=gettext_lazy("Description"), widget=forms.Textarea(attrs={"rows": 4}), max_length=2000)
    urgency = forms.ChoiceField(label=gettext_lazy("Urgency"))
    contact = forms.CharField(label=gettext_lazy("Phone or extension"), max_length=100, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        site = current_site()
        self.fields["building"].choices = [(b.code, b.name) for b in site.buildings]
        self.fields["system"].choices = [(s.value, labels.label(labels.KINDS, s.value)) for s in site.work_orders.request_systems]
        self.fields["urgency"].choices = [(u, labels.label(labels.URGENCIES, u)) for u in ("normal", "urgent")]


@login_required
@ratelimit(key=client_key, rate=request_rate, method="POST", block=True, group="repair-requests")
def new_request(request: HttpRequest) -> HttpResponse:
    """The repair-request form (报修) for occupants and officers."""
    actor = _actor(request)
    if actor.role not in (Role.OCCUPANT, Role.OFFICER):
        raise Http404("vendors do not file repair requests")
    account_building = request.user.account.building  # type: ignore[union-attr]
    form = RepairRequestForm(request.POST or None, initial={"building": account_building})
    if request.method == "POST" and form.is_valid():
        try:
            order = orders.file_request(current_site(), actor, Channel.WEB, now(), **form.cleaned_data)
        except orders.RequestInvalid as invalid:
            form.add_error(invalid.field if invalid.field in form.fields else None, invalid.message)
        else:
            messages.success(request, _("Your request is %(number)s.") % {"number": order.number})
            return redirect("order", order_id=order.pk)  # type: ignore[return-value]
    return render(request, "workorders/request.html", {"form": form, "actor": actor})
