"""Delivery of reports on a schedule (registry section ``report_delivery``, used by reports/delivery.py,
reports/schedule.py and `facmon report schedule|deliver|follow`): the mail server, the WeCom and DingTalk
robot addresses, how often a failed delivery is tried, and the schedules themselves.

No secret is ever written here. The SMTP password comes from ``FACMON_SMTP_PASSWORD`` (or the file named by
``FACMON_SMTP_PASSWORD_FILE``, or ``$CREDENTIALS_DIRECTORY/FACMON_SMTP_PASSWORD`` under systemd's
``LoadCredential=``); a robot's webhook key and a DingTalk signing secret the same way, from the variable
each group names."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from facmon.registry.common import Entry, Identifier

# The name of an environment variable (and of a systemd credential) holding a secret.
EnvName = Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]{0,63}$")]

WECOM_API = "https://qyapi.weixin.qq.com/cgi-bin/webhook"
DINGTALK_API = "https://oapi.dingtalk.com/robot/send"


class SmtpSecurity(StrEnum):
    STARTTLS = "starttls"  # plain connection upgraded by STARTTLS, usually port 587
    TLS = "tls"  # TLS from the first byte (SMTPS), usually port 465


class ReportKind(StrEnum):
    ENERGY = "energy"
    VENDORS = "vendors"
    STATISTICS = "statistics"


class DeliveryPeriod(StrEnum):
    LAST_MONTH = "last_month"
    LAST_QUARTER = "last_quarter"
    LAST_YEAR = "last_year"


# What each report can be made for and as (facmon report energy|vendors|statistics).
REPORT_PERIODS: dict[ReportKind, tuple[DeliveryPeriod, ...]] = {
    ReportKind.ENERGY: (DeliveryPeriod.LAST_MONTH, DeliveryPeriod.LAST_QUARTER, DeliveryPeriod.LAST_YEAR),
    ReportKind.VENDORS: (DeliveryPeriod.LAST_MONTH, DeliveryPeriod.LAST_QUARTER, DeliveryPeriod.LAST_YEAR),
    ReportKind.STATISTICS: (DeliveryPeriod.LAST_QUARTER, DeliveryPeriod.LAST_YEAR),
}
REPORT_FORMATS: dict[ReportKind, tuple[str, ...]] = {
    ReportKind.ENERGY: ("pdf", "html"),
    ReportKind.VENDORS: ("pdf", "html", "xlsx"),
    ReportKind.STATISTICS: ("xlsx", "pdf", "html"),
}

_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


def _check_address(address: str) -> str:
    if not _ADDRESS.match(address):
        raise ValueError(f"{address!r} is not an email address")
    return address


def _http_base(url: str, what: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{what} {url!r} must start with https:// (or http:// for a local test server)")
    return url.rstrip("/")


class SmtpServer(Entry):
    """The mail server reports are sent through, always over TLS with its certificate verified."""

    host: str = Field(min_length=1, description="host name of the SMTP server; the certificate must name it")
    port: int | None = Field(None, ge=1, le=65535, description="TCP port; default 587 for starttls, 465 for tls")
    security: SmtpSecurity = Field(SmtpSecurity.STARTTLS, description="starttls (upgrade a plain connection) or tls (SMTPS)")
    from_address: str = Field(description="the sender's address, e.g. jieneng@example.gov.cn")
    username: str | None = Field(
        None,
        description="login name, if the server wants one; the password comes from FACMON_SMTP_PASSWORD or FACMON_SMTP_PASSWORD_FILE, "
        "never from the registry",
    )
    ca_file: str | None = Field(None, description="CA certificate file to verify a server signed by a private CA; default: the system's")
    timeout_s: float = Field(60.0, gt=0, le=600, description="seconds to wait for the server at each step")

    @field_validator("from_address")
    @classmethod
    def _from(cls, address: str) -> str:
        return _check_address(address)

    @property
    def effective_port(self) -> int:
        """The configured port, else the usual one for the security mode."""
        if self.port is not None:
            return self.port
        return 587 if self.security is SmtpSecurity.STARTTLS else 465


class WeComGroup(Entry):
    """A WeCom (企业微信) group robot: the report is sent to the group as a file."""

    name: Identifier = Field(description="name of the group in logs and the delivery ledger, e.g. jieneng-gu")
    key_env: EnvName = Field(
        description="environment variable (or NAME_FILE, or systemd credential NAME) holding the key of the robot's webhook "
        "address (the key=... part); never the key itself"
    )


class DingTalkGroup(Entry):
    """A DingTalk (钉钉) custom robot: its webhook cannot carry files, so the group gets a link to the report
    published by `facmon serve`."""

    name: Identifier = Field(description="name of the group in logs and the delivery ledger")
    token_env: EnvName = Field(
        description="environment variable (or NAME_FILE, or systemd credential NAME) holding the robot's access_token; never the token"
    )
    secret_env: EnvName | None = Field(
        None, description="environment variable holding the robot's signing secret (加签, SEC...), if the robot signs; never the secret"
    )


class Schedule(Entry):
    """One report sent on a set day of the month, in the site's time zone."""

    id: Identifier = Field(description="name of the schedule: `facmon report deliver ID`, the ledger")
    report: ReportKind = Field(description="energy or vendors")
    period: DeliveryPeriod = Field(
        DeliveryPeriod.LAST_MONTH,
        description="last_month (sent every month), last_quarter (sent in January, April, July and October) or last_year (in January)",
    )
    day_of_month: int = Field(1, ge=1, le=28, description="day of the month it is sent on (1-28, so every month has it)")
    time: str = Field("08:00", description="local time it is sent at, HH:MM in site.timezone; quote it in YAML")
    format: Literal["pdf", "html", "xlsx"] = Field("pdf", description="pdf, html, or xlsx (the vendor report only)")
    lang: Literal["zh", "en"] = Field("zh", description="zh or en")
    email: list[str] = Field(default_factory=list, description="addresses the report is mailed to (needs report_delivery.smtp)")
    wecom: list[WeComGroup] = Field(default_factory=list, description="WeCom groups the report file is sent to")
    dingtalk: list[DingTalkGroup] = Field(default_factory=list, description="DingTalk groups sent a link to the published report")

    @field_validator("time", mode="before")
    @classmethod
    def _quoted_time(cls, value: Any) -> Any:
        # YAML 1.1 reads an unquoted 8:30 as the number 510 (base 60): refuse it instead of guessing
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValueError(f"write the time as a quoted string, e.g. '08:30' (YAML read {value} as a number)")
        return value

    @field_validator("time")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", value)
        if not match or int(match[1]) > 23 or int(match[2]) > 59:
            raise ValueError(f"time {value!r} must be HH:MM, e.g. '08:00'")
        return f"{int(match[1]):02d}:{match[2]}"

    @field_validator("email")
    @classmethod
    def _addresses(cls, addresses: list[str]) -> list[str]:
        for address in addresses:
            _check_address(address)
        return addresses

    @model_validator(mode="after")
    def _consistent(self) -> Schedule:
        if self.period not in REPORT_PERIODS[self.report]:
            allowed = ", ".join(p.value for p in REPORT_PERIODS[self.report])
            raise ValueError(f"schedule {self.id!r}: the {self.report.value} report is made for {allowed}, not {self.period.value}")
        if self.report == ReportKind.STATISTICS and self.lang != "zh":
            raise ValueError(f"schedule {self.id!r}: the statistics return is in Chinese, as the forms are (lang: zh)")
        if self.format not in REPORT_FORMATS[self.report]:
            allowed = ", ".join(REPORT_FORMATS[self.report])
            raise ValueError(f"schedule {self.id!r}: the {self.report.value} report is {allowed}, not {self.format}")
        if not (self.email or self.wecom or self.dingtalk):
            raise ValueError(f"schedule {self.id!r} sends to nobody: give it email, wecom or dingtalk")
        names = [g.name for g in self.wecom] + [g.name for g in self.dingtalk]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"schedule {self.id!r}: group name {', '.join(twice)} is used twice; the ledger tells groups apart by name")
        return self

    @property
    def local_time(self) -> dt.time:
        hour, minute = self.time.split(":")
        return dt.time(int(hour), int(minute))

    @property
    def channels(self) -> list[str]:
        """The names the ledger records deliveries under: ``email``, ``wecom:<name>``, ``dingtalk:<name>``."""
        return (["email"] if self.email else []) + [f"wecom:{g.name}" for g in self.wecom] + [f"dingtalk:{g.name}" for g in self.dingtalk]


class ReportDelivery(Entry):
    """Reports sent to officers on a set day: the servers, the retries, the schedules. Empty by default."""

    smtp: SmtpServer | None = Field(None, description="the mail server; needed when a schedule has email recipients")
    schedules: list[Schedule] = Field(default_factory=list, description="which report goes to whom, on which day and at what time")
    wecom_api: str = Field(WECOM_API, description="base address of WeCom's group-robot API (a test points it at a local server)")
    dingtalk_api: str = Field(DINGTALK_API, description="address of DingTalk's custom-robot send API (a test points it elsewhere)")
    timeout_s: float = Field(30.0, gt=0, le=600, description="seconds to wait for a WeCom or DingTalk answer")
    attempts: int = Field(3, ge=1, le=10, description="tries per channel before a delivery counts as failed")
    retry_delay_s: float = Field(30.0, ge=0, le=3600, description="wait before the second try; doubled before each further one")
    retry_failed_after_min: int = Field(
        60, ge=1, le=24 * 60, description="`facmon report follow` tries a failed delivery again after this many minutes"
    )
    catch_up_hours: int = Field(
        72,
        ge=1,  # 0 would never send: the follower wakes a little after the minute
        le=24 * 31,
        description="`facmon report follow` still sends a delivery missed while it was stopped up to this many hours late; "
        "older ones only by `facmon report deliver`",
    )

    @field_validator("wecom_api")
    @classmethod
    def _wecom(cls, url: str) -> str:
        return _http_base(url, "wecom_api")

    @field_validator("dingtalk_api")
    @classmethod
    def _dingtalk(cls, url: str) -> str:
        return _http_base(url, "dingtalk_api")

    @model_validator(mode="after")
    def _schedules(self) -> ReportDelivery:
        ids = [s.id for s in self.schedules]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"schedule id {', '.join(repr(i) for i in twice)} is used twice")
        mailing = [s.id for s in self.schedules if s.email]
        if mailing and self.smtp is None:
            raise ValueError(f"schedule {', '.join(repr(i) for i in mailing)} has email recipients but report_delivery has no smtp server")
        return self

    def schedule(self, schedule_id: str) -> Schedule | None:
        return next((s for s in self.schedules if s.id == schedule_id), None)
