"""Reports delivered on a schedule: the registry section, due-ness and periods (pure, explicit datetimes), the
ledger, and the senders against real servers on loopback: an SMTP server with STARTTLS (aiosmtpd, certificate
of a CA made in the test), and an HTTP server standing for WeCom's and DingTalk's robot APIs that checks the
requests' shape and answers errors first, to prove the retries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import socket
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.parser import BytesParser
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from facmon.cli import report_schedule
from facmon.cli.report import Rendered
from facmon.registry import Site
from facmon.registry.loader import SiteFileError, parse_site
from facmon.registry.report_delivery import DeliveryPeriod, ReportDelivery, Schedule
from facmon.reports.delivery import Report, channels, deliver, dingtalk_sign
from facmon.reports.schedule import Ledger, covered_period, due, last_run, next_run, publish
from tests.conftest import EXAMPLE_SITE

SHANGHAI = ZoneInfo("Asia/Shanghai")
WECOM_KEY = "wecom-key-0f9c2d-SECRET"
BROKEN_KEY = "broken-key-77aa-SECRET"
DING_TOKEN = "ding-token-5e1b-SECRET"
DING_SECRET = "SEC0123456789abcdefSECRET"
SMTP_PASSWORD = "smtp-pass-31ab-SECRET"
REPORT_BYTES = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


def _site(delivery_yaml: str) -> Site:
    return parse_site(EXAMPLE_SITE.read_text(encoding="utf-8") + "\n" + delivery_yaml, EXAMPLE_SITE)


def _schedule(**fields: Any) -> Schedule:
    return Schedule(**{"id": "monthly", "report": "energy", "wecom": [{"name": "g", "key_env": "K"}], **fields})


# -- the registry section -------------------------------------------------------------------------------------


def test_the_example_site_has_no_schedules_and_a_full_section_validates(example_site: Site) -> None:
    assert example_site.report_delivery.schedules == []  # its example section is commented out: sending needs secrets
    site = _site(
        """
report_delivery:
  smtp: {host: mail.example.gov.cn, from_address: jieneng@example.gov.cn, username: jieneng}
  schedules:
    - {id: energy-monthly, report: energy, day_of_month: 3, time: '08:00', email: [a@example.gov.cn],
       wecom: [{name: jieneng-gu, key_env: FACMON_WECOM_JIENENG}],
       dingtalk: [{name: leaders, token_env: FACMON_DING_LEADERS, secret_env: FACMON_DING_LEADERS_SECRET}]}
    - {id: vendors-quarterly, report: vendors, period: last_quarter, format: xlsx, wecom: [{name: g, key_env: K}]}
"""
    )
    delivery = site.report_delivery
    assert [s.id for s in delivery.schedules] == ["energy-monthly", "vendors-quarterly"]
    assert delivery.smtp is not None and delivery.smtp.effective_port == 587
    assert delivery.schedules[0].channels == ["email", "wecom:jieneng-gu", "dingtalk:leaders"]
    assert delivery.wecom_api == "https://qyapi.weixin.qq.com/cgi-bin/webhook"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            "{id: bad-month, report: statistics, period: last_month, format: xlsx, wecom: [{name: g, key_env: K}]}",
            "schedules[0] (bad-month)",
        ),
        ("{id: bad-format, report: energy, format: xlsx, wecom: [{name: g, key_env: K}]}", "the energy report is pdf, html, not xlsx"),
        ("{id: nobody, report: vendors}", "schedule 'nobody' sends to nobody"),
        ("{id: day, report: vendors, day_of_month: 31, wecom: [{name: g, key_env: K}]}", "day_of_month"),
        ("{id: clock, report: vendors, time: '25:00', wecom: [{name: g, key_env: K}]}", "time '25:00' must be HH:MM"),
        ("{id: mail, report: vendors, email: [a@example.gov.cn]}", "has email recipients but report_delivery has no smtp server"),
        ("{id: key, report: vendors, wecom: [{name: g, key: abc}]}", "key_env: is required but missing"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_file_line_and_entry(entry: str, expected: str) -> None:
    with pytest.raises(SiteFileError) as refused:
        _site(f"report_delivery:\n  schedules:\n    - {entry}\n")
    message = str(refused.value)
    assert expected in message
    assert f"{EXAMPLE_SITE}:" in message and "report_delivery" in message


# -- when a schedule is due, and what it covers ------------------------------------------------------------------


def test_periods_covered_by_a_run() -> None:
    assert covered_period(DeliveryPeriod.LAST_MONTH, datetime(2026, 12, 3).date()) == "2026-11"
    assert covered_period(DeliveryPeriod.LAST_MONTH, datetime(2027, 1, 3).date()) == "2026-12"
    assert covered_period(DeliveryPeriod.LAST_QUARTER, datetime(2027, 1, 3).date()) == "2026-Q4"
    assert covered_period(DeliveryPeriod.LAST_QUARTER, datetime(2026, 4, 1).date()) == "2026-Q1"
    assert covered_period(DeliveryPeriod.LAST_QUARTER, datetime(2026, 10, 28).date()) == "2026-Q3"
    assert covered_period(DeliveryPeriod.LAST_YEAR, datetime(2027, 1, 3).date()) == "2026"


def test_a_monthly_schedule_is_due_at_its_minute_and_not_again_once_delivered() -> None:
    delivery = ReportDelivery(schedules=[_schedule(day_of_month=3, time="08:00")], catch_up_hours=72)
    at_eight = datetime(2026, 12, 3, 8, 0, tzinfo=SHANGHAI)
    # 07:59 on the 3rd: November's run has not come; October's (2026-11-03) is more than 72 h ago
    assert due(delivery, at_eight - timedelta(minutes=1), []) == []
    (item,) = due(delivery, at_eight, [])
    assert (item.schedule.id, item.period, item.run_at, item.channels) == ("monthly", "2026-11", at_eight, ("wecom:g",))
    ledger = [_entry("monthly", "2026-11", "wecom:g", True, at_eight)]
    assert due(delivery, at_eight + timedelta(minutes=1), ledger) == []
    assert due(delivery, at_eight + timedelta(days=2), ledger) == []
    # a follower started late still catches up within catch_up_hours, not after
    assert due(delivery, at_eight + timedelta(hours=71), [])[0].period == "2026-11"
    assert due(delivery, at_eight + timedelta(hours=73), []) == []
    assert next_run(delivery.schedules[0], at_eight) == datetime(2027, 1, 3, 8, 0, tzinfo=SHANGHAI)
    assert next_run(delivery.schedules[0], at_eight - timedelta(seconds=1)) == at_eight


def test_a_failed_channel_is_due_again_after_the_retry_wait_and_only_that_channel() -> None:
    schedule = _schedule(wecom=[{"name": "a", "key_env": "K"}, {"name": "b", "key_env": "K"}])
    delivery = ReportDelivery(schedules=[schedule], retry_failed_after_min=60)
    run = datetime(2026, 12, 1, 8, 0, tzinfo=SHANGHAI)
    ledger = [_entry("monthly", "2026-11", "wecom:a", True, run), _entry("monthly", "2026-11", "wecom:b", False, run)]
    assert due(delivery, run + timedelta(minutes=59), ledger) == []
    (item,) = due(delivery, run + timedelta(minutes=60), ledger)
    assert item.channels == ("wecom:b",)


def test_quarterly_and_yearly_schedules_run_only_after_their_period_ends() -> None:
    quarterly = _schedule(report="vendors", period="last_quarter", day_of_month=5, time="09:30")
    yearly = _schedule(id="yearly", report="vendors", period="last_year", day_of_month=10)
    now = datetime(2026, 12, 3, 8, 0, tzinfo=SHANGHAI)
    assert last_run(quarterly, now) == datetime(2026, 10, 5, 9, 30, tzinfo=SHANGHAI)
    assert next_run(quarterly, now) == datetime(2027, 1, 5, 9, 30, tzinfo=SHANGHAI)
    assert covered_period(quarterly.period, next_run(quarterly, now).date()) == "2026-Q4"
    assert last_run(quarterly, datetime(2027, 1, 5, 9, 29, tzinfo=SHANGHAI)) == datetime(2026, 10, 5, 9, 30, tzinfo=SHANGHAI)
    assert last_run(yearly, now) == datetime(2026, 1, 10, 8, 0, tzinfo=SHANGHAI)
    assert next_run(yearly, now) == datetime(2027, 1, 10, 8, 0, tzinfo=SHANGHAI)
    delivery = ReportDelivery(schedules=[quarterly, yearly])
    (item,) = due(delivery, datetime(2027, 1, 5, 9, 30, tzinfo=SHANGHAI), [])
    assert (item.schedule.id, item.period) == ("monthly", "2026-Q4")
    (item,) = due(delivery, datetime(2027, 1, 10, 8, 0, tzinfo=SHANGHAI), [_entry("monthly", "2026-Q4", "wecom:g", True, None)])
    assert (item.schedule.id, item.period) == ("yearly", "2026")


def _entry(schedule: str, period: str, channel: str, ok: bool, at: datetime | None) -> Any:
    from facmon.reports.schedule import LedgerEntry

    return LedgerEntry(schedule, period, channel, ok, 1, "", (at or datetime(2026, 1, 1, tzinfo=UTC)).astimezone(UTC).isoformat())


def test_the_ledger_survives_a_torn_last_line(tmp_path: Path) -> None:
    ledger = Ledger.under(tmp_path)
    ledger.record("monthly", "2026-11", "email", True, 1, "sent")
    with ledger.path.open("a") as stream:
        stream.write('{"schedule": "monthly", "per')  # a crash in the middle of a write
    assert [(e.schedule, e.channel, e.ok) for e in Ledger.under(tmp_path).entries()] == [("monthly", "email", True)]


# -- real servers on loopback ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it (openssl, EC keys: fast)."""
    folder = tmp_path_factory.mktemp("tls")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = lambda *args: subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=facmon test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (folder / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem",
        "-days", "2", "-extfile", "ext.cnf")  # fmt: skip
    return {"ca": folder / "ca.pem", "cert": folder / "server.pem", "key": folder / "server.key"}


class _Mailbox:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server(certificates: dict[str, Path]) -> Iterator[tuple[int, _Mailbox]]:
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates["cert"], certificates["key"])

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login == b"jieneng" and data.password == SMTP_PASSWORD.encode()
        return AuthResult(success=ok)

    mailbox = _Mailbox()
    port = _free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()


class _RobotApi(BaseHTTPRequestHandler):
    """Stands for WeCom's and DingTalk's robot APIs: checks each request, answers from a script per path."""

    script: dict[str, list[tuple[int, dict[str, Any]]]]
    seen: list[dict[str, Any]]
    problems: list[str]

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest's output clean
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's hook name)
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request: dict[str, Any] = {"path": url.path, "query": query}
        if url.path.endswith("/upload_media"):
            form = BytesParser(policy=email_policy).parsebytes(
                b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + body
            )
            parts = {part.get_param("name", header="content-disposition"): part for part in form.iter_parts()}
            media = parts.get("media")
            if query.get("type") != "file" or media is None:
                self.problems.append(f"upload without type=file or a media part: {query} {list(parts)}")
            else:
                request.update(filename=media.get_filename(), content_type=media.get_content_type(), data=media.get_payload(decode=True))
        else:
            request["json"] = json.loads(body)
            if self.headers.get_content_type() != "application/json":
                self.problems.append(f"{url.path}: content type {self.headers.get_content_type()}")
        if url.path.startswith("/dingtalk"):
            expected = base64.b64encode(
                hmac.new(DING_SECRET.encode(), f"{query.get('timestamp')}\n{DING_SECRET}".encode(), hashlib.sha256).digest()
            ).decode()
            if query.get("sign") != expected or query.get("access_token") != DING_TOKEN:
                self.problems.append(f"dingtalk: bad sign or token {query}")
        self.seen.append(request)
        key = f"{url.path}?{query.get('key', '')}"
        scripted = self.script.get(key)
        status, answer = scripted.pop(0) if scripted else (200, {"errcode": 0, "errmsg": "ok", "media_id": "M1"})
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def robot_api() -> Iterator[tuple[str, type[_RobotApi]]]:
    handler = type("Handler", (_RobotApi,), {"script": {}, "seen": [], "problems": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def _report(tmp_path: Path, link: str | None = "http://127.0.0.1:18000/r/TOKEN/energy-2026-11.pdf") -> Report:
    file = tmp_path / "energy-2026-11.pdf"
    file.write_bytes(REPORT_BYTES)
    return Report(file, "县机关办公区", "公共机构能源消费报告", "2026-11", "zh", link)


def test_email_arrives_over_starttls_with_the_report_attached(
    tmp_path: Path, smtp_server: tuple[int, _Mailbox], certificates: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, mailbox = smtp_server
    monkeypatch.setenv("FACMON_SMTP_PASSWORD", SMTP_PASSWORD)
    delivery = ReportDelivery(
        smtp={
            "host": "127.0.0.1",
            "port": port,
            "from_address": "jieneng@example.gov.cn",
            "username": "jieneng",
            "ca_file": str(certificates["ca"]),
        },
        schedules=[{"id": "monthly", "report": "energy", "email": ["a@example.gov.cn", "b@example.gov.cn"]}],
    )
    (channel,) = channels(delivery, delivery.schedules[0])
    result = deliver(_report(tmp_path), channel, attempts=1, delay_s=0)
    assert result.ok, result.detail
    (envelope,) = mailbox.envelopes
    assert sorted(envelope.rcpt_tos) == ["a@example.gov.cn", "b@example.gov.cn"]
    message = message_from_bytes(envelope.content, policy=email_policy)
    assert message["Subject"] == "【县机关办公区】公共机构能源消费报告（2026-11）"
    assert "县机关办公区的公共机构能源消费报告，统计期 2026-11" in message.get_body(("plain",)).get_content()
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "energy-2026-11.pdf"
    assert attachment.get_payload(decode=True) == REPORT_BYTES


def test_email_refuses_a_server_it_cannot_verify(
    tmp_path: Path, smtp_server: tuple[int, _Mailbox], caplog: pytest.LogCaptureFixture
) -> None:
    port, mailbox = smtp_server  # the system's CAs do not know the test CA
    delivery = ReportDelivery(
        smtp={"host": "127.0.0.1", "port": port, "from_address": "jieneng@example.gov.cn"},
        schedules=[{"id": "monthly", "report": "energy", "email": ["a@example.gov.cn"]}],
    )
    (channel,) = channels(delivery, delivery.schedules[0])
    with caplog.at_level(logging.INFO, logger="facmon.reports.delivery"):
        result = deliver(_report(tmp_path), channel, attempts=2, delay_s=0)
    assert not result.ok and result.attempts == 2 and "CERTIFICATE_VERIFY_FAILED" in result.detail
    assert mailbox.envelopes == []


def test_wecom_and_dingtalk_retry_then_deliver_and_a_failing_channel_is_logged_and_the_next_still_delivered(
    tmp_path: Path, robot_api: tuple[str, type[_RobotApi]], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    base, api = robot_api
    monkeypatch.setenv("FACMON_TEST_WECOM", WECOM_KEY)
    monkeypatch.setenv("FACMON_TEST_BROKEN", BROKEN_KEY)
    token_file = tmp_path / "ding-token"
    token_file.write_text(DING_TOKEN + "\n")
    monkeypatch.setenv("FACMON_TEST_DING_FILE", str(token_file))  # the *_FILE convention
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "FACMON_TEST_DING_SECRET").write_text(DING_SECRET)  # systemd's LoadCredential=
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    api.script[f"/wecom/upload_media?{WECOM_KEY}"] = [
        (500, {"error": "busy"}),
        (200, {"errcode": 0, "errmsg": "ok", "type": "file", "media_id": "M1"}),
    ]
    api.script[f"/wecom/send?{WECOM_KEY}"] = [(200, {"errcode": 93000, "errmsg": "invalid webhook url"})]
    api.script[f"/wecom/upload_media?{BROKEN_KEY}"] = [(500, {})] * 5
    api.script["/dingtalk/send?"] = [(200, {"errcode": 310000, "errmsg": "sign not match"})]
    site = _site(
        f"""
report_delivery:
  wecom_api: {base}/wecom
  dingtalk_api: {base}/dingtalk/send
  attempts: 3
  retry_delay_s: 0
  schedules:
    - id: monthly
      report: energy
      day_of_month: 3
      time: '08:00'
      wecom: [{{name: broken, key_env: FACMON_TEST_BROKEN}}, {{name: jieneng, key_env: FACMON_TEST_WECOM}}]
      dingtalk: [{{name: leaders, token_env: FACMON_TEST_DING, secret_env: FACMON_TEST_DING_SECRET}}]
"""
    )

    def render(kind: str, site: Site, period: str | None, fmt: str, lang: str, out: Path) -> Rendered:
        # the delivery, not the rendering, is under test here (tests/test_reports.py renders the real reports)
        assert (kind, period, fmt, lang) == ("energy", "2026-11", "pdf", "zh")
        out.write_bytes(REPORT_BYTES)
        return Rendered(out, "energy report 2026-11")

    monkeypatch.setattr(report_schedule, "render_report", render)
    home = tmp_path / "home"
    run = datetime(2026, 12, 3, 8, 0, tzinfo=SHANGHAI)
    with caplog.at_level(logging.INFO, logger="facmon.reports.delivery"):
        results = report_schedule.follow_once(site, run, home)

    assert api.problems == []
    assert [(r.channel, r.ok, r.attempts) for r in results] == [
        ("wecom:broken", False, 3),
        ("wecom:jieneng", True, 3),
        ("dingtalk:leaders", True, 2),
    ]
    uploads = [r for r in api.seen if r["path"] == "/wecom/upload_media" and r["query"]["key"] == WECOM_KEY]
    assert uploads[-1]["filename"] == "energy-2026-11.pdf" and uploads[-1]["data"] == REPORT_BYTES
    assert uploads[-1]["content_type"] == "application/pdf"
    sends = [r for r in api.seen if r["path"] == "/wecom/send"]
    assert sends[-1]["json"] == {"msgtype": "file", "file": {"media_id": "M1"}}
    (ding, _) = [r for r in api.seen if r["path"] == "/dingtalk/send"]
    assert ding["json"]["msgtype"] == "markdown"
    link = ding["json"]["markdown"]["text"].split("](")[1].rstrip(")")
    token, name = link.removeprefix("http://127.0.0.1:18000/r/").split("/")
    assert (home / "reports" / "published" / token / name).read_bytes() == REPORT_BYTES

    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 1 and "wecom:broken" in failures[0].getMessage() and "3 of 3 tries" in failures[0].getMessage()
    assert sum("try" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records) == 2 + 2 + 1
    ledger_text = (home / "reports" / "ledger.jsonl").read_text()
    for secret in (WECOM_KEY, BROKEN_KEY, DING_TOKEN, DING_SECRET):
        assert secret not in caplog.text and secret not in ledger_text
    entries = Ledger.under(home).entries()
    assert [(e.channel, e.ok) for e in entries] == [("wecom:broken", False), ("wecom:jieneng", True), ("dingtalk:leaders", True)]

    # restarted a minute later: nothing is sent again; an hour later only the failed group is tried again
    assert report_schedule.follow_once(site, run + timedelta(minutes=1), home) == []
    api.script[f"/wecom/upload_media?{BROKEN_KEY}"] = []
    assert report_schedule.follow_once(site, run + timedelta(minutes=59), home) == []
    retried = report_schedule.follow_once(site, run + timedelta(minutes=61), home)
    assert [(r.channel, r.ok) for r in retried] == [("wecom:broken", True)]


def test_a_dingtalk_signature_follows_the_documented_recipe() -> None:
    # timestamp + "\n" + secret, HMAC-SHA256 keyed with the secret, base64, URL-encoded
    expected = base64.b64encode(hmac.new(b"SECxyz", b"1700000000000\nSECxyz", hashlib.sha256).digest()).decode()
    assert dingtalk_sign(1700000000000, "SECxyz") == expected.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")


# -- the published files, served by `facmon serve` ------------------------------------------------------------


def test_a_published_report_is_served_by_its_token_and_nothing_else(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.conf import settings

    if not settings.configured:
        settings.configure(DEBUG=False, ALLOWED_HOSTS=["*"], DEFAULT_CHARSET="utf-8")
    from django.http import Http404
    from django.test import RequestFactory

    from facmon.workorders.published_reports import published_report

    monkeypatch.setenv("FACMON_HOME", str(tmp_path))
    source = tmp_path / "energy-2026-11.pdf"
    source.write_bytes(REPORT_BYTES)
    published = publish(source, tmp_path)
    (tmp_path / "secret.txt").write_text("not a report")
    request = RequestFactory().get(f"/r/{published.token}/energy-2026-11.pdf")
    response = published_report(request, published.token, "energy-2026-11.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == REPORT_BYTES
    response.close()
    other = "A" * 24
    for token, name in [
        (other, "energy-2026-11.pdf"),
        (published.token.swapcase(), "energy-2026-11.pdf"),
        (published.token, "ENERGY-2026-11.pdf"),
        (published.token, "../../secret.txt"),
        (published.token, ".."),
        ("..", "secret.txt"),
        (published.token[:-1], "energy-2026-11.pdf"),
    ]:
        with pytest.raises(Http404):
            published_report(request, token, name)
    assert published.url("http://127.0.0.1:18000/") == f"http://127.0.0.1:18000/r/{published.token}/energy-2026-11.pdf"
