"""The work-order service (registry section ``work_orders``, used by workorders/ and by the alert
messages that link to it): its public address, deep links, and how occupants' repair requests are
routed and limited. Everything optional: the defaults suit the local stack."""

from __future__ import annotations

from pydantic import Field, field_validator

from facmon.registry.buildings import System
from facmon.registry.common import Entry
from facmon.standards import Severity


def _default_request_systems() -> list[System]:
    return [s for s in System if s != System.IT]  # IT rooms have their own support desk


def _default_request_severity() -> dict[str, Severity]:
    return {"urgent": Severity.MAJOR, "normal": Severity.MINOR}


class WorkOrders(Entry):
    """How vendors, officers and occupants reach the work orders."""

    public_url: str = Field(
        "http://127.0.0.1:18000",
        description="address of `facmon serve` as phones reach it; alert messages and deep links point here",
    )
    link_ttl_hours: float = Field(72.0, gt=0, le=24 * 90, description="a signed deep link to an order expires after this many hours")
    link_actions: bool = Field(
        False,
        description="let a signed deep link act on its order without signing in (risk: anyone holding the link "
        "acknowledges, arrives and resolves in the vendor's name until it expires; README, Work orders)",
    )
    request_systems: list[System] = Field(
        default_factory=_default_request_systems,
        description="categories occupants choose from in a repair request; coverage maps each to its vendor",
    )
    request_severity: dict[str, Severity] = Field(
        default_factory=_default_request_severity,
        description="urgency an occupant chooses (urgent, normal) -> the severity whose SLA terms apply",
    )
    requests_per_minute: int = Field(
        30, ge=1, description="repair requests one client (address or login) may submit per minute; more get HTTP 429"
    )
    logins_per_15min: int = Field(10, ge=1, description="sign-in attempts per address and per user name in 15 minutes; more get HTTP 429")

    @field_validator("public_url")
    @classmethod
    def _http(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"public_url {url!r} must start with http:// or https://")
        return url.rstrip("/")

    @field_validator("request_severity")
    @classmethod
    def _urgencies(cls, mapping: dict[str, Severity]) -> dict[str, Severity]:
        missing = sorted({"urgent", "normal"} - set(mapping))
        if missing:
            raise ValueError(f"request_severity needs urgent and normal; missing {', '.join(missing)}")
        return mapping
