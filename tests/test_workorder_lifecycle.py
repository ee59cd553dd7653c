"""The life of a work order: which action moves which state, and who may take it."""

from __future__ import annotations

import pytest

from facmon.workorders.lifecycle import Action, Role, State, TransitionRefused, actions_for, next_state


def test_the_vendors_path_from_open_to_resolved() -> None:
    state = State.OPEN
    for action, expected in ((Action.ACKNOWLEDGE, State.ACKNOWLEDGED), (Action.ARRIVE, State.ON_SITE), (Action.RESOLVE, State.RESOLVED)):
        state = next_state(state, action, Role.VENDOR)
        assert state == expected


def test_only_data_officers_or_the_requester_verify_and_only_officers_close() -> None:
    assert next_state(State.RESOLVED, Action.VERIFY, Role.SYSTEM) == State.VERIFIED
    assert next_state(State.RESOLVED, Action.VERIFY, Role.OCCUPANT) == State.VERIFIED
    with pytest.raises(TransitionRefused, match="a vendor cannot verify"):
        next_state(State.RESOLVED, Action.VERIFY, Role.VENDOR)
    assert next_state(State.VERIFIED, Action.CLOSE, Role.OFFICER) == State.CLOSED
    with pytest.raises(TransitionRefused, match="a vendor cannot close"):
        next_state(State.VERIFIED, Action.CLOSE, Role.VENDOR)


def test_steps_cannot_be_skipped_or_repeated() -> None:
    with pytest.raises(TransitionRefused, match="cannot arrive an order that is open"):
        next_state(State.OPEN, Action.ARRIVE, Role.VENDOR)
    with pytest.raises(TransitionRefused, match="cannot resolve an order that is acknowledged"):
        next_state(State.ACKNOWLEDGED, Action.RESOLVE, Role.VENDOR)
    with pytest.raises(TransitionRefused, match="cannot acknowledge an order that is acknowledged"):
        next_state(State.ACKNOWLEDGED, Action.ACKNOWLEDGE, Role.VENDOR)


def test_a_reopened_order_is_worked_again_and_a_cancelled_one_is_final() -> None:
    assert next_state(State.CLOSED, Action.REOPEN, Role.SYSTEM) == State.REOPENED
    assert next_state(State.REOPENED, Action.ACKNOWLEDGE, Role.VENDOR) == State.ACKNOWLEDGED
    assert next_state(State.ON_SITE, Action.CANCEL, Role.OFFICER) == State.CANCELLED
    for action in Action:
        if action in (Action.OPEN, Action.NOTE, Action.RETURN_VISIT):
            continue
        with pytest.raises(TransitionRefused):
            next_state(State.CANCELLED, action, Role.OFFICER)


def test_vendors_cannot_cancel_assign_or_reopen() -> None:
    for action in (Action.CANCEL, Action.ASSIGN, Action.REOPEN):
        with pytest.raises(TransitionRefused, match="a vendor cannot"):
            next_state(State.OPEN if action != Action.REOPEN else State.CLOSED, action, Role.VENDOR)


def test_notes_and_assignments_keep_the_state() -> None:
    assert next_state(State.ON_SITE, Action.NOTE, Role.VENDOR) == State.ON_SITE
    assert next_state(State.ACKNOWLEDGED, Action.ASSIGN, Role.OFFICER) == State.ACKNOWLEDGED


def test_the_buttons_a_page_shows() -> None:
    assert actions_for(State.OPEN, Role.VENDOR) == [Action.ACKNOWLEDGE]
    assert actions_for(State.ON_SITE, Role.VENDOR) == [Action.RESOLVE]
    assert actions_for(State.OPEN, Role.OFFICER) == [Action.ACKNOWLEDGE, Action.CANCEL]
    assert actions_for(State.RESOLVED, Role.OCCUPANT) == [Action.VERIFY, Action.REOPEN]
    assert actions_for(State.CANCELLED, Role.OFFICER) == []
