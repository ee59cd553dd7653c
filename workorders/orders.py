"""Every change of a work order: opening (from a fault, from a repair request), the lifecycle actions,
return visits and SLA breaches. Each change is one database transaction that updates the order and
appends its :class:`~.models.Event` with an outbox row for InfluxDB (:mod:`.timeline`).

Who may see an order: officers and facmon every order, vendor staff their own vendor's, occupants the
requests they filed. An order someone may not see does not exist for them (:class:`OrderNotFound`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from facmon.registry import Severity, Site, System
from facmon.workdays import is_working_day
from facmon.workorders.lifecycle import ACTIVE, FINAL, WORKING, Action, Channel, Role, State, TransitionRefused, next_state
from facmon.workorders.models import Account, Event, TimelinePending, WorkOrder
from facmon.workorders.sla import SlaClock, SlaStatus


@dataclass(frozen=True)
class Actor:
    """Who acts: a user's name and role (and vendor, for vendor staff), or facmon itself."""

    name: str
    role: Role
    vendor: str = ""
    user_id: int | None = None

    @classmethod
    def of_user(cls, user: Any) -> Actor:
        """The actor a signed-in Django user is; :class:`PermissionError` for a user without an account."""
        try:
            account: Account = user.account
        except Account.DoesNotExist:
            raise PermissionError(f"user {user.get_username()!r} has no work-order account") from None
        return cls(user.get_username(), Role(account.role), account.vendor, user.pk)


SYSTEM = Actor("facmon", Role.SYSTEM)


log = logging.getLogger(__name__)


class OrderNotFound(LookupError):
    """No such order, or one the actor may not see."""


class RequestInvalid(ValueError):
    """A repair request or action input that cannot be used; ``field`` names the input."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def visible_orders(actor: Actor) -> QuerySet[WorkOrder]:
    """The orders ``actor`` may see, newest first."""
    orders = WorkOrder.objects.order_by("-reported_at", "-id")
    if actor.role == Role.VENDOR:
        return orders.filter(vendor=actor.vendor)
    if actor.role == Role.OCCUPANT:
        return orders.filter(source=WorkOrder.SOURCE_REQUEST, requester_id=actor.user_id)
    return orders


def get_order(order_id: int, actor: Actor, *, for_update: bool = False) -> WorkOrder:
    """The order with id ``order_id`` if ``actor`` may see it; else :class:`OrderNotFound`."""
    orders = visible_orders(actor)
    if for_update:
        orders = orders.select_for_update()
    try:
        return orders.get(pk=order_id)
    except WorkOrder.DoesNotExist:
        raise OrderNotFound(f"no work order {order_id}") from None


def sla_clock(order: WorkOrder, site: Site) -> SlaClock:
    """The order's SLA clocks with its vendor's terms for its severity (minutes)."""
    vendor = site.vendor(order.vendor)
    if vendor is None:
        raise LookupError(f"vendor {order.vendor!r} of order {order.number} is not in the registry")
    term = vendor.sla[Severity(order.severity)]
    return SlaClock(
        reported_at=order.reported_at,
        onset_at=order.onset_at,
        onsite_limit_min=term.onsite_min,
        restore_limit_min=term.restore_min,
        acknowledged_at=order.acknowledged_at,
        on_site_at=order.on_site_at,
        restored_at=order.restored_at,
        day_off=_day_off if vendor.contract.sla_clock == "working_days" else None,
        zone=site.site.tz,
    )


def _day_off(day: date) -> bool:
    return not is_working_day(day)


def sla_status(order: WorkOrder, site: Site, now: datetime) -> SlaStatus:
    """The order's clocks at ``now``; a closed or cancelled order's running clocks stop where it ended (``closed_at``)."""
    ended = order.closed_at if order.state in FINAL and order.closed_at is not None else None
    return sla_clock(order, site).status(min(now, ended) if ended else now)


def _record(
    order: WorkOrder,
    action: Action,
    actor: Actor,
    channel: Channel,
    at: datetime,
    from_state: str,
    *,
    note: str = "",
    photo: str = "",
    detail: dict[str, Any] | None = None,
) -> Event:
    # the vendor and severity at this moment travel with the event: the timeline (written later, maybe
    # after a reassignment) charges it to whoever had the order when it happened
    detail = {**(detail or {}), "vendor": order.vendor, "severity": order.severity}
    event = Event.objects.create(
        order=order,
        at=at,
        action=action.value,
        from_state=from_state,
        to_state=order.state,
        actor=actor.name,
        role=actor.role.value,
        channel=channel.value,
        note=note,
        photo=photo,
        detail=detail,
    )
    TimelinePending.objects.create(event=event)
    return event


def _sla_detail(order: WorkOrder, site: Site, at: datetime) -> dict[str, Any]:
    status = sla_clock(order, site).status(at)
    return {
        "acknowledge_min": round(status.acknowledge_min, 2),
        "onsite_min": round(status.onsite_min, 2),
        "onsite_breached": status.onsite_breached,
        "restore_min": round(status.restore_min, 2),
        "restore_breached": status.restore_breached,
    }


# -- opening ---------------------------------------------------------------------------------------


def open_order(
    site: Site,
    *,
    source: str,
    building: str,
    vendor: str,
    severity: str,
    kind: str,
    reported_at: datetime,
    onset_at: datetime,
    actor: Actor,
    channel: Channel,
    target: str = "",
    location: str = "",
    description: str = "",
    requester_id: int | None = None,
    requester_contact: str = "",
    fault_onset_at: datetime | None = None,
    detail: dict[str, Any] | None = None,
) -> WorkOrder:
    """A new order in state ``open``, with its first event."""
    with transaction.atomic():
        order = WorkOrder.objects.create(
            source=source,
            building=building,
            vendor=vendor,
            severity=severity,
            kind=kind,
            target=target,
            location=location,
            description=description,
            reported_at=reported_at,
            onset_at=onset_at,
            requester_id=requester_id,
            requester_contact=requester_contact,
            fault_onset_at=fault_onset_at,
        )
        _record(order, Action.OPEN, actor, channel, reported_at, "", note=description, detail=detail)
    return order


def file_request(
    site: Site,
    actor: Actor,
    channel: Channel,
    at: datetime,
    *,
    building: str,
    system: str,
    location: str,
    description: str,
    urgency: str = "normal",
    contact: str = "",
) -> WorkOrder:
    """An occupant's repair request (报修): the vendor follows from the registry's coverage of ``system``
    in ``building``; the severity from ``urgency``. :class:`RequestInvalid` names a field that cannot be used."""
    settings = site.work_orders
    if site.building(building) is None:
        raise RequestInvalid("building", f"{building!r} is not a building of {site.site.name}")
    try:
        category = System(system)
    except ValueError:
        category = None
    if category is None or category not in settings.request_systems:
        choices = ", ".join(s.value for s in settings.request_systems)
        raise RequestInvalid("system", f"{system!r} is not a repair category; choose one of {choices}")
    if urgency not in settings.request_severity:
        raise RequestInvalid("urgency", f"{urgency!r} is not an urgency; choose urgent or normal")
    if not location.strip():
        raise RequestInvalid("location", "say where (floor, room)")
    if not description.strip():
        raise RequestInvalid("description", "say what is wrong")
    if len(location) > 200:
        raise RequestInvalid("location", "at most 200 characters")
    if len(description) > 2000:
        raise RequestInvalid("description", "at most 2000 characters")
    vendor = site.covering_vendor(building, category)
    if vendor is None:
        raise RequestInvalid("system", f"no vendor's contract covers {category.value} in building {building}; call the energy office")
    return open_order(
        site,
        source=WorkOrder.SOURCE_REQUEST,
        building=building,
        vendor=vendor,
        severity=settings.request_severity[urgency].value,
        kind=category.value,
        reported_at=at,
        onset_at=at,
        actor=actor,
        channel=channel,
        location=location.strip(),
        description=description.strip(),
        requester_id=actor.user_id if actor.role == Role.OCCUPANT else None,
        requester_contact=contact.strip()[:100],
        detail={"urgency": urgency},
    )


# -- acting ----------------------------------------------------------------------------------------


def act(
    site: Site,
    order_id: int,
    action: Action,
    actor: Actor,
    channel: Channel,
    at: datetime,
    *,
    note: str = "",
    photo: str = "",
    vendor: str | None = None,
    detail: dict[str, Any] | None = None,
) -> WorkOrder:
    """``actor`` takes ``action`` on an order at ``at``. Raises :class:`OrderNotFound`,
    :class:`~.lifecycle.TransitionRefused` or :class:`RequestInvalid`; changes nothing then."""
    with transaction.atomic():
        order = get_order(order_id, actor, for_update=True)
        _act_locked(site, order, action, actor, channel, at, note=note, photo=photo, vendor=vendor, detail=detail)
    return order


def _act_locked(
    site: Site,
    order: WorkOrder,
    action: Action,
    actor: Actor,
    channel: Channel,
    at: datetime,
    *,
    note: str = "",
    photo: str = "",
    vendor: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    if actor.role == Role.OCCUPANT and order.source != WorkOrder.SOURCE_REQUEST:
        raise TransitionRefused("an occupant acts only on repair requests")
    if action == Action.RETURN_VISIT:
        raise TransitionRefused("a return visit carries a rating: use return_visit")
    before = order.state
    after = next_state(State(before), action, actor.role)
    if action == Action.VERIFY and order.source == WorkOrder.SOURCE_FAULT and actor.role != Role.SYSTEM and order.fault_cleared_at is None:
        raise TransitionRefused("the data still show this fault: a fault order is verified when they recover")
    if at < order.reported_at:
        raise RequestInvalid("at", f"{at.isoformat()} is before the order was reported ({order.reported_at.isoformat()})")
    extra: dict[str, Any] = dict(detail or {})
    if action == Action.NOTE and not (note.strip() or photo.strip()):
        raise RequestInvalid("note", "a note needs text or a photo reference")
    if len(note) > 2000:
        raise RequestInvalid("note", "at most 2000 characters")
    if len(photo) > 500:
        raise RequestInvalid("photo", "a photo reference has at most 500 characters")
    if action == Action.ASSIGN:
        if not vendor or site.vendor(vendor) is None:
            raise RequestInvalid("vendor", f"{vendor!r} is not a vendor of the registry")
        extra.update({"from_vendor": order.vendor, "to_vendor": vendor})
        order.vendor = vendor
    order.state = after.value
    if action == Action.ACKNOWLEDGE:
        order.acknowledged_at = at
    elif action == Action.ARRIVE:
        order.on_site_at = at
    elif action == Action.RESOLVE:
        order.resolved_at = at
        if order.source == WorkOrder.SOURCE_REQUEST:
            order.restored_at = at
        elif order.fault_cleared_at is None:
            order.flagged = True  # the data still show the fault: resolved on paper only
            extra["fault_still_active"] = True
    elif action == Action.VERIFY:
        order.verified_at = at
        order.flagged = False
    elif action == Action.CLOSE:
        order.closed_at = at
    elif action == Action.REOPEN:
        if order.source == WorkOrder.SOURCE_FAULT:
            # an officer reopens a fault order: the vendor's clocks restart, the data's restore time stands
            kept = (order.fault_cleared_at, order.restored_at, order.restore_breached_at)
            _restart_clocks(order, at, onset_at=order.onset_at)
            order.fault_cleared_at, order.restored_at, order.restore_breached_at = kept
        else:
            _restart_clocks(order, at, onset_at=at)
    elif action == Action.CANCEL:
        order.closed_at = at
    if action in (Action.ACKNOWLEDGE, Action.ARRIVE, Action.RESOLVE, Action.VERIFY):
        extra.update(_sla_detail(order, site, at))
    order.save()
    _record_breaches(order, site, at)
    _record(order, action, actor, channel, at, before, note=note.strip(), photo=photo.strip(), detail=extra)
    if action == Action.RESOLVE and order.source == WorkOrder.SOURCE_FAULT and order.fault_cleared_at is not None:
        # the data showed recovery already: verified at once
        _verify_by_data(site, order, at)


def _restart_clocks(order: WorkOrder, reported_at: datetime, *, onset_at: datetime) -> None:
    order.reported_at = reported_at
    order.onset_at = onset_at
    for name in ("acknowledged_at", "on_site_at", "resolved_at", "restored_at", "verified_at", "closed_at"):
        setattr(order, name, None)
    order.onsite_breached_at = order.restore_breached_at = None
    order.fault_cleared_at = None
    order.flagged = False


def _mark_breach_fields(order: WorkOrder, site: Site, at: datetime, clocks: tuple[str, ...] = ("onsite", "restore")) -> list[str]:
    """Mark the limits of ``clocks`` passed by ``at`` (and not marked before); returns which ("onsite", "restore")."""
    clock = sla_clock(order, site)
    status = clock.status(at)
    marked = []
    if "onsite" in clocks and order.onsite_breached_at is None and status.onsite_breached:
        order.onsite_breached_at = clock.onsite_due
        marked.append("onsite")
    if "restore" in clocks and order.restore_breached_at is None and status.restore_breached:
        order.restore_breached_at = clock.restore_due
        marked.append("restore")
    return marked


def return_visit(site: Site, order_id: int, actor: Actor, channel: Channel, at: datetime, *, rating: int, comment: str = "") -> WorkOrder:
    """The requester's (or an officer's, from a phone call) rating of a completed repair, 1-5 (回访). A
    resolved repair request is verified by it."""
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise RequestInvalid("rating", f"{rating!r} is not a rating from 1 to 5")
    with transaction.atomic():
        order = get_order(order_id, actor, for_update=True)
        if order.source != WorkOrder.SOURCE_REQUEST:
            raise TransitionRefused("a return visit follows a repair request, not a fault order")
        if order.rating is not None:
            raise TransitionRefused(f"order {order.number} already has its return visit")
        next_state(State(order.state), Action.RETURN_VISIT, actor.role)
        order.rating = rating
        order.rating_comment = comment.strip()[:2000]
        order.save()
        _record(order, Action.RETURN_VISIT, actor, channel, at, order.state, note=order.rating_comment, detail={"rating": rating})
        if order.state == State.RESOLVED:
            _act_locked(site, order, Action.VERIFY, actor, channel, at, note="return visit")
    return order


# -- facmon's own moves: fault data and SLA clocks ---------------------------------------------------


def _verify_by_data(site: Site, order: WorkOrder, at: datetime) -> None:
    _act_locked(site, order, Action.VERIFY, SYSTEM, Channel.SYSTEM, at, note="the data show the fault cleared")


def fault_cleared(site: Site, order: WorkOrder, cleared_at: datetime) -> None:
    """The data show the order's current fault episode clear (call inside a transaction, order locked):
    service restored then; a resolved order is verified."""
    order.fault_cleared_at = cleared_at
    order.restored_at = cleared_at
    order.save()
    # the restore clock stops here; the on-site clock is the vendor's arrival, judged when it is recorded
    # or by mark_breaches once its limit passes (a backfilled history records arrivals after the clear)
    _record_breaches(order, site, cleared_at, clocks=("restore",))
    if order.state == State.RESOLVED:
        _verify_by_data(site, order, max(cleared_at, order.resolved_at or cleared_at))
    elif order.state in ACTIVE:
        _record(order, Action.NOTE, SYSTEM, Channel.SYSTEM, cleared_at, order.state, note="the data show the fault cleared")


def fault_reopened(site: Site, order: WorkOrder, reported_at: datetime, onset_at: datetime, detail: dict[str, Any]) -> None:
    """A repeat of the order's fault within the repeat window (order locked): the order reopens with new clocks."""
    before = order.state
    # what the previous episode left, should the data take this one back (withdraw_episode)
    previous = _snapshot(order, _EPISODE_FIELDS)
    if State(before) in (State.RESOLVED, State.VERIFIED, State.CLOSED):
        order.state = next_state(State(before), Action.REOPEN, Role.SYSTEM).value
    order.episodes += 1
    _restart_clocks(order, reported_at, onset_at=onset_at)
    order.fault_onset_at = onset_at
    order.save()
    _record(
        order, Action.REOPEN, SYSTEM, Channel.SYSTEM, reported_at, before, note="the fault came back", detail={**detail, "before": previous}
    )


def fault_returned(site: Site, order: WorkOrder, onset_at: datetime) -> None:
    """The fault came back while the order is still being worked (order locked): the service is not
    restored after all; the restore clock runs on from the first onset."""
    previous = _snapshot(order, _RETURN_FIELDS)
    order.fault_onset_at = onset_at
    order.fault_cleared_at = None
    order.restored_at = None
    order.save()
    _record(
        order,
        Action.NOTE,
        SYSTEM,
        Channel.SYSTEM,
        onset_at,
        order.state,
        note="the fault came back",
        detail={"onset": onset_at.isoformat(), "before": previous},
    )


# -- the data take an episode back -------------------------------------------------------------------
#
# ``facmon analyze`` rewrites a period when late readings arrive (a collector restarted, a spool drained):
# an episode the readings' delay alone made (a device "offline" while its readings were on their way) is
# deleted, and the order its first points opened would wait for a clear that never comes. The fault sync
# withdraws such an order's current episode (withdraw_episode) and, since the analysis deletes before it
# writes again, reinstates it when the same episode (same onset) is back in the data (reinstate_episode).
# Both are facmon's own moves (actor facmon, role system), recorded in the history like any other: an
# order an officer cancelled has no such event and stays cancelled whatever the data say.
#
# What the withdrawal undoes depends on how the episode came onto the order (the system event that set
# its ``fault_onset_at``): an order opened for it is cancelled; a repeat that reopened an order, or a
# return while it was worked, is undone, the order back as its previous episode left it (the ``before``
# recorded with that event). The withdrawal's event records what it changed (``restore``) and how it
# left the order (``after``): a reinstatement puts the fields back only while the order is still so.

WITHDRAWN_NOTE = "the data no longer show this fault (its readings arrived late and the analysis rewrote the period): withdrawn"
REINSTATED_NOTE = "the data show this fault again (the analysis rewrote the period): the withdrawal is undone"

# the fields a repeat's reopening sets (fault_reopened), and those a return sets (fault_returned; the restore
# breach because the return reopened its clock)
_EPISODE_FIELDS = (
    "state",
    "episodes",
    "flagged",
    "reported_at",
    "onset_at",
    "acknowledged_at",
    "on_site_at",
    "resolved_at",
    "restored_at",
    "verified_at",
    "closed_at",
    "fault_onset_at",
    "fault_cleared_at",
    "onsite_breached_at",
    "restore_breached_at",
)
_RETURN_FIELDS = ("fault_onset_at", "fault_cleared_at", "restored_at", "restore_breached_at")
_CANCEL_FIELDS = ("state", "closed_at")
_DATETIME_FIELDS = frozenset(name for name in _EPISODE_FIELDS if name.endswith("_at"))
# how an episode came onto its order: the action of the system event that set fault_onset_at
_HOW = {Action.OPEN.value: "opened", Action.REOPEN.value: "reopened", Action.NOTE.value: "returned"}


def _snapshot(order: WorkOrder, fields: tuple[str, ...]) -> dict[str, Any]:
    """The order's ``fields`` as JSON (datetimes in ISO 8601)."""
    values = {name: getattr(order, name) for name in fields}
    return {name: value.isoformat() if isinstance(value, datetime) else value for name, value in values.items()}


def _put_back(order: WorkOrder, snapshot: dict[str, Any]) -> None:
    for name, value in snapshot.items():
        setattr(order, name, datetime.fromisoformat(value) if name in _DATETIME_FIELDS and value is not None else value)


def _onset_of(event: Event) -> datetime | None:
    onset = event.detail.get("onset")
    try:
        return datetime.fromisoformat(onset) if isinstance(onset, str) else None
    except ValueError:
        return None


def _episode_event(order: WorkOrder) -> Event | None:
    """The system event that brought the order's current episode onto it (opened, reopened by a repeat,
    returned while worked); None when there is none (an order facmon did not open from the data)."""
    events = order.events.filter(role=Role.SYSTEM.value, action__in=list(_HOW)).order_by("-id")
    for event in events:
        if "withdrawn" in event.detail or "reinstated" in event.detail:
            continue
        if _onset_of(event) == order.fault_onset_at:
            return event
    return None


def is_withdrawn(order: WorkOrder) -> bool:
    """The order is cancelled because the data took its episode back (not by a person)."""
    if order.state != State.CANCELLED:
        return False
    cancel = order.events.filter(action=Action.CANCEL.value).order_by("-id").first()
    return cancel is not None and cancel.role == Role.SYSTEM.value and "withdrawn" in cancel.detail


def _as_withdrawn(order: WorkOrder) -> dict[str, Any]:
    """What a withdrawal left that a reinstatement checks is still so."""
    return {"state": order.state, "episodes": order.episodes, "fault_onset_at": _snapshot(order, ("fault_onset_at",))["fault_onset_at"]}


def withdraw_episode(site: Site, order: WorkOrder, at: datetime) -> bool:
    """The data no longer show the order's current fault episode (call inside a transaction, order locked,
    in a state where the vendor owes work): cancel the order opened for it, or undo the repeat or return
    that brought it onto an earlier order. False, and nothing changed, when the history does not tell how
    the episode came (an order from before this was recorded)."""
    onset = order.fault_onset_at
    source = _episode_event(order) if onset is not None else None
    if onset is None or source is None:
        log.warning("work order %s: the data no longer show its episode; its history does not say how it came: left as it is", order.number)
        return False
    how = _HOW[source.action]
    at = max(at, order.reported_at)
    before_state = order.state
    if how == "opened":
        restore = _snapshot(order, _CANCEL_FIELDS)
        order.state = State.CANCELLED.value
        order.closed_at = at
        action = Action.CANCEL
    else:
        previous = source.detail.get("before")
        if not isinstance(previous, dict):
            log.warning("work order %s: the data no longer show the episode that %s it; nothing kept to undo", order.number, how)
            return False
        restore = _snapshot(order, tuple(previous))
        _put_back(order, previous)
        action = Action.NOTE
    order.save()
    _record(
        order,
        action,
        SYSTEM,
        Channel.SYSTEM,
        at,
        before_state,
        note=WITHDRAWN_NOTE,
        detail={
            "withdrawn": how,
            "onset": onset.isoformat(),
            "onset_s": int(onset.timestamp()),
            "restore": restore,
            "after": _as_withdrawn(order),
        },
    )
    if order.state == State.RESOLVED and order.fault_cleared_at is not None:
        # resolved while the withdrawn return had it: the earlier episode had cleared, so verified by the data
        _verify_by_data(site, order, max(at, order.resolved_at or at))
    return True


def reinstate_episode(site: Site, building: str, kind: str, target: str, onset_at: datetime, at: datetime) -> WorkOrder | None:
    """The episode of (building, kind, target) with onset ``onset_at`` is in the data again after its
    withdrawal (call inside a transaction): put the order back as the withdrawal found it, locked, and
    return it; None when no withdrawal of it stands (the order moved on since, or there was none)."""
    withdrawal = (
        Event.objects.filter(
            role=Role.SYSTEM.value,
            detail__has_key="withdrawn",
            detail__onset_s=int(onset_at.timestamp()),
            order__source=WorkOrder.SOURCE_FAULT,
            order__building=building,
            order__kind=kind,
            order__target=target,
        )
        .order_by("-id")
        .first()
    )
    if withdrawal is None:
        return None
    order = WorkOrder.objects.select_for_update().get(pk=withdrawal.order_id)
    how = withdrawal.detail["withdrawn"]
    left = withdrawal.detail.get("after", {})
    now = _as_withdrawn(order)
    if how == "returned":
        # the vendor may have moved it on meanwhile: the return applies while the order is still worked
        still = State(order.state) in WORKING and all(now[k] == left.get(k) for k in ("episodes", "fault_onset_at"))
    else:
        still = now == left
    if not still:
        return None
    before_state = order.state
    _put_back(order, withdrawal.detail["restore"])
    order.save()
    _record(
        order,
        Action.REOPEN if how == "opened" else Action.NOTE,
        SYSTEM,
        Channel.SYSTEM,
        max(at, order.reported_at),
        before_state,
        note=REINSTATED_NOTE,
        detail={"reinstated": how, "onset": onset_at.isoformat(), "onset_s": int(onset_at.timestamp()), "withdrawal": withdrawal.pk},
    )
    return order


def mark_breaches(site: Site, now: datetime) -> list[tuple[str, str]]:
    """Mark every SLA limit that passed by ``now`` on an order still working (one ``breach`` event each,
    stamped when the limit passed). Returns (order number, "onsite" or "restore")."""
    marked: list[tuple[str, str]] = []
    candidates = WorkOrder.objects.filter(state__in=[s.value for s in ACTIVE]).values_list("pk", flat=True)
    for pk in candidates:
        try:
            with transaction.atomic():
                order = WorkOrder.objects.select_for_update().get(pk=pk)
                marked += [(order.number, which) for which in _record_breaches(order, site, now)]
        except LookupError as error:  # its vendor left the registry: the other orders' clocks still count
            log.warning("work order %s: SLA not checked: %s", pk, error)
    return marked


def _record_breaches(order: WorkOrder, site: Site, at: datetime, clocks: tuple[str, ...] = ("onsite", "restore")) -> list[str]:
    """Mark and record (one ``breach`` event each, stamped when the limit passed) the limits of ``clocks``
    passed by ``at``."""
    marked = _mark_breach_fields(order, site, at, clocks)
    if marked:
        order.save()
    for which in marked:
        due = order.onsite_breached_at if which == "onsite" else order.restore_breached_at
        assert due is not None
        limit = "onsite_min" if which == "onsite" else "restore_min"
        _record(order, Action.BREACH, SYSTEM, Channel.SYSTEM, due, order.state, detail={"breach": which, "limit": limit})
    return marked
