"""Signed, expiring deep links to one work order, for a vendor's phone (WeCom, DingTalk, SMS).

A link carries the order id signed with the service's secret key (Django's TimestampSigner,
HMAC-SHA256) and expires after the registry's ``work_orders.link_ttl_hours``. It opens the order page
read-only; acting still needs the vendor signed in, unless the site sets ``work_orders.link_actions``
(README, Work orders, says what that risks). A changed, truncated or expired link is refused.
"""

from __future__ import annotations

from django.core import signing

SALT = "facmon.workorders.link"


class LinkRefused(Exception):
    """The link was tampered with, truncated, or has expired; the message says which."""


def sign_order(order_id: int) -> str:
    """The token of a deep link to order ``order_id``."""
    return signing.TimestampSigner(salt=SALT).sign(str(order_id))


def order_of(token: str, ttl_hours: float) -> int:
    """The order id a link's token names, if it is genuine and younger than ``ttl_hours``."""
    try:
        value = signing.TimestampSigner(salt=SALT).unsign(token, max_age=ttl_hours * 3600)
    except signing.SignatureExpired:
        raise LinkRefused("this link has expired; ask for a new one or sign in and open the order") from None
    except signing.BadSignature:
        raise LinkRefused("this link is not valid (changed or incomplete)") from None
    return int(value)
