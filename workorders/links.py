"""Signed, expiring deep links to one work order, for a vendor's phone (WeCom, DingTalk, SMS).

A link carries the order id and the vendor it was made for, signed with the service's secret key
(Django's TimestampSigner, HMAC-SHA256), and expires after the registry's ``work_orders.link_ttl_hours``.
It stops working once the order is handed to another vendor. It opens the order page
read-only; acting still needs the vendor signed in, unless the site sets ``work_orders.link_actions``
(README, Work orders, says what that risks). A changed, truncated or expired link is refused.
"""

from __future__ import annotations

from django.core import signing

SALT = "facmon.workorders.link"


class LinkRefused(Exception):
    """The link was tampered with, truncated, or has expired; the message says which."""


def sign_order(order_id: int, vendor: str) -> str:
    """The token of a deep link to order ``order_id`` for ``vendor`` (registry id)."""
    return signing.TimestampSigner(salt=SALT).sign(f"{order_id}:{vendor}")


def order_of(token: str, ttl_hours: float) -> tuple[int, str]:
    """(order id, vendor) a link's token names, if it is genuine and younger than ``ttl_hours``."""
    try:
        value = signing.TimestampSigner(salt=SALT).unsign(token, max_age=ttl_hours * 3600)
    except signing.SignatureExpired:
        raise LinkRefused("this link has expired; ask for a new one or sign in and open the order") from None
    except signing.BadSignature:
        raise LinkRefused("this link is not valid (changed or incomplete)") from None
    order_id, _, vendor = value.partition(":")
    return int(order_id), vendor
