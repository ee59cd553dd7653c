"""Which contact points a notification policy tree sends an alert to, walked as Alertmanager walks it.

Alertmanager (and Grafana's embedded one) matches an alert's labels against the root's children in
order; every matching child is walked in turn (depth first) and the walk stops at the first match
without ``continue``; a node none of whose children match handles the alert itself. A child
without a receiver inherits its parent's; mute timings are not inherited. Used by the tests to check
the tree facmon builds, and by anyone asking "who gets this fault?".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Delivery:
    """One policy node that handles an alert: its receiver and the mute timings on that node."""

    receiver: str
    mute_time_intervals: tuple[str, ...]
    # labels whose values make the notification group (inherited, as in Alertmanager); how, not who: left
    # out of comparisons
    group_by: tuple[str, ...] = field(default=(), compare=False)


def _matches(matcher: list[str], labels: dict[str, str]) -> bool:
    name, operator, value = matcher
    actual = labels.get(name, "")
    if operator == "=":
        return actual == value
    if operator == "!=":
        return actual != value
    if operator == "=~":
        return re.fullmatch(value, actual) is not None  # Alertmanager anchors regex matchers
    if operator == "!~":
        return re.fullmatch(value, actual) is None
    raise ValueError(f"unknown matcher operator {operator!r} in {matcher}")


def _walk(route: dict[str, Any], labels: dict[str, str], receiver: str, group_by: tuple[str, ...] = ()) -> list[Delivery]:
    receiver = route.get("receiver") or receiver
    group_by = tuple(route.get("group_by") or group_by)
    handled: list[Delivery] = []
    for child in route.get("routes") or []:
        if all(_matches(m, labels) for m in child.get("object_matchers") or []):
            handled += _walk(child, labels, receiver, group_by)
            if not child.get("continue", False):
                break
    if not handled:
        handled.append(Delivery(receiver, tuple(route.get("mute_time_intervals") or ()), group_by))
    return handled


def deliveries(tree: dict[str, Any], labels: dict[str, str]) -> list[Delivery]:
    """The policy nodes of ``tree`` (a ``Route`` body) that handle an alert with ``labels``, in order."""
    if not tree.get("receiver"):
        raise ValueError("the root of a notification policy tree needs a receiver")
    return _walk(tree, labels, tree["receiver"])


def notification_groups(tree: dict[str, Any], alerts: list[dict[str, str]]) -> set[tuple[str, tuple[str, ...]]]:
    """The notifications a set of firing alerts makes at once: one per receiver and group (the values of
    the handling node's ``group_by`` labels), as Alertmanager batches them."""
    return {
        (delivery.receiver, tuple(labels.get(name, "") for name in delivery.group_by))
        for labels in alerts
        for delivery in deliveries(tree, labels)
    }
