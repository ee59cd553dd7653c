"""The site registry: the example validates, and every broken file is refused with a message that
names the file, the line, the entry and the field, and says what was expected."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from facmon.registry import SiteFileError, load_site, parse_site
from facmon.schema import device_tags

VALID = """\
site:
  name: 测试县机关
  timezone: Asia/Shanghai
  division_code: '320125'
  climate_zone: hot_summer_cold_winter
vendors:
- id: prop
  name: 物业公司
  services: [cleaning, equipment_maintenance]
  contacts:
  - {kind: email, address: duty@prop.example}
  sla:
    critical: {onsite_min: 30, restore_min: 240}
    major: {onsite_min: 60, restore_min: 1440}
    minor: {onsite_min: 240, restore_min: 4320}
- id: lift
  name: 电梯公司
  services: [elevator_maintenance]
  contacts:
  - {kind: webhook, url: 'https://hooks.lift.example/facmon'}
  sla:
    critical: {onsite_min: 30, restore_min: 240}
    major: {onsite_min: 120, restore_min: 1440}
    minor: {onsite_min: 480, restore_min: 4320}
coverage:
- {vendor: prop, buildings: all, systems: [hvac, lighting, water_supply]}
- {vendor: lift, buildings: ['320125A001'], systems: [elevator]}
buildings:
- code: '320125A001'
  name: 综合办公楼
  floor_area_m2: 8000
  energy_users: 200
  office_class: B
  office_use: government
  working_hours: {start: 08:30, end: 17:30}
  meters:
  - {id: E-MAIN, energy: '01', subitem: '01000', unit: kWh, multiplier: 80, rated_power_kw: 600}
  - {id: E-LS-1F, energy: '01', subitem: '01A10', unit: kWh, rated_power_kw: 40}
  - {id: W-MAIN, energy: '02', subitem: '02000', unit: m3}
  ieq_sensors:
  - {id: IEQ-1F, zone: 1F, quantities: [temperature, co2]}
  equipment:
  - {id: EL-1, type: elevator}
  - {id: AHU-1, type: ahu, meter: E-LS-1F}
"""


def refused(text: str) -> list[str]:
    with pytest.raises(SiteFileError) as caught:
        parse_site(text, Path("site.yaml"))
    return caught.value.problems


def line_of(text: str, fragment: str) -> int:
    """1-based number of the first line containing ``fragment``."""
    for number, content in enumerate(text.splitlines(), start=1):
        if fragment in content:
            return number
    raise AssertionError(f"{fragment!r} not in text")


def test_the_example_site_is_valid_and_complete(example_site):
    assert example_site.site.climate_zone == "hot_summer_cold_winter"
    names = [b.name for b in example_site.buildings]
    assert names[:4] == ["县委办公楼", "县人大办公楼", "县政府办公楼", "县政协办公楼"]
    assert any(b.canteen for b in example_site.buildings)
    for building in example_site.buildings:
        assert 5000 <= building.floor_area_m2 <= 20000
        assert 15 <= len(building.meters) <= 30
        energies = {m.energy for m in building.meters}
        assert {"01", "02"} <= energies
        assert len(building.ieq_sensors) >= building.floors if building.floors > 2 else len(building.ieq_sensors) >= 1
        for equipment in building.equipment:
            assert example_site.equipment_vendor(building.code, equipment) is not None
    assert any(m.energy == "03" for b in example_site.buildings for m in b.meters), "gas is metered somewhere"
    assert all(len(b.weather_sensors) == 1 for b in example_site.buildings), "weather series for every building"
    types = {e.type.value for b in example_site.buildings for e in b.equipment}
    assert {"chiller", "ahu", "elevator", "pump"} <= types
    assert {v.id for v in example_site.vendors} == {"property", "hvac", "elevator"}


def test_a_valid_file_loads_with_times_and_resolved_vendors():
    site = parse_site(VALID, Path("site.yaml"))
    building = site.building("320125A001")
    assert building is not None
    # Unquoted 17:30 is a time, not YAML 1.1's base-60 integer 1050.
    assert building.working_hours.end == time(17, 30)
    assert site.equipment_vendor(building.code, building.device("EL-1")) == "lift"
    assert site.equipment_vendor(building.code, building.device("AHU-1")) == "prop"
    assert device_tags(site, building, building.device("EL-1"))["vendor"] == "lift"


@pytest.mark.parametrize(
    ("case", "old", "new", "expected"),
    [
        ("missing field", "  floor_area_m2: 8000\n", "", ["buildings[0] (320125A001) > floor_area_m2: is required but missing"]),
        (
            "typo in a field name",
            "energy_users: 200",
            "energy_user: 200",
            ["buildings[0] (320125A001) > energy_user: is not a known field (typo?)"],
        ),
        (
            "malformed building code",
            "code: '320125A001'",
            "code: '320125Z01'",
            ["must be 6 digits of the division code + type letter A-H + 3 digits"],
        ),
        ("unquoted energy code", "energy: '02'", "energy: 02", ["meters[2] (W-MAIN) > energy: write codes as quoted strings"]),
        ("unknown energy category", "energy: '02'", "energy: '14'", ["meters[2] (W-MAIN): energy '14' is not a category code 01..13"]),
        (
            "sub-item of another category",
            "subitem: '02000', unit: m3}",
            "subitem: '01A10', unit: m3}",
            ["subitem '01A10' is not a sub-item of energy 02; expected one of 02000"],
        ),
        (
            "unit that does not fit the energy",
            "subitem: '02000', unit: m3",
            "subitem: '02000', unit: kWh",
            ["unit 'kWh' does not fit energy 02; expected 'm3'"],
        ),
        (
            "non-positive multiplier",
            "multiplier: 80",
            "multiplier: -80",
            ["meters[0] (E-MAIN) > multiplier: input should be greater than 0 (got -80)"],
        ),
        (
            "electricity meter without rated power",
            "unit: kWh, rated_power_kw: 40}",
            "unit: kWh}",
            ["rated_power_kw is required for electricity meters"],
        ),
        (
            "unknown climate zone",
            "climate_zone: hot_summer_cold_winter",
            "climate_zone: subtropical",
            [
                "site > climate_zone: input should be 'severe_cold_cold', 'hot_summer_cold_winter', 'hot_summer_warm_winter' or 'mild' "
                "(got 'subtropical')"
            ],
        ),
        ("unknown timezone", "timezone: Asia/Shanghai", "timezone: Asia/Beijing", ["timezone 'Asia/Beijing' is not an IANA time zone"]),
        (
            "working hours end before they start",
            "{start: 08:30, end: 17:30}",
            "{start: 18:00, end: 08:30}",
            ["start 18:00 must be before end 08:30"],
        ),
        (
            "SLA without every severity",
            "    minor: {onsite_min: 480, restore_min: 4320}\n",
            "",
            ["vendors[1] (lift) > sla: sla needs terms for every severity; missing minor"],
        ),
        (
            "email contact without an address",
            "{kind: email, address: duty@prop.example}",
            "{kind: email}",
            ["an email contact needs address"],
        ),
        ("equipment type unknown", "{id: EL-1, type: elevator}", "{id: EL-1, type: lift}", ["equipment[0] (EL-1) > type: input should be"]),
    ],
)
def test_a_broken_entry_is_refused_naming_line_entry_and_field(case, old, new, expected):
    assert old in VALID, case
    text = VALID.replace(old, new, 1)
    problems = refused(text)
    joined = "\n".join(problems)
    for fragment in expected:
        assert fragment in joined, f"{case}: {fragment!r} not in\n{joined}"
    assert all(p.startswith("site.yaml:") for p in problems)
    if new.strip():
        # The message points at the edited line.
        assert f"site.yaml:{line_of(text, new.strip().splitlines()[0])}:" in joined, f"{case}: wrong line in\n{joined}"


@pytest.mark.parametrize(
    ("case", "old", "new", "expected", "line_fragment"),
    [
        (
            "device id used twice in a building",
            "{id: W-MAIN,",
            "{id: E-MAIN,",
            "device id 'E-MAIN' is already used by meter in this building",
            "{id: E-MAIN, energy: '02'",
        ),
        (
            "equipment names an unknown vendor",
            "{id: EL-1, type: elevator}",
            "{id: EL-1, type: elevator, vendor: acme}",
            "vendor 'acme' is not in vendors",
            "vendor: acme",
        ),
        (
            "equipment links an unknown meter",
            "meter: E-LS-1F}",
            "meter: E-LS-9F}",
            "meter 'E-LS-9F' is not a meter of this building",
            "meter: E-LS-9F",
        ),
        (
            "no vendor maintains a system",
            "type: ahu,",
            "type: transformer,",
            "no vendor maintains system 'electrical' in building 320125A001",
            "type: transformer",
        ),
        (
            "two vendors claim one system",
            "systems: [elevator]",
            "systems: [elevator, hvac]",
            "system 'hvac' of building 320125A001 is already covered by vendor 'prop'",
            "systems: [elevator, hvac]",
        ),
        (
            "coverage names an unknown building",
            "buildings: ['320125A001']",
            "buildings: ['320125A009']",
            "building '320125A009' is not in buildings",
            "320125A009",
        ),
        (
            "building outside the site's division",
            "code: '320125A001'",
            "code: '320126A001'",
            "is not in the site's division '320125'",
            "code: '320126A001'",
        ),
    ],
)
def test_inconsistent_references_are_refused(case, old, new, expected, line_fragment):
    assert old in VALID, case
    text = VALID.replace(old, new, 1)
    joined = "\n".join(refused(text))
    assert expected in joined, f"{case}: {expected!r} not in\n{joined}"
    assert f"site.yaml:{line_of(text, line_fragment)}:" in joined, f"{case}: wrong line in\n{joined}"


def test_every_problem_is_reported_at_once():
    text = VALID.replace("multiplier: 80", "multiplier: 0").replace("energy_users: 200", "energy_users: -1")
    problems = refused(text)
    assert len(problems) == 2


def test_a_key_written_twice_is_refused():
    text = VALID.replace("  energy_users: 200\n", "  energy_users: 200\n  energy_users: 250\n")
    joined = "\n".join(refused(text))
    assert f"site.yaml:{line_of(text, 'energy_users: 250')}: key 'energy_users' appears twice" in joined


def test_yaml_syntax_errors_name_the_line():
    text = VALID.replace("  name: 综合办公楼\n", "  name: [综合办公楼\n")
    (problem,) = refused(text)
    assert problem.startswith("site.yaml:") and "not valid YAML" in problem


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(SiteFileError, match="nope.yaml: no such file"):
        load_site(tmp_path / "nope.yaml")


def test_a_file_that_is_not_a_mapping_is_refused():
    assert "expected a mapping" in refused("- just\n- a list\n")[0]


# -- device conventions (mqtt.decoders) and the plausibility window ---------------------------------

DECODERS = """\
mqtt:
  topic_prefix: facmon
  decoders:
  - format: shelly_gen2
    topic: 'shellies/320125A001/#'
    building: '320125A001'
    devices: {'shellyplus1pm-a8032ab1c2d3:switch:0': E-LS-1F}
  - format: tasmota
    topic: 'tele/+/SENSOR'
    building: '320125A001'
    devices: {tasmota_C59B5E: E-LS-2F}
"""
WITH_DECODERS = VALID.replace("vendors:\n", DECODERS + "vendors:\n", 1).replace(
    "  - {id: W-MAIN,", "  - {id: E-LS-2F, energy: '01', subitem: '01A10', unit: kWh, rated_power_kw: 40}\n  - {id: W-MAIN,", 1
)


def test_device_decoders_and_the_time_window_load():
    site = parse_site(WITH_DECODERS, Path("site.yaml"))
    shelly, tasmota = site.mqtt.decoders
    assert (shelly.format.value, shelly.topic, shelly.building) == ("shelly_gen2", "shellies/320125A001/#", "320125A001")
    assert tasmota.devices == {"tasmota_C59B5E": "E-LS-2F"}
    assert (site.collection.max_future_s, site.collection.max_age_days) == (600, 35.0)
    # Without the section nothing changes: facmon JSON on the prefix only.
    assert parse_site(VALID, Path("site.yaml")).mqtt.decoders == []


@pytest.mark.parametrize(
    ("case", "old", "new", "expected"),
    [
        (
            "unknown format",
            "format: tasmota",
            "format: zigbee2mqtt",
            "format: input should be 'shelly_gen2' or 'tasmota' (got 'zigbee2mqtt')",
        ),
        ("'#' not last", "topic: 'tele/+/SENSOR'", "topic: 'tele/#/SENSOR'", "'#' must be a whole level and the last one"),
        ("'+' inside a level", "topic: 'tele/+/SENSOR'", "topic: 'tele/plug+/SENSOR'", "'+' must be a whole level"),
        ("broker topic", "topic: 'tele/+/SENSOR'", "topic: '$share/g/tele/+/SENSOR'", "starts with '$'"),
        ("empty topic", "topic: 'tele/+/SENSOR'", "topic: ''", "an MQTT topic filter cannot be empty"),
        ("no devices", "devices: {tasmota_C59B5E: E-LS-2F}", "devices: {}", "devices: Dictionary should have at least 1 item"),
        (
            "device id that cannot be a tag",
            "devices: {tasmota_C59B5E: E-LS-2F}",
            "devices: {tasmota_C59B5E: 'E LS'}",
            "devices > tasmota_C59B5E: String should match pattern",
        ),
        (
            "unquoted building code",
            "building: '320125A001'\n    devices: {tasmota",
            "building: 320125\n    devices: {tasmota",
            "building: write codes as quoted strings",
        ),
    ],
)
def test_a_broken_decoder_entry_is_refused_naming_its_line(case, old, new, expected):
    assert old in WITH_DECODERS, case
    text = WITH_DECODERS.replace(old, new, 1)
    joined = "\n".join(refused(text))
    assert expected in joined, f"{case}: {expected!r} not in\n{joined}"
    assert f"site.yaml:{line_of(text, new.strip().splitlines()[0])}:" in joined, f"{case}: wrong line in\n{joined}"


@pytest.mark.parametrize(
    ("case", "old", "new", "expected", "line_fragment"),
    [
        (
            "unknown building",
            "building: '320125A001'\n    devices: {tasmota",
            "building: '320125A009'\n    devices: {tasmota",
            "mqtt > decoders[1] (tele/+/SENSOR) > building: building '320125A009' is not in buildings",
            "320125A009",
        ),
        (
            "unknown meter",
            "tasmota_C59B5E: E-LS-2F",
            "tasmota_C59B5E: E-LS-9F",
            "meter 'E-LS-9F' is not a meter of building 320125A001",
            "E-LS-9F",
        ),
        (
            "not a meter",
            "tasmota_C59B5E: E-LS-2F",
            "tasmota_C59B5E: EL-1",
            "'EL-1' is not a meter of building 320125A001; tasmota devices feed electricity meters",
            "EL-1",
        ),
        (
            "water meter",
            "tasmota_C59B5E: E-LS-2F",
            "tasmota_C59B5E: W-MAIN",
            "meter 'W-MAIN' measures m3; tasmota devices report electricity in kWh",
            "W-MAIN",
        ),
        (
            "meter with a CT multiplier",
            "tasmota_C59B5E: E-LS-2F",
            "tasmota_C59B5E: E-MAIN",
            "meter 'E-MAIN' has multiplier 80; tasmota devices report energy already scaled, set multiplier: 1",
            "E-MAIN",
        ),
        (
            "two devices feed one meter",
            "tasmota_C59B5E: E-LS-2F",
            "tasmota_C59B5E: E-LS-1F",
            "meter 'E-LS-1F' of building 320125A001 is already fed by 'shellyplus1pm-a8032ab1c2d3:switch:0' (mqtt.decoders[0]); one "
            "device per meter",
            "tasmota_C59B5E: E-LS-1F",
        ),
        (
            "Shelly name without a component",
            "'shellyplus1pm-a8032ab1c2d3:switch:0'",
            "'shellyplus1pm-a8032ab1c2d3'",
            "'shellyplus1pm-a8032ab1c2d3' is not a shelly_gen2 device name; expected <device>:<component>:<id>",
            "'shellyplus1pm-a8032ab1c2d3'",
        ),
        (
            "Shelly energy counter instead of its meter",
            "'shellyplus1pm-a8032ab1c2d3:switch:0'",
            "'shellypro3em-c8f09e8a1b2c:emdata:0'",
            "is not a shelly_gen2 device name",
            "emdata:0",
        ),
        (
            "Tasmota channel 0",
            "tasmota_C59B5E: E-LS-2F",
            "'tasmota_C59B5E:0': E-LS-2F",
            "is not a tasmota device name; expected <device topic>",
            "tasmota_C59B5E:0",
        ),
        (
            "topic under facmon's prefix",
            "topic: 'tele/+/SENSOR'",
            "topic: 'facmon/tasmota/+/SENSOR'",
            "overlaps facmon/#, facmon's own JSON convention",
            "facmon/tasmota",
        ),
        (
            "topic overlapping another entry",
            "topic: 'tele/+/SENSOR'",
            "topic: '+/#'",
            "topic '+/#' overlaps mqtt.decoders[0] topic 'shellies/320125A001/#': a message could match both",
            "topic: '+/#'",
        ),
    ],
)
def test_inconsistent_decoder_entries_are_refused(case, old, new, expected, line_fragment):
    assert old in WITH_DECODERS, case
    text = WITH_DECODERS.replace(old, new, 1)
    joined = "\n".join(refused(text))
    assert expected in joined, f"{case}: {expected!r} not in\n{joined}"
    assert f"site.yaml:{line_of(text, line_fragment)}:" in joined, f"{case}: wrong line in\n{joined}"


def test_the_same_device_name_twice_in_one_entry_is_refused():
    text = WITH_DECODERS.replace("devices: {tasmota_C59B5E: E-LS-2F}", "devices: {tasmota_C59B5E: E-LS-2F, tasmota_C59B5E: E-LS-1F}")
    assert "key 'tasmota_C59B5E' appears twice" in "\n".join(refused(text))


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ("max_future_s: -1", "collection > max_future_s: input should be greater than or equal to 0 (got -1)"),
        ("max_age_days: 0", "collection > max_age_days: input should be greater than 0 (got 0)"),
    ],
)
def test_the_time_window_is_checked(fields, expected):
    text = VALID.replace("vendors:\n", f"collection: {{{fields}}}\nvendors:\n", 1)
    assert expected in "\n".join(refused(text))


@pytest.mark.parametrize(
    ("first", "second", "overlap"),
    [
        ("facmon/#", "facmon", True),  # '#' also matches the parent level
        ("tele/+/SENSOR", "tele/plug/SENSOR", True),
        ("tele/+/SENSOR", "tele/+/STATE", False),
        ("shellies/341122A002/#", "shellies/341122A004/#", False),
        ("+/#", "shellies/x", True),
        ("a/+", "a/b/c", False),
    ],
)
def test_topic_filter_overlap(first, second, overlap):
    from facmon.registry import filters_overlap

    assert filters_overlap(first, second) is overlap and filters_overlap(second, first) is overlap
