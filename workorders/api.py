"""The JSON API of the work orders (OpenAPI document at /api/openapi.json, browsable at /api/docs), for
integrations such as a 智慧机关事务 platform pushing repair requests, and for vendors' own tools.

Authentication: HTTP Basic with a work-order account (over HTTPS in production), or the session of a
signed-in browser (with its CSRF token). Errors: 400 with the field named, 401, 403, 404 (also for an
order the caller may not see), 409 for an action the order's state or the caller's role does not allow,
422 for a body that does not parse (the field named by its location), 429 over a rate limit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from django.contrib.auth import authenticate
from django.http import HttpRequest
from django_ratelimit.core import is_ratelimited
from ninja import NinjaAPI, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from ninja.security import HttpBasicAuth, django_auth
from pydantic import Field

from facmon.errors import ServiceUnavailable
from facmon.workorders import links, orders
from facmon.workorders.lifecycle import Action, Channel, Role, State, TransitionRefused
from facmon.workorders.models import WorkOrder
from facmon.workorders.pages import client_key, count_failed_sign_in, request_rate, sign_in_blocked
from facmon.workorders.site_registry import current_site


class BasicAccount(HttpBasicAuth):
    """HTTP Basic against the accounts, limited like the sign-in page."""

    def authenticate(self, request: HttpRequest, username: str, password: str) -> Any:
        request.META["facmon.basic_user"] = username  # for the per-name count, as on the sign-in page
        if sign_in_blocked(request):
            raise HttpError(429, "too many failed sign-ins from this address or for this user; try again later")
        user = authenticate(request, username=username, password=password)
        if user is None:
            count_failed_sign_in(request)
            return None
        request.user = user
        return user


api = NinjaAPI(
    title="facmon work orders",
    version="1",
    description="Work orders (工单) and repair requests (报修) of the facmon work-order service.",
    auth=[BasicAccount(), django_auth],
    urls_namespace="api",
)


class OrderOut(Schema):
    id: int
    number: str
    source: str
    building: str
    vendor: str
    severity: str
    kind: str
    target: str
    location: str
    description: str
    state: str
    flagged: bool = Field(description="resolved by the vendor while the data still show the fault")
    reported_at: datetime
    onset_at: datetime
    acknowledged_at: datetime | None
    on_site_at: datetime | None
    resolved_at: datetime | None
    restored_at: datetime | None
    verified_at: datetime | None
    closed_at: datetime | None
    onsite_due: datetime | None = Field(description="None when the order's vendor is no longer in the registry")
    restore_due: datetime | None
    onsite_breached: bool
    restore_breached: bool
    rating: int | None


class EventOut(Schema):
    at: datetime
    recorded_at: datetime
    action: str
    from_state: str
    to_state: str
    actor: str
    role: str
    channel: str
    note: str
    photo: str
    detail: dict[str, Any]


class OrderDetailOut(OrderOut):
    events: list[EventOut]


class RepairRequestIn(Schema):
    building: str = Field(description="building code of the registry", min_length=1, max_length=32)
    system: str = Field(description="repair category: a building system of registry work_orders.request_systems", max_length=64)
    location: str = Field(description="where: floor, room", min_length=1, max_length=200)
    description: str = Field(description="what is wrong", min_length=1, max_length=2000)
    urgency: Literal["urgent", "normal"] = "normal"
    contact: str = Field("", max_length=100, description="phone or extension of the requester")


class ActionIn(Schema):
    action: Literal["acknowledge", "arrive", "resolve", "verify", "close", "reopen", "cancel", "assign", "note"]
    note: str = Field("", max_length=2000)
    photo: str = Field("", max_length=500, description="a reference to a photo: URL or file name")
    vendor: str | None = Field(None, description="for assign: the vendor id taking the order")


class ReturnVisitIn(Schema):
    rating: int = Field(ge=1, le=5, description="1 (very dissatisfied) to 5 (very satisfied)")
    comment: str = Field("", max_length=2000)


class LinkOut(Schema):
    url: str
    expires_in_hours: float


def _out(order: WorkOrder) -> dict[str, Any]:
    try:
        clock: orders.SlaClock | None = orders.sla_clock(order, current_site())
    except LookupError:  # its vendor left the registry
        clock = None
    return {
        **{f: getattr(order, f) for f in OrderOut.model_fields if hasattr(order, f) and f not in ("onsite_due", "restore_due")},
        "id": order.pk,
        "number": order.number,
        "onsite_due": clock.onsite_due if clock else None,
        "restore_due": clock.restore_due if clock else None,
        "onsite_breached": order.onsite_breached_at is not None,
        "restore_breached": order.restore_breached_at is not None,
    }


def _detail(order: WorkOrder) -> dict[str, Any]:
    return {**_out(order), "events": list(order.events.all())}


def _actor(request: HttpRequest) -> orders.Actor:
    try:
        return orders.Actor.of_user(request.user)
    except PermissionError as refused:
        raise HttpError(403, str(refused)) from None


def _call(function: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return function(*args, **kwargs)
    except orders.OrderNotFound as missing:
        raise HttpError(404, str(missing)) from None
    except orders.RequestInvalid as invalid:
        raise HttpError(400, f"{invalid.field}: {invalid.message}") from None
    except TransitionRefused as refused:
        raise HttpError(409, str(refused)) from None


@api.get("/orders", response=list[OrderOut], summary="Orders the caller may see, newest first")
def list_orders(request: HttpRequest, state: State | None = None, building: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    if not 1 <= limit <= 1000:
        raise HttpError(400, "limit: between 1 and 1000")
    found = orders.visible_orders(_actor(request))
    if state is not None:
        found = found.filter(state=state.value)
    if building:
        found = found.filter(building=building)
    return [_out(order) for order in found[:limit]]


@api.get("/orders/{order_id}", response=OrderDetailOut, summary="One order with its history")
def get_order(request: HttpRequest, order_id: int) -> dict[str, Any]:
    return _detail(_call(orders.get_order, order_id, _actor(request)))


@api.post("/orders/{order_id}/actions", response=OrderDetailOut, summary="Take an action on an order")
def post_action(request: HttpRequest, order_id: int, body: ActionIn) -> dict[str, Any]:
    actor = _actor(request)
    order = _call(
        orders.act,
        current_site(),
        order_id,
        Action(body.action),
        actor,
        Channel.API,
        datetime.now(UTC),
        note=body.note,
        photo=body.photo,
        vendor=body.vendor,
    )
    return _detail(order)


@api.post("/orders/{order_id}/return-visit", response=OrderDetailOut, summary="The requester's rating of a completed repair (回访)")
def post_return_visit(request: HttpRequest, order_id: int, body: ReturnVisitIn) -> dict[str, Any]:
    actor = _actor(request)
    order = _call(
        orders.return_visit, current_site(), order_id, actor, Channel.API, datetime.now(UTC), rating=body.rating, comment=body.comment
    )
    return _detail(order)


@api.get("/orders/{order_id}/link", response=LinkOut, summary="A signed, expiring deep link to the order (officers and its vendor)")
def get_link(request: HttpRequest, order_id: int) -> dict[str, Any]:
    actor = _actor(request)
    if actor.role not in (Role.OFFICER, Role.VENDOR):
        raise HttpError(403, "deep links are for officers and the order's vendor")
    order = _call(orders.get_order, order_id, actor)
    settings = current_site().work_orders
    return {"url": f"{settings.public_url}/l/{links.sign_order(order.pk, order.vendor)}/", "expires_in_hours": settings.link_ttl_hours}


@api.post("/requests", response={201: OrderDetailOut}, summary="File a repair request (报修)")
def post_request(request: HttpRequest, body: RepairRequestIn) -> Status[dict[str, Any]]:
    if is_ratelimited(request, group="repair-requests", key=client_key, rate=request_rate, increment=True):
        raise HttpError(429, "too many repair requests from this client; try again in a minute")
    actor = _actor(request)
    if actor.role.value not in ("occupant", "officer"):
        raise HttpError(403, "vendors do not file repair requests")
    order = _call(orders.file_request, current_site(), actor, Channel.API, datetime.now(UTC), **body.model_dump())
    return Status(201, _detail(order))


@api.get(
    "/assessments/{period}",
    response=dict[str, Any],
    summary="The combined vendor assessment of a month, quarter or year (officers: every vendor; vendor staff: their own)",
)
def get_assessment(request: HttpRequest, period: str) -> dict[str, Any]:
    from facmon.workorders.assessment_pages import assessment_json

    if is_ratelimited(request, group="assessment", key=client_key, rate=request_rate, increment=True):
        raise HttpError(429, "too many requests from this client; try again in a minute")
    actor = _actor(request)
    if actor.role not in (Role.OFFICER, Role.VENDOR):
        raise HttpError(403, "the assessment is for officers and vendors")
    try:
        return _call(assessment_json, actor, period)
    except ServiceUnavailable as down:
        raise HttpError(503, f"the measurement database does not answer: {down}") from None
