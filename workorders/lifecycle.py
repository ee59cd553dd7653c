"""The life of a work order: states, the actions that move it and who may take each.

``open → acknowledged (接单) → on_site (到场) → resolved (完工) → verified → closed``, plus ``reopened``
(a repeat fault, a failed verification) and ``cancelled``. Modelled on the ack/clear/assign timestamps
of ThingsBoard's alarms and the states of field-service tools. Pure: no database, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    ON_SITE = "on_site"
    RESOLVED = "resolved"
    VERIFIED = "verified"
    CLOSED = "closed"
    REOPENED = "reopened"
    CANCELLED = "cancelled"


class Role(StrEnum):
    """Who acts: an officer of the energy office, a vendor's staff, an occupant, or facmon itself."""

    OFFICER = "officer"
    VENDOR = "vendor"
    OCCUPANT = "occupant"
    SYSTEM = "system"


class Action(StrEnum):
    OPEN = "open"
    ACKNOWLEDGE = "acknowledge"
    ARRIVE = "arrive"
    RESOLVE = "resolve"
    VERIFY = "verify"
    CLOSE = "close"
    REOPEN = "reopen"
    CANCEL = "cancel"
    ASSIGN = "assign"  # another vendor takes the order; the state stays
    NOTE = "note"  # a note or photo on the record; the state stays
    BREACH = "breach"  # an SLA deadline passed (facmon marks it as it happens); the state stays
    RETURN_VISIT = "return_visit"  # 回访: the requester's rating after completion; the state stays


class Channel(StrEnum):
    """Where an action came from."""

    WEB = "web"
    API = "api"
    LINK = "link"  # a signed deep link (only where the site allows link-only actions)
    SYSTEM = "system"  # facmon: fault data, SLA clocks


# States where the vendor still owes work: the order board's "open orders".
ACTIVE = frozenset({State.OPEN, State.REOPENED, State.ACKNOWLEDGED, State.ON_SITE, State.RESOLVED})
FINAL = frozenset({State.CLOSED, State.CANCELLED})


@dataclass(frozen=True)
class Move:
    """An action allowed from some states, to a state (None: the state stays), for some roles."""

    sources: frozenset[State]
    target: State | None
    roles: frozenset[Role]


_EVERY_STATE = frozenset(State)
# States before the vendor has finished: the fault returning keeps its order; cancel and assign apply.
WORKING = frozenset({State.OPEN, State.REOPENED, State.ACKNOWLEDGED, State.ON_SITE})

MOVES: dict[Action, Move] = {
    Action.ACKNOWLEDGE: Move(frozenset({State.OPEN, State.REOPENED}), State.ACKNOWLEDGED, frozenset({Role.VENDOR, Role.OFFICER})),
    Action.ARRIVE: Move(frozenset({State.ACKNOWLEDGED}), State.ON_SITE, frozenset({Role.VENDOR, Role.OFFICER})),
    Action.RESOLVE: Move(frozenset({State.ON_SITE}), State.RESOLVED, frozenset({Role.VENDOR, Role.OFFICER})),
    # A fault order is verified by the data (system); a repair request by its requester's return visit or an officer.
    Action.VERIFY: Move(frozenset({State.RESOLVED}), State.VERIFIED, frozenset({Role.SYSTEM, Role.OFFICER, Role.OCCUPANT})),
    Action.CLOSE: Move(frozenset({State.VERIFIED}), State.CLOSED, frozenset({Role.OFFICER, Role.SYSTEM})),
    Action.REOPEN: Move(
        frozenset({State.RESOLVED, State.VERIFIED, State.CLOSED}), State.REOPENED, frozenset({Role.SYSTEM, Role.OFFICER, Role.OCCUPANT})
    ),
    Action.CANCEL: Move(WORKING, State.CANCELLED, frozenset({Role.OFFICER, Role.OCCUPANT})),
    Action.ASSIGN: Move(WORKING, None, frozenset({Role.OFFICER})),
    Action.NOTE: Move(_EVERY_STATE, None, frozenset({Role.OFFICER, Role.VENDOR, Role.OCCUPANT, Role.SYSTEM})),
    Action.BREACH: Move(_EVERY_STATE - FINAL, None, frozenset({Role.SYSTEM})),
    Action.RETURN_VISIT: Move(frozenset({State.RESOLVED, State.VERIFIED, State.CLOSED}), None, frozenset({Role.OCCUPANT, Role.OFFICER})),
}


class TransitionRefused(Exception):
    """An action the order's state or the actor's role does not allow; the message says which."""


def next_state(state: State, action: Action, role: Role) -> State:
    """The state after ``role`` takes ``action`` on an order in ``state``; raises :class:`TransitionRefused`."""
    if action == Action.OPEN:
        raise TransitionRefused("an order is opened once, by a fault or a repair request")
    move = MOVES[action]
    if role not in move.roles:
        raise TransitionRefused(f"a {role.value} cannot {action.value} an order")
    if state not in move.sources:
        allowed = ", ".join(sorted(s.value for s in move.sources))
        raise TransitionRefused(f"cannot {action.value} an order that is {state.value} (only one that is {allowed})")
    return move.target or state


def actions_for(state: State, role: Role) -> list[Action]:
    """The state-changing actions ``role`` may take now, in lifecycle order (for the buttons of a page)."""
    order = [Action.ACKNOWLEDGE, Action.ARRIVE, Action.RESOLVE, Action.VERIFY, Action.CLOSE, Action.REOPEN, Action.CANCEL]
    return [a for a in order if role in MOVES[a].roles and state in MOVES[a].sources]
