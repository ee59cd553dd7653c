"""Sending a rendered report to officers: by email over TLS, to WeCom groups as a file, to DingTalk groups as a
link (issue 17, delivery on a schedule).

Every channel has one method, :meth:`Channel.send`, and :func:`deliver` wraps it with the retries: each try is
logged (logger ``facmon.reports.delivery``), a try that fails is repeated after a growing wait, and a channel
that keeps failing is logged at ERROR and returned as a failed :class:`DeliveryResult`, never dropped silently.
Secrets (the SMTP password, webhook keys, DingTalk's signing secret) come from the environment, from files it
names, or from systemd credentials, and are masked in every message this module logs or returns.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import mimetypes
import smtplib
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, quote_plus

import requests

from facmon.registry.report_delivery import DingTalkGroup, ReportDelivery, Schedule, SmtpSecurity, SmtpServer, WeComGroup
from facmon.settings import read_secret

log = logging.getLogger("facmon.reports.delivery")

SMTP_PASSWORD = "FACMON_SMTP_PASSWORD"
MIME_TYPES = {
    ".pdf": "application/pdf",
    ".html": "text/html",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# WeCom's group robot takes files of more than 5 bytes and at most 20 MB (upload_media, see WeComChannel).
WECOM_MAX_BYTES = 20 * 1024 * 1024

_WORDS = {
    "zh": {
        "subject": "【{site}】{title}（{period}）",
        "body": "您好：\n\n附件是{site}的{title}，统计期 {period}，由 facmon 按计划生成并发送。\n\n此邮件由系统自动发送，请勿直接回复。\n",
        "link": "下载报告",
        "intro": "{site}的{title}（{period}）已生成。",
    },
    "en": {
        "subject": "[{site}] {title} ({period})",
        "body": "Hello,\n\nattached is the {title} of {site} for {period}, made and sent by facmon on schedule.\n\n"
        "This message was sent automatically; please do not reply to it.\n",
        "link": "Download the report",
        "intro": "The {title} of {site} for {period} is ready.",
    },
}


class DeliveryError(Exception):
    """A try that failed; ``retry`` False when trying again cannot help (a missing secret, a file too large)."""

    def __init__(self, message: str, *, retry: bool = True):
        super().__init__(message)
        self.retry = retry


def _required(name: str, what: str) -> str:
    value = read_secret(name)
    if not value:
        raise DeliveryError(f"{what}: set {name} or {name}_FILE (or the systemd credential {name})", retry=False)
    return value


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret (and its URL-encoded form) replaced by ``***``."""
    for secret in secrets:
        if secret:
            for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
                text = text.replace(form, "***")
    return text


@dataclass(frozen=True)
class Report:
    """What is sent: the file, and the words that name it in the message."""

    file: Path
    site: str  # the site's name
    title: str  # the report's title, e.g. 公共机构能源消费报告
    period: str  # e.g. 2026-11
    lang: str = "zh"
    link: str | None = None  # where `facmon serve` publishes it (DingTalk needs it)

    def words(self, key: str) -> str:
        return _WORDS[self.lang if self.lang in _WORDS else "zh"][key].format(site=self.site, title=self.title, period=self.period)

    @property
    def mime_type(self) -> str:
        return MIME_TYPES.get(self.file.suffix.lower()) or mimetypes.guess_type(self.file.name)[0] or "application/octet-stream"


@dataclass(frozen=True)
class DeliveryResult:
    """The outcome of delivering one report to one channel."""

    channel: str
    ok: bool
    attempts: int
    detail: str  # what the channel answered, or why it failed (secrets masked)


class Channel(Protocol):
    """A way to a group of officers. ``send`` raises :class:`DeliveryError` when the try failed."""

    @property
    def name(self) -> str:
        """How logs and the ledger name the channel: ``email``, ``wecom:<group>``, ``dingtalk:<group>``."""
        ...

    def send(self, report: Report) -> str:
        """Deliver ``report`` once; returns a short note for the ledger (e.g. the recipients)."""
        ...


@dataclass
class EmailChannel:
    """The report as an attachment of a mail, over SMTPS or STARTTLS with the server's certificate verified."""

    server: SmtpServer
    recipients: list[str]
    name: str = "email"

    def send(self, report: Report) -> str:
        password = read_secret(SMTP_PASSWORD) if self.server.username else None
        if self.server.username and not password:
            _required(SMTP_PASSWORD, f"the SMTP login {self.server.username}")
        message = EmailMessage()
        message["Subject"] = report.words("subject")
        message["From"] = self.server.from_address
        message["To"] = ", ".join(self.recipients)
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain=self.server.from_address.rsplit("@", 1)[1])
        message.set_content(report.words("body"))
        maintype, subtype = report.mime_type.split("/", 1)
        message.add_attachment(report.file.read_bytes(), maintype=maintype, subtype=subtype, filename=report.file.name)
        try:
            context = ssl.create_default_context(cafile=self.server.ca_file)  # verifies the certificate and the host name
        except (OSError, ssl.SSLError) as exc:
            raise DeliveryError(f"the CA file {self.server.ca_file} cannot be used: {exc}", retry=False) from None
        host, port, timeout = self.server.host, self.server.effective_port, self.server.timeout_s
        try:
            if self.server.security is SmtpSecurity.TLS:
                client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
            else:
                client = smtplib.SMTP(host, port, timeout=timeout)
            with client:
                if self.server.security is SmtpSecurity.STARTTLS:
                    client.starttls(context=context)  # refuses a server without STARTTLS: never falls back to plain text
                    client.ehlo()
                if self.server.username:
                    client.login(self.server.username, password or "")
                refused = client.send_message(message, from_addr=self.server.from_address, to_addrs=self.recipients)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"{host}:{port} refused the login {self.server.username}: {exc.smtp_code}", retry=False) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{host}:{port}: {redact(str(exc), [password])}") from None
        if refused:
            return f"sent to {len(self.recipients) - len(refused)} of {len(self.recipients)}; refused {', '.join(sorted(refused))}"
        return f"sent to {', '.join(self.recipients)}"


def _json_answer(response: requests.Response, what: str) -> dict[str, Any]:
    """The JSON of a WeCom or DingTalk answer, which says ok with errcode 0 (HTTP 200 alone is not success)."""
    if response.status_code != 200:
        raise DeliveryError(f"{what}: HTTP {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        raise DeliveryError(f"{what}: the answer is not JSON") from None
    if not isinstance(answer, dict) or answer.get("errcode") != 0:
        errcode = answer.get("errcode") if isinstance(answer, dict) else None
        errmsg = str(answer.get("errmsg", ""))[:200] if isinstance(answer, dict) else ""
        raise DeliveryError(f"{what}: errcode {errcode} {errmsg}".rstrip())
    return answer


@dataclass
class WeComChannel:
    """A WeCom group robot: the file is uploaded, then sent to the group as a file message.

    The API, as WeCom documents it for group robots (developer.work.weixin.qq.com, 群机器人配置说明, and
    its 文件上传接口): ``POST <api>/upload_media?key=KEY&type=file``, multipart/form-data with the file in
    the part named ``media`` (with filename, filelength and content-type), answers
    ``{"errcode": 0, "errmsg": "ok", "type": "file", "media_id": ..., "created_at": ...}``; the media_id is
    valid for three days and only for the robot that uploaded it. Then ``POST <api>/send?key=KEY`` with
    ``{"msgtype": "file", "file": {"media_id": ...}}`` answers ``{"errcode": 0, "errmsg": "ok"}``."""

    group: WeComGroup
    api: str
    timeout_s: float
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def name(self) -> str:
        return f"wecom:{self.group.name}"

    def send(self, report: Report) -> str:
        key = _required(self.group.key_env, f"the webhook key of WeCom group {self.group.name}")
        data = report.file.read_bytes()
        if not 5 < len(data) <= WECOM_MAX_BYTES:
            raise DeliveryError(f"{report.file.name} has {len(data)} bytes; a WeCom robot sends files of 6 B to 20 MB", retry=False)
        try:
            uploaded = self.session.post(
                f"{self.api}/upload_media",
                params={"key": key, "type": "file"},
                files={"media": (report.file.name, data, report.mime_type, {"filelength": str(len(data))})},
                timeout=self.timeout_s,
            )
            media_id = _json_answer(uploaded, "upload_media").get("media_id")
            if not media_id:
                raise DeliveryError("upload_media: the answer has no media_id")
            sent = self.session.post(
                f"{self.api}/send", params={"key": key}, json={"msgtype": "file", "file": {"media_id": media_id}}, timeout=self.timeout_s
            )
            _json_answer(sent, "send")
        except requests.RequestException as exc:
            # requests puts the whole address, key included, into its messages
            raise DeliveryError(redact(f"{type(exc).__name__}: {exc}", [key])) from None
        except DeliveryError as exc:
            raise DeliveryError(redact(str(exc), [key]), retry=exc.retry) from None
        return f"file sent to WeCom group {self.group.name}"


def dingtalk_sign(timestamp_ms: int, secret: str) -> str:
    """DingTalk's signature of a custom robot's request (加签): HMAC-SHA256 keyed with the secret over
    ``"<timestamp ms>\\n<secret>"``, base64, then URL-encoded (open.dingtalk.com, 自定义机器人安全设置)."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


@dataclass
class DingTalkChannel:
    """A DingTalk custom robot. Its webhook sends no files, so the group gets a markdown message linking to the
    report published by `facmon serve`.

    The API, as DingTalk documents custom robots (open.dingtalk.com, 自定义机器人发送群消息 and 消息类型):
    ``POST <api>?access_token=TOKEN`` plus ``&timestamp=<ms>&sign=<sign>`` when the robot signs (the timestamp
    within an hour of DingTalk's clock), JSON ``{"msgtype": "markdown", "markdown": {"title": ..., "text": ...}}``,
    answered ``{"errcode": 0, "errmsg": "ok"}``; a robot sends at most 20 messages a minute."""

    group: DingTalkGroup
    api: str
    timeout_s: float
    clock_ms: Callable[[], int] = field(default=lambda: int(time.time() * 1000))
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def name(self) -> str:
        return f"dingtalk:{self.group.name}"

    def send(self, report: Report) -> str:
        token = _required(self.group.token_env, f"the access_token of DingTalk group {self.group.name}")
        secret = (
            _required(self.group.secret_env, f"the signing secret of DingTalk group {self.group.name}") if self.group.secret_env else None
        )
        if not report.link:
            raise DeliveryError("no link to the published report (DingTalk robots cannot send files)", retry=False)
        url = f"{self.api}?access_token={quote(token, safe='')}"
        if secret:
            timestamp = self.clock_ms()
            url += f"&timestamp={timestamp}&sign={dingtalk_sign(timestamp, secret)}"
        body = {
            "msgtype": "markdown",
            "markdown": {
                "title": report.words("subject"),
                "text": f"#### {report.words('intro')}\n\n[{report.words('link')}]({report.link})",
            },
        }
        try:
            _json_answer(self.session.post(url, json=body, timeout=self.timeout_s), "robot/send")
        except requests.RequestException as exc:
            raise DeliveryError(redact(f"{type(exc).__name__}: {exc}", [token, secret])) from None
        except DeliveryError as exc:
            raise DeliveryError(redact(str(exc), [token, secret]), retry=exc.retry) from None
        return f"link sent to DingTalk group {self.group.name}"


def channels(delivery: ReportDelivery, schedule: Schedule) -> list[Channel]:
    """The channels of a schedule, in the order of :attr:`Schedule.channels`. Secrets are read when sending."""
    found: list[Channel] = []
    if schedule.email:
        if delivery.smtp is None:  # the registry refuses this; kept for a Site built in code
            raise ValueError(f"schedule {schedule.id!r} has email recipients but report_delivery has no smtp server")
        found.append(EmailChannel(delivery.smtp, list(schedule.email)))
    found += [WeComChannel(group, delivery.wecom_api, delivery.timeout_s) for group in schedule.wecom]
    found += [DingTalkChannel(group, delivery.dingtalk_api, delivery.timeout_s) for group in schedule.dingtalk]
    return found


def deliver(
    report: Report, channel: Channel, *, attempts: int = 3, delay_s: float = 30.0, sleep: Callable[[float], object] = time.sleep
) -> DeliveryResult:
    """Send ``report`` through ``channel``, trying up to ``attempts`` times with waits of ``delay_s``, doubled
    after each failure. Every try is logged; the final failure at ERROR. Never raises for a failed delivery."""
    wait = delay_s
    for attempt in range(1, attempts + 1):
        try:
            detail = channel.send(report)
        except DeliveryError as exc:
            last = str(exc)
            if not exc.retry or attempt == attempts:
                log.error(
                    "%s: %s %s not delivered after %d of %d tries: %s",
                    channel.name,
                    report.file.name,
                    report.period,
                    attempt,
                    attempts,
                    last,
                )
                return DeliveryResult(channel.name, False, attempt, last)
            log.warning("%s: try %d of %d failed: %s; next try in %gs", channel.name, attempt, attempts, last, wait)
            sleep(wait)
            wait *= 2
        except Exception as exc:  # a bug or an unforeseen error must not stop the other channels
            # its message may hold an address with a key in it: the type at ERROR, the traceback only at DEBUG
            log.error("%s: %s %s not delivered: unexpected %s", channel.name, report.file.name, report.period, type(exc).__name__)
            log.debug("%s: the unexpected error", channel.name, exc_info=True)
            return DeliveryResult(channel.name, False, attempt, f"unexpected {type(exc).__name__}")
        else:
            log.info("%s: %s %s delivered on try %d: %s", channel.name, report.file.name, report.period, attempt, detail)
            return DeliveryResult(channel.name, True, attempt, detail)
    raise AssertionError("attempts must be at least 1")
