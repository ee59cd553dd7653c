"""The assessment's pages on a phone (Debian's headless Chromium, as tests/test_workorder_browser.py): an
officer fills an inspection and sees what it cost the vendor on the assessment page, and an occupant
answers a survey from a link without signing in, once. Screenshots in screenshot_folder()."""

from __future__ import annotations

from datetime import date

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from facmon.registry import Site
from facmon.store import InfluxStore
from tests.test_vendor_assessment import measured, officer
from tests.test_workorder_browser import click_and_load, open_page, phone, shot, sign_in  # noqa: F401 - phone is a fixture
from tests.workorder_service import WebService


def test_an_officer_fills_an_inspection_on_a_phone_and_sees_what_it_cost_the_vendor(
    phone: WebDriver,  # noqa: F811
    web: WebService,
    store: InfluxStore,
) -> None:
    from facmon.workorders.models import Inspection
    from facmon.workorders.site_registry import use_store

    use_store(store)
    measured(store, "property", "2026-11", 80.0)
    open_page(phone, f"{web.url}/inspections/new/")
    sign_in(phone, "officer")
    assert phone.current_url == f"{web.url}/inspections/new/"
    shot(phone, "inspection-1-checklists.png")
    click_and_load(phone, phone.find_element(By.CSS_SELECTOR, "a.checklist[href='?checklist=cleaning']"))
    assert phone.find_element(By.TAG_NAME, "h2").text == "保洁服务检查表"
    Select(phone.find_element(By.ID, "id_vendor")).select_by_value("property")
    Select(phone.find_element(By.ID, "id_kind")).select_by_value("spot")
    phone.execute_script("document.getElementById('id_day').value = '2026-11-05'")
    toilets = phone.find_element(By.ID, "id_item_toilets")
    assert toilets.get_attribute("value") == "30.0"  # full points preset; the inspector marks down
    toilets.clear()
    toilets.send_keys("20")
    phone.find_element(By.ID, "id_note_toilets").send_keys("二楼卫生间有异味")
    shot(phone, "inspection-2-form.png")
    click_and_load(phone, phone.find_element(By.ID, "submit-inspection"))

    assert phone.current_url == f"{web.url}/assessment/2026-11/"
    inspection = Inspection.objects.get()
    assert (inspection.kind, inspection.day, inspection.inspector) == ("spot", date(2026, 11, 5), "officer")
    assert "已记录：90 / 100 分" in phone.page_source
    card = phone.find_element(By.ID, "vendor-property")
    assert card.find_element(By.CSS_SELECTOR, ".part-inspections td:nth-child(2)").text == "90.0"
    losses = card.find_element(By.CSS_SELECTOR, "table.losses").text
    assert "卫生间无异味，洁具清洁，耗材齐全" in losses and "二楼卫生间有异味" in losses
    # measured 80 × 0.40/0.65 + inspections 90 × 0.25/0.65 = 83.8; the 10 inspection points cost 3.85 combined
    assert card.find_element(By.CSS_SELECTOR, ".score").text == "83.8"
    assert "−3.85" in losses
    shot(phone, "inspection-3-assessment.png")


def test_an_occupant_answers_a_survey_from_a_link_without_signing_in_once(
    phone: WebDriver,  # noqa: F811
    web: WebService,
    example_site: Site,
) -> None:
    from facmon.workorders import surveys
    from facmon.workorders.models import SurveyResponse

    _, tokens = surveys.issue_survey(example_site, officer(), vendor="hvac", building="341122A001", period="2026-11", links=2)
    open_page(phone, f"{web.url}/s/{tokens[0]}/")
    assert "华通机电设备维保有限公司" in phone.page_source and "匿名" in phone.page_source
    shot(phone, "survey-1-questions.png")
    for question, value in (("overall", "4"), ("response", "3"), ("comfort", "2")):
        phone.find_element(By.CSS_SELECTOR, f"input[name='q_{question}'][value='{value}']").click()
    click_and_load(phone, phone.find_element(By.ID, "submit-survey"))
    assert "您的回答已匿名记录" in phone.page_source
    shot(phone, "survey-2-thanks.png")
    assert SurveyResponse.objects.get().answers == {"overall": 4, "response": 3, "comfort": 2}

    open_page(phone, f"{web.url}/s/{tokens[0]}/")
    assert "此测评链接不能使用" in phone.page_source
    shot(phone, "survey-3-used.png")
