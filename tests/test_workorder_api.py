"""The work-order JSON API over real HTTP: who sees what, which changes are allowed, what bad input
gets, signed links, and the limits on sign-ins and repair requests."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import requests
import time_machine

from facmon.registry import Site
from facmon.schema.faults import FaultSeries, start_line
from facmon.store import InfluxStore
from tests.workorder_service import ACCOUNTS, WebService

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def login(username: str) -> tuple[str, str]:
    return (username, ACCOUNTS[username][0])


def signed_in(web: WebService, username: str) -> requests.Session:
    """A browser-like session signed in through the sign-in page (session cookie and CSRF token)."""
    session = requests.Session()
    page = session.get(f"{web.url}/login/", timeout=10)
    done = session.post(
        f"{web.url}/login/",
        data={"username": username, "password": ACCOUNTS[username][0], "csrfmiddlewaretoken": page.cookies["csrftoken"]},
        headers={"Referer": f"{web.url}/login/"},
        timeout=10,
    )
    assert done.status_code == 200 and "sessionid" in session.cookies, done.text[:300]
    return session


def fault_orders(store: InfluxStore, site: Site) -> dict[str, int]:
    """A chiller fault for hvac and a leak for property; their order ids by vendor."""
    from facmon.workorders.fault_sync import sync_faults
    from facmon.workorders.models import WorkOrder

    store.write(
        [
            start_line(
                "341122A001",
                FaultSeries("equipment_fault_code", "CH-1", "critical", "hvac"),
                int(T0.timestamp()),
                101,
                "code 101",
                int(T0.timestamp()),
            ),
            start_line(
                "341122A003",
                FaultSeries("water_leak", "W-TOILET", "major", "property"),
                int(T0.timestamp()),
                0.8,
                "leak",
                int(T0.timestamp()),
            ),
        ]
    )
    sync_faults(store, site, T0 - timedelta(days=1), T0 + timedelta(minutes=5))
    return {o.vendor: o.pk for o in WorkOrder.objects.all()}


def test_a_vendor_sees_and_changes_only_its_own_orders(web: WebService, store: InfluxStore, example_site: Site) -> None:
    ids = fault_orders(store, example_site)
    mine = requests.get(f"{web.url}/api/orders", auth=login("hvac-staff"), timeout=10)
    assert mine.status_code == 200
    assert [o["vendor"] for o in mine.json()] == ["hvac"]
    other = ids["property"]
    assert requests.get(f"{web.url}/api/orders/{other}", auth=login("hvac-staff"), timeout=10).status_code == 404
    hit = requests.post(f"{web.url}/api/orders/{other}/actions", json={"action": "acknowledge"}, auth=login("hvac-staff"), timeout=10)
    assert hit.status_code == 404
    assert (
        requests.get(f"{web.url}/orders/{other}/", auth=login("hvac-staff"), allow_redirects=False, timeout=10).status_code == 302
    )  # pages: sign-in first
    session = signed_in(web, "hvac-staff")
    assert session.get(f"{web.url}/orders/{ids['hvac']}/", timeout=10).status_code == 200
    assert session.get(f"{web.url}/orders/{other}/", timeout=10).status_code == 404
    # the officer sees both
    assert len(requests.get(f"{web.url}/api/orders", auth=login("officer"), timeout=10).json()) == 2


def test_actions_follow_the_lifecycle_and_the_role(web: WebService, store: InfluxStore, example_site: Site) -> None:
    order = fault_orders(store, example_site)["hvac"]
    url = f"{web.url}/api/orders/{order}/actions"
    skipped = requests.post(url, json={"action": "resolve"}, auth=login("hvac-staff"), timeout=10)
    assert skipped.status_code == 409
    assert "cannot resolve an order that is open" in skipped.json()["detail"]
    assert requests.post(url, json={"action": "cancel"}, auth=login("hvac-staff"), timeout=10).status_code == 409
    done = requests.post(url, json={"action": "acknowledge", "note": "on my way"}, auth=login("hvac-staff"), timeout=10)
    assert done.status_code == 200
    body = done.json()
    assert body["state"] == "acknowledged"
    assert [(e["action"], e["actor"], e["channel"], e["note"]) for e in body["events"]][-1] == (
        "acknowledge",
        "hvac-staff",
        "api",
        "on my way",
    )
    assignment = requests.post(url, json={"action": "assign", "vendor": "property"}, auth=login("officer"), timeout=10)
    assert assignment.status_code == 200 and assignment.json()["vendor"] == "property"
    assert requests.get(f"{web.url}/api/orders/{order}", auth=login("hvac-staff"), timeout=10).status_code == 404


def test_bad_input_gets_a_4xx_that_names_the_field_never_a_500(web: WebService, store: InfluxStore, example_site: Site) -> None:
    order = fault_orders(store, example_site)["hvac"]
    cases = [
        ("post", f"/api/orders/{order}/actions", {"action": "explode"}, 422, "action"),
        ("post", f"/api/orders/{order}/actions", {"note": "x"}, 422, "action"),
        ("post", f"/api/orders/{order}/actions", "not json", 400, "body"),
        ("post", f"/api/orders/{order}/actions", {"action": "assign", "vendor": "nobody"}, 400, "vendor"),
        ("post", f"/api/orders/{order}/actions", {"action": "note"}, 400, "note"),
        ("post", "/api/orders/999999/actions", {"action": "acknowledge"}, 404, "999999"),
        ("get", "/api/orders/not-a-number", None, 422, "order_id"),
        ("get", "/api/orders?state=broken", None, 422, "state"),
        ("get", "/api/orders?limit=0", None, 400, "limit"),
        ("post", "/api/requests", {"building": "X", "system": "hvac", "location": "3F", "description": "hot"}, 400, "building"),
        ("post", "/api/requests", {"building": "341122A001", "system": "spaceship", "location": "3F", "description": "hot"}, 400, "system"),
        ("post", "/api/requests", {"building": "341122A001", "system": "hvac", "location": "", "description": "hot"}, 422, "location"),
        (
            "post",
            "/api/requests",
            {"building": "341122A001", "system": "hvac", "location": "3F", "description": "hot", "urgency": "now"},
            422,
            "urgency",
        ),
    ]
    for method, path, body, status, field in cases:
        if isinstance(body, str):
            answer = requests.request(
                method, web.url + path, data=body, headers={"Content-Type": "application/json"}, auth=login("officer"), timeout=10
            )
        else:
            answer = requests.request(method, web.url + path, json=body, auth=login("officer"), timeout=10)
        assert answer.status_code == status, (path, body, answer.status_code, answer.text)
        assert field in answer.text, (path, body, answer.text)
    assert requests.get(f"{web.url}/api/orders", timeout=10).status_code == 401
    assert requests.get(f"{web.url}/api/orders", auth=("officer", "wrong"), timeout=10).status_code == 401


def test_an_occupant_files_a_request_follows_it_and_rates_the_repair(web: WebService, example_site: Site) -> None:
    filed = requests.post(
        f"{web.url}/api/requests",
        json={
            "building": "341122A001",
            "system": "hvac",
            "location": "3F 302",
            "description": "空调不制冷",
            "urgency": "urgent",
            "contact": "8123",
        },
        auth=login("occupant"),
        timeout=10,
    )
    assert filed.status_code == 201, filed.text
    order = filed.json()
    from facmon.registry import System

    assert order["vendor"] == example_site.covering_vendor("341122A001", System.HVAC)
    assert order["severity"] == "major"
    assert [o["id"] for o in requests.get(f"{web.url}/api/orders", auth=login("occupant"), timeout=10).json()] == [order["id"]]
    assert requests.get(f"{web.url}/api/orders", auth=login("other-occupant"), timeout=10).json() == []
    staff = next(name for name, (_, role, vendor, _) in ACCOUNTS.items() if role == "vendor" and vendor == order["vendor"])
    for action in ("acknowledge", "arrive", "resolve"):
        step = requests.post(f"{web.url}/api/orders/{order['id']}/actions", json={"action": action}, auth=login(staff), timeout=10)
        assert step.status_code == 200, step.text
    early = requests.post(f"{web.url}/api/orders/{order['id']}/return-visit", json={"rating": 6}, auth=login("occupant"), timeout=10)
    assert early.status_code == 422 and "rating" in early.text
    rated = requests.post(
        f"{web.url}/api/orders/{order['id']}/return-visit", json={"rating": 4, "comment": "fixed"}, auth=login("occupant"), timeout=10
    )
    assert rated.status_code == 200
    assert (rated.json()["state"], rated.json()["rating"]) == ("verified", 4)
    again = requests.post(f"{web.url}/api/orders/{order['id']}/return-visit", json={"rating": 5}, auth=login("occupant"), timeout=10)
    assert again.status_code == 409


def test_signed_links_open_the_order_and_expired_or_tampered_ones_are_refused(
    web: WebService, store: InfluxStore, example_site: Site
) -> None:
    from facmon.workorders.links import sign_order

    order = fault_orders(store, example_site)["hvac"]
    link = requests.get(f"{web.url}/api/orders/{order}/link", auth=login("hvac-staff"), timeout=10).json()
    assert link["url"].startswith(example_site.work_orders.public_url + "/l/")
    token = link["url"].rsplit("/l/", 1)[1].strip("/")
    opened = requests.get(f"{web.url}/l/{token}/", timeout=10)
    assert opened.status_code == 200 and f"GD{order:06d}" in opened.text
    assert 'id="action-acknowledge"' not in opened.text  # acting needs a sign-in (link_actions is off)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert requests.get(f"{web.url}/l/{tampered}/", timeout=10).status_code == 403
    assert requests.get(f"{web.url}/l/{sign_order(order + 1, 'hvac')[:-2]}/", timeout=10).status_code == 403
    with time_machine.travel(datetime.now(UTC) - timedelta(hours=example_site.work_orders.link_ttl_hours + 1), tick=False):
        old = sign_order(order, "hvac")
    expired = requests.get(f"{web.url}/l/{old}/", timeout=10)
    assert expired.status_code == 403 and "expired" in expired.text.lower() or "过期" in expired.text
    posted = requests.post(f"{web.url}/orders/{order}/act/", data={"action": "acknowledge", "link_token": token}, timeout=10)
    assert posted.status_code == 403  # no CSRF cookie, no sign-in: nothing changes
    from facmon.workorders.models import WorkOrder

    assert WorkOrder.objects.get(pk=order).state == "open"


def test_sign_ins_are_limited_per_address(web: WebService, example_site: Site) -> None:
    limit = example_site.work_orders.logins_per_15min
    codes = [requests.get(f"{web.url}/api/orders", auth=("officer", f"guess-{n}"), timeout=10).status_code for n in range(limit + 3)]
    assert codes[:limit] == [401] * limit
    assert codes[limit:] == [429] * 3
    # the right password is refused too while the address is blocked
    assert requests.get(f"{web.url}/api/orders", auth=login("officer"), timeout=10).status_code == 429


def test_a_storm_of_repair_requests_is_limited_and_every_accepted_one_is_kept(web: WebService, example_site: Site) -> None:
    from facmon.workorders.models import Event, WorkOrder

    body = {"building": "341122A001", "system": "lighting", "location": "1F hall", "description": "lamp flickers"}
    session = signed_in(web, "occupant")  # one sign-in: a password hash per request would take the storm minutes
    headers = {"X-CSRFToken": session.cookies["csrftoken"], "Referer": f"{web.url}/"}
    codes = [session.post(f"{web.url}/api/requests", json=body, headers=headers, timeout=10).status_code for _ in range(1000)]
    accepted = codes.count(201)
    assert accepted == example_site.work_orders.requests_per_minute or accepted == 2 * example_site.work_orders.requests_per_minute
    assert set(codes) == {201, 429}
    assert WorkOrder.objects.filter(source="request").count() == accepted
    assert Event.objects.filter(action="open").count() == accepted


def test_the_openapi_document_describes_every_route_and_its_fields(web: WebService) -> None:
    document = requests.get(f"{web.url}/api/openapi.json", timeout=10).json()
    assert set(document["paths"]) == {
        "/api/orders",
        "/api/orders/{order_id}",
        "/api/orders/{order_id}/actions",
        "/api/orders/{order_id}/return-visit",
        "/api/orders/{order_id}/link",
        "/api/requests",
        "/api/assessments/{period}",
    }
    request = document["components"]["schemas"]["RepairRequestIn"]
    assert set(request["required"]) == {"building", "system", "location", "description"}
    assert "registry" in request["properties"]["building"]["description"]


def test_the_sign_in_page_is_limited_and_no_password_reaches_the_log(web: WebService, example_site: Site, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    caplog.set_level(logging.DEBUG)
    session = requests.Session()
    token = session.get(f"{web.url}/login/", timeout=10).cookies["csrftoken"]
    codes = []
    for n in range(example_site.work_orders.logins_per_15min + 2):
        answer = session.post(
            f"{web.url}/login/",
            data={"username": "officer", "password": f"secret-guess-{n}", "csrfmiddlewaretoken": token},
            headers={"Referer": f"{web.url}/login/"},
            timeout=10,
        )
        codes.append(answer.status_code)
    assert codes[: example_site.work_orders.logins_per_15min] == [200] * example_site.work_orders.logins_per_15min  # the form again
    assert codes[-1] == 429
    requests.get(f"{web.url}/api/orders", auth=("officer", "another-secret"), timeout=10)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "secret-guess" not in logged and "another-secret" not in logged


def test_link_actions_when_the_site_allows_them(web: WebService, store: InfluxStore, example_site: Site, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """With work_orders.link_actions the link itself acknowledges (recorded with channel link); without, it
    only shows the order."""
    from facmon.workorders import pages
    from facmon.workorders.links import sign_order
    from facmon.workorders.models import WorkOrder

    order = fault_orders(store, example_site)["hvac"]
    allowing = example_site.model_copy(update={"work_orders": example_site.work_orders.model_copy(update={"link_actions": True})})
    monkeypatch.setattr(pages, "current_site", lambda: allowing)
    token = sign_order(order, "hvac")
    phone = requests.Session()
    page = phone.get(f"{web.url}/l/{token}/", timeout=10)
    assert 'id="action-acknowledge"' in page.text
    done = phone.post(
        f"{web.url}/orders/{order}/act/",
        data={"action": "acknowledge", "link_token": token, "csrfmiddlewaretoken": phone.cookies["csrftoken"]},
        headers={"Referer": f"{web.url}/l/{token}/"},
        timeout=10,
    )
    assert done.status_code == 200
    event = WorkOrder.objects.get(pk=order).events.get(action="acknowledge")
    assert (event.channel, event.role, event.actor) == ("link", "vendor", "link:hvac")
    # a link for one order cannot act on another
    wrong = phone.post(
        f"{web.url}/orders/{order + 1}/act/",
        data={"action": "acknowledge", "link_token": token, "csrfmiddlewaretoken": phone.cookies["csrftoken"]},
        headers={"Referer": f"{web.url}/l/{token}/"},
        timeout=10,
    )
    assert wrong.status_code == 403


def test_links_are_for_officers_and_the_vendor_and_end_when_the_order_changes_hands(
    web: WebService, store: InfluxStore, example_site: Site
) -> None:
    from facmon.workorders.links import sign_order

    filed = requests.post(
        f"{web.url}/api/requests",
        json={"building": "341122A001", "system": "hvac", "location": "2F", "description": "too warm"},
        auth=login("occupant"),
        timeout=10,
    ).json()
    assert requests.get(f"{web.url}/api/orders/{filed['id']}/link", auth=login("occupant"), timeout=10).status_code == 403
    order = fault_orders(store, example_site)["hvac"]
    token = sign_order(order, "hvac")
    assert requests.get(f"{web.url}/l/{token}/", timeout=10).status_code == 200
    moved = requests.post(
        f"{web.url}/api/orders/{order}/actions", json={"action": "assign", "vendor": "property"}, auth=login("officer"), timeout=10
    )
    assert moved.status_code == 200
    assert requests.get(f"{web.url}/l/{token}/", timeout=10).status_code == 404  # hvac's link no longer opens property's order


def test_input_the_database_cannot_hold_gets_a_400_not_a_500(web: WebService, store: InfluxStore, example_site: Site) -> None:
    order = fault_orders(store, example_site)["hvac"]
    officer = login("officer")
    cases = [
        requests.get(f"{web.url}/api/orders?building=%00", auth=officer, timeout=10),
        requests.get(f"{web.url}/f/A%00/x/y/", auth=officer, timeout=10),
        requests.post(f"{web.url}/api/orders/{order}/actions", data='{"action": "note", "note": "a\\u0000b"}', auth=officer, timeout=10),
        requests.post(f"{web.url}/api/orders/{order}/actions", json={"action": "note", "photo": "p" * 501}, auth=officer, timeout=10),
    ]
    assert [c.status_code for c in cases] == [400, 400, 400, 422]
    assert "NUL" in cases[0].text and "photo" in cases[3].text
    session = signed_in(web, "hvac-staff")
    page = session.post(
        f"{web.url}/orders/{order}/act/",
        data={"action": "note", "photo": "p" * 600, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{web.url}/orders/{order}/"},
        timeout=10,
    )
    assert page.status_code == 200 and "at most 500 characters" in page.text


def test_sign_ins_count_failures_per_user_name_however_it_is_spelt(web: WebService, example_site: Site) -> None:
    limit = example_site.work_orders.logins_per_15min
    for _ in range(3):
        signed_in(web, "officer")  # successful sign-ins count for nothing
    spellings = ["officer", "officer ", "ｏｆｆｉｃｅｒ"]  # Django reads all three as one user name

    def basic(name: str, password: str) -> dict[str, str]:  # UTF-8, which requests' own auth cannot send
        return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}

    codes = [
        requests.get(f"{web.url}/api/orders", headers=basic(spellings[n % 3], f"wrong-{n}"), timeout=10).status_code
        for n in range(limit + 1)
    ]
    assert codes == [401] * limit + [429]
