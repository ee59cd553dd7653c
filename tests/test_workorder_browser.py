"""The work-order pages on a phone: Debian's headless Chromium (chromium-driver), 390x844, against the
service on a free port. A vendor goes from a signed deep link to a resolved order, an occupant files a
repair request, a vendor cannot open another vendor's order, and the header's button switches the
language. The phone is a Chinese one (Accept-Language zh-CN), so pages start in Chinese, the service's
default language. Every step leaves a screenshot in screenshot_folder() for a person to look at.

Never downloads a browser or a driver: /usr/bin/chromium and /usr/bin/chromedriver (`make install`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from facmon.registry import Site, System
from facmon.schema.faults import FaultSeries, start_line
from facmon.store import InfluxStore
from tests.workorder_service import ACCOUNTS, WebService, screenshot_folder

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PHONE = (390, 844)  # CSS pixels of a current phone's screen
WAIT_S = 15

BUILDING = "341122A001"
CHILLER = FaultSeries(kind="equipment_fault_code", target="CH-1", severity="critical", vendor="hvac")


# -- the phone ----------------------------------------------------------------------------------------


@pytest.fixture
def phone(web: WebService) -> Iterator[WebDriver]:
    """A fresh headless Chromium with a phone's screen and a Chinese phone's language (no cookies).

    Takes ``web`` so that it quits before the service stops: waitress's loop runs while a connection is
    open, and the browser's keep-alive connections would hold the service's thread past its teardown."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: install Debian's chromium and chromium-driver (make install)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    # The phone's screen by device emulation: --window-size alone gives no narrower than 500 CSS pixels
    # (headless Chromium's smallest window), wider than any phone.
    width, height = PHONE
    options.add_experimental_option(
        "mobileEmulation", {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0, "touch": True}}
    )
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def shot(driver: WebDriver, name: str, *, phone_layout: bool = True) -> Path:
    """Save what the phone's screen shows now as screenshot_folder()/name (the visible part of the page);
    first check that the page is laid out for the phone (its viewport meta) and no wider than the screen."""
    if phone_layout:
        assert driver.execute_script("return [window.innerWidth, window.innerHeight]") == list(PHONE), name
        assert driver.execute_script("return document.documentElement.scrollWidth") <= PHONE[0], f"{name}: wider than the screen"
    path = screenshot_folder() / name
    assert driver.save_screenshot(str(path)), f"no screenshot {path}"
    assert path.stat().st_size > 0
    return path


def _gone(element: WebElement) -> bool:
    """True once ``element``'s document was replaced. Chromium answers for a node of a replaced document
    with a stale-element error or, now and then, "Node with given id does not belong to the document"."""
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as error:
        if "does not belong to the document" in str(error):
            return True
        raise
    return False


def click_and_load(driver: WebDriver, element: WebElement, until: Callable[[WebDriver], bool] | None = None) -> None:
    """Click something that loads a new page (a link, a form's button) and wait for that page, and for
    ``until`` on it. A form that redirects swaps the document twice; a look at the page between the two
    (a node of the first, gone) is retried, not taken for an answer."""
    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, WAIT_S).until(lambda _: _gone(page))
    WebDriverWait(driver, WAIT_S, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script("return document.readyState") == "complete" and (until is None or until(d))
    )


def switch_language(driver: WebDriver, language: str) -> None:
    """Press the header's language button and wait for the page in that language."""
    click_and_load(driver, language_button(driver, language), until=lambda d: page_language(d) == ("en" if language == "en" else "zh-hans"))


def sign_in(driver: WebDriver, username: str) -> None:
    """Fill the sign-in page the phone shows and submit it."""
    WebDriverWait(driver, WAIT_S).until(EC.presence_of_element_located((By.ID, "id_username")))
    driver.find_element(By.ID, "id_username").send_keys(username)
    driver.find_element(By.ID, "id_password").send_keys(ACCOUNTS[username][0])
    click_and_load(driver, driver.find_element(By.ID, "sign-in"))


def open_page(driver: WebDriver, url: str) -> None:
    driver.get(url)
    WebDriverWait(driver, WAIT_S).until(lambda d: d.execute_script("return document.readyState") == "complete")


def order_state(driver: WebDriver) -> str | None:
    return driver.find_element(By.ID, "order-state").get_attribute("data-state")


def action_buttons(driver: WebDriver) -> list[str]:
    return [b.get_attribute("id") or "" for b in driver.find_elements(By.CSS_SELECTOR, "button[id^='action-']")]


def language_button(driver: WebDriver, language: str) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, f"header button[name='language'][value='{language}']")


def page_language(driver: WebDriver) -> str | None:
    return driver.find_element(By.TAG_NAME, "html").get_attribute("lang")


# -- the data -----------------------------------------------------------------------------------------


def open_chiller_order(store: InfluxStore, site: Site):  # type: ignore[no-untyped-def]
    """The hvac vendor's order for chiller CH-1's fault code, raised 19 minutes ago and still active."""
    from facmon.workorders.fault_sync import sync_faults
    from facmon.workorders.models import WorkOrder

    onset = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    store.write([start_line(BUILDING, CHILLER, int(onset.timestamp()), 101, "fault code 101", raised_s=int(onset.timestamp()) + 60)])
    report = sync_faults(store, site, onset - timedelta(hours=1), datetime.now(UTC))
    assert len(report.opened) == 1
    order = WorkOrder.objects.get(source=WorkOrder.SOURCE_FAULT, building=BUILDING, kind=CHILLER.kind, target=CHILLER.target)
    assert (order.vendor, order.severity, order.state, order.fault_cleared_at) == ("hvac", "critical", "open", None)
    return order


# -- the specification --------------------------------------------------------------------------------


def test_a_vendor_opens_the_deep_link_on_a_phone_signs_in_and_works_the_order_to_resolved(
    phone: WebDriver, web: WebService, store: InfluxStore, example_site: Site
) -> None:
    from facmon.workorders.links import sign_order

    order = open_chiller_order(store, example_site)

    # The link from the alert message, opened before signing in: the order read-only, in Chinese.
    open_page(phone, f"{web.url}/l/{sign_order(order.pk, order.vendor)}/")
    shot(phone, "vendor-1-link.png")
    assert page_language(phone) == "zh-hans"
    assert phone.find_element(By.ID, "order-number").text == order.number
    assert order_state(phone) == "open"
    assert phone.find_element(By.ID, "order-state").text == "待接单"
    assert "设备故障码" in phone.page_source  # the fault kind's Chinese label
    assert "CH-1" in phone.page_source
    sign_in_to_act = phone.find_element(By.ID, "sign-in-to-act")
    assert sign_in_to_act.text == "登录后处理此工单"
    assert action_buttons(phone) == []
    assert phone.find_elements(By.ID, "share-link") == []

    # The button leads to the sign-in page, which leads back to the order, now with its buttons.
    click_and_load(phone, sign_in_to_act)
    assert phone.current_url.startswith(f"{web.url}/login/")
    shot(phone, "vendor-2-sign-in.png")
    sign_in(phone, "hvac-staff")
    assert phone.current_url == f"{web.url}/orders/{order.pk}/"
    assert phone.find_element(By.ID, "order-number").text == order.number
    assert order_state(phone) == "open"
    assert action_buttons(phone) == ["action-acknowledge", "action-note"]
    assert phone.find_element(By.ID, "action-acknowledge").text == "接单"
    shot(phone, "vendor-3-order.png")

    # 接单 → 到场 → 完工: each button moves the order on, the page and the database alike.
    steps = [("acknowledge", "acknowledged", "vendor-4-acknowledged.png"), ("arrive", "on_site", "vendor-5-on-site.png"),
             ("resolve", "resolved", "vendor-6-resolved.png")]  # fmt: skip
    for action, state, screenshot in steps:
        click_and_load(phone, phone.find_element(By.ID, f"action-{action}"))
        assert phone.current_url == f"{web.url}/orders/{order.pk}/"
        assert order_state(phone) == state
        shot(phone, screenshot)
        order.refresh_from_db()
        assert order.state == state
        latest = order.events.order_by("-at", "-id").first()
        assert latest is not None
        assert (latest.action, latest.to_state, latest.channel, latest.actor, latest.role) == (action, state, "web", "hvac-staff", "vendor")

    # Resolved on paper while the chiller still reports its fault code: flagged, not verified.
    assert (order.state, order.flagged, order.verified_at) == ("resolved", True, None)
    assert order.acknowledged_at <= order.on_site_at <= order.resolved_at
    assert phone.find_element(By.ID, "flagged").is_displayed()
    assert phone.find_element(By.ID, "flagged").text == "已标记完工，但数据仍显示故障：数据恢复正常前不予验证。"
    assert action_buttons(phone) == ["action-note"]  # a vendor cannot verify: the data (or an officer) do
    history = [(e.action, e.channel, e.actor) for e in order.events.all()]
    assert history == [
        ("open", "system", "facmon"),
        ("acknowledge", "web", "hvac-staff"),
        ("arrive", "web", "hvac-staff"),
        ("resolve", "web", "hvac-staff"),
    ]
    assert len(phone.find_elements(By.CSS_SELECTOR, "#history tr")) == 4
    assert phone.find_element(By.ID, "history").text.count("hvac-staff · 网页") == 3
    phone.execute_script("document.getElementById('history').scrollIntoView()")
    shot(phone, "vendor-7-history.png")


def test_an_occupant_files_a_repair_request_that_goes_to_the_vendor_covering_the_system(
    phone: WebDriver, web: WebService, example_site: Site
) -> None:
    from django.contrib.auth.models import User

    from facmon.workorders.models import WorkOrder

    open_page(phone, f"{web.url}/requests/new/")
    assert phone.current_url.startswith(f"{web.url}/login/")
    sign_in(phone, "occupant")
    assert phone.current_url == f"{web.url}/requests/new/"
    building = Select(phone.find_element(By.ID, "id_building"))
    assert building.first_selected_option.get_attribute("value") == BUILDING  # the occupant's own building
    shot(phone, "occupant-1-form.png")

    Select(phone.find_element(By.ID, "id_system")).select_by_value("hvac")
    phone.find_element(By.ID, "id_location").send_keys("3楼 302室")
    phone.find_element(By.ID, "id_description").send_keys("空调不制冷，室温30度")
    Select(phone.find_element(By.ID, "id_urgency")).select_by_value("urgent")
    phone.find_element(By.ID, "id_contact").send_keys("8302")
    shot(phone, "occupant-2-filled.png")
    click_and_load(phone, phone.find_element(By.ID, "submit-request"))

    match = re.fullmatch(re.escape(web.url) + r"/orders/(\d+)/", phone.current_url)
    assert match, phone.current_url
    number = phone.find_element(By.ID, "order-number").text
    assert re.fullmatch(r"GD\d{6}", number)
    assert f"您的报修单号为 {number}。" in phone.find_element(By.CSS_SELECTOR, ".messages").text
    assert order_state(phone) == "open"
    assert "空调不制冷，室温30度" in phone.page_source
    shot(phone, "occupant-3-order.png")

    order = WorkOrder.objects.get(pk=int(match.group(1)))
    expected_vendor = example_site.covering_vendor(BUILDING, System.HVAC)
    assert expected_vendor == "hvac"  # examples/county-offices.yaml: coverage hvac → hvac
    assert order.number == number
    assert (order.source, order.building, order.kind, order.vendor) == ("request", BUILDING, "hvac", expected_vendor)
    assert order.severity == example_site.work_orders.request_severity["urgent"].value == "major"
    assert (order.location, order.description, order.requester_contact) == ("3楼 302室", "空调不制冷，室温30度", "8302")
    assert order.requester == User.objects.get(username="occupant")
    assert [(e.action, e.channel, e.actor, e.role) for e in order.events.all()] == [("open", "web", "occupant", "occupant")]


def test_a_vendor_gets_not_found_for_another_vendors_order(
    phone: WebDriver, web: WebService, store: InfluxStore, example_site: Site
) -> None:
    from facmon.workorders.links import sign_order

    order = open_chiller_order(store, example_site)
    open_page(phone, f"{web.url}/login/")
    sign_in(phone, "property-staff")
    assert phone.current_url == f"{web.url}/orders/"
    assert order.number not in phone.page_source  # not on the property vendor's board either

    for path in (f"/orders/{order.pk}/", f"/l/{sign_order(order.pk, order.vendor)}/"):
        open_page(phone, web.url + path)
        assert phone.find_element(By.ID, "message").text == "没有这个页面或工单，或您无权查看。", path
        assert phone.find_elements(By.ID, "order-number") == [], path
        assert order.number not in phone.page_source, path
        assert "CH-1" not in phone.page_source, path
    shot(phone, "other-vendor-404.png")

    # The status is 404 too (the same session, outside the browser), so nothing tells the order exists.
    with requests.Session() as session:
        for cookie in phone.get_cookies():
            session.cookies.set(cookie["name"], cookie["value"])
        assert session.get(f"{web.url}/orders/{order.pk}/", allow_redirects=False, timeout=10).status_code == 404
        assert session.get(f"{web.url}/orders/", allow_redirects=False, timeout=10).status_code == 200  # signed in all along


def test_the_english_button_switches_the_pages_to_english_and_back(
    phone: WebDriver, web: WebService, store: InfluxStore, example_site: Site
) -> None:
    order = open_chiller_order(store, example_site)
    open_page(phone, f"{web.url}/login/?next=/orders/{order.pk}/")
    sign_in(phone, "hvac-staff")
    assert phone.current_url == f"{web.url}/orders/{order.pk}/"
    assert page_language(phone) == "zh-hans"
    assert phone.find_element(By.ID, "action-acknowledge").text == "接单"
    shot(phone, "language-1-chinese.png")

    switch_language(phone, "en")
    assert phone.current_url == f"{web.url}/orders/{order.pk}/"  # back on the same page
    assert page_language(phone) == "en"
    assert phone.find_element(By.ID, "action-acknowledge").text == "Acknowledge"
    assert phone.find_element(By.ID, "order-state").text == "Open"
    assert "Equipment fault code" in phone.page_source
    assert [th.text for th in phone.find_elements(By.CSS_SELECTOR, "table th")][:2] == ["Building", "Device"]
    assert language_button(phone, "zh-hans").text == "中文"
    shot(phone, "language-2-english.png")

    # The choice sticks (a cookie) as the vendor moves on, and acting keeps it.
    click_and_load(phone, phone.find_element(By.ID, "action-acknowledge"))
    assert order_state(phone) == "acknowledged"
    assert phone.find_element(By.ID, "order-state").text == "Acknowledged"
    assert phone.find_element(By.ID, "action-arrive").text == "Arrived on site"

    switch_language(phone, "zh-hans")
    assert page_language(phone) == "zh-hans"
    assert phone.find_element(By.ID, "order-state").text == "已接单"
    assert phone.find_element(By.ID, "action-arrive").text == "到场"


def test_the_repair_request_form_follows_the_language_switch(phone: WebDriver, web: WebService) -> None:
    open_page(phone, f"{web.url}/requests/new/")
    sign_in(phone, "occupant")
    assert [label.text for label in phone.find_elements(By.CSS_SELECTOR, "#request-form label")][:2] == ["楼宇", "报修类别"]
    switch_language(phone, "en")
    assert page_language(phone) == "en"
    assert phone.find_element(By.ID, "submit-request").get_attribute("value") == "Submit"
    shot(phone, "language-3-request-form-english.png")
    labels = [label.text for label in phone.find_elements(By.CSS_SELECTOR, "#request-form label")]
    assert labels == ["Building", "Repair category", "Where (floor, room)", "Description", "Urgency", "Phone or extension"]
