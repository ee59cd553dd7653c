"""Grafana's files do not grow per building (issue 20): exported for a site of 5 buildings and for a
city of 1,000 or 10,000, ``alerting/rules.yaml`` and every dashboard are the same files (each dashboard
well under 200 KB); building names still reach the vendor's message (through the fault points' ``building_name``
tag) and the dashboards (through the ``site_building`` points the analysis writes), checked with the
rules' and the variable's InfluxQL on a real InfluxDB and the message expanded by Go's text/template."""

from __future__ import annotations

import copy
import json
import time
from datetime import UTC, datetime

import pytest
import yaml

from facmon.alerts.notifications import policy_tree
from facmon.alerts.routing import deliveries
from facmon.alerts.rules import fault_query, rule_uid
from facmon.analytics.fault_detection import series_tags
from facmon.analytics.reference import write_building_references
from facmon.dashboards.datasource import datasource_settings
from facmon.grafana.check import SampleAlert, check_files
from facmon.grafana.provisioning import provisioning_files
from facmon.registry import Site
from facmon.schema.faults import start_line
from facmon.settings import Endpoints
from facmon.store import InfluxStore
from tests.conftest import EXAMPLE_SITE
from tests.test_grafana import _variable, variable_options

ENDPOINTS = Endpoints(mqtt_host="127.0.0.1", mqtt_port=1883, influx_url="http://influxdb:8086", influx_database="facmon")
DASHBOARD_LIMIT = 200_000  # bytes
CITY = 1_000


def city_site(count: int) -> Site:
    """The example site grown to ``count`` buildings: its own five (A001–A005, which the rest of the
    registry names), then copies of them cycled, coded 341122A006 … A999, 341122B001 … H999, 341123A001 …, each named after
    its model with a number (e.g. 县委办公楼 17号)."""
    registry = yaml.safe_load(EXAMPLE_SITE.read_text(encoding="utf-8"))
    models = registry["buildings"]
    buildings = list(models[:count])
    for index in range(len(buildings), count):
        division, rest = divmod(index, 8 * 999)  # 8 type letters of 999 numbers per division code
        letter, number = divmod(rest, 999)
        building = copy.deepcopy(models[index % len(models)])
        building["code"] = f"{341122 + division}{'ABCDEFGH'[letter]}{number + 1:03d}"
        building["name"] = f"{building['name']} {index + 1}号"
        buildings.append(building)
    registry["buildings"] = buildings
    if count > 8 * 999:
        registry["site"]["division_code"] = "341100"  # the city: its counties' codes are the site's
    site = Site.model_validate(registry)
    assert site.reference_problems() == [] and len(site.buildings) == count
    return site


@pytest.fixture(scope="module")
def city() -> Site:
    return city_site(CITY)


def _export(site: Site) -> dict[str, str]:
    return provisioning_files(site, datasource_settings(ENDPOINTS, "1"), "zh")


@pytest.mark.parametrize("count", [CITY, 10_000])
def test_the_files_are_the_same_for_five_buildings_and_a_city(count: int) -> None:
    """Every provisioning file, rules.yaml first, is byte for byte the same at 5 buildings and at 1,000 or
    10,000 (nothing is written per building: the maintenance windows name only A003, one of the five);
    each dashboard < 200 KB; no building of the city, code or name, is written anywhere."""
    small, large = _export(city_site(5)), _export(big := city_site(count))
    assert large["alerting/rules.yaml"] == small["alerting/rules.yaml"]
    assert large == small
    for name, text in large.items():
        if name.endswith(".json"):
            assert len(text.encode("utf-8")) < DASHBOARD_LIMIT, name
    everything = "".join(large.values())
    assert not any(b.code in everything for b in big.buildings[5:])
    assert not any(b.name in everything for b in big.buildings)


def test_a_city_export_is_read_by_grafana_without_a_problem(city: Site) -> None:
    """The Go check (Grafana's parsers) reads the city's files as it reads the example's."""
    assert check_files(_export(city)).problems == []


def _labels_from_influxdb(store: InfluxStore, kind: str) -> list[dict[str, str]]:
    """The labels of the kind's alert instances: the tags of its rule's query as Grafana sends it."""
    return [series.get("tags", {}) for series in store.query(fault_query(kind))]


def test_a_city_buildings_name_reaches_the_vendors_message(city: Site, store: InfluxStore) -> None:
    """A fault in the 1,000th building, written as the analysis writes it (with the building's registry
    name as the building_name tag), comes back from the rule's query labelled with that name, and the
    message the vendor reads names the building."""
    building = city.buildings[-1]
    kind, target = "water_leak", next(m.id for m in building.meters if m.energy == "02")
    series = series_tags(city, building, kind, target)
    onset_s = int(time.time()) - 600
    store.write([start_line(building.code, series, onset_s, 0.8, "night flow 0.8 m³/h", raised_s=onset_s)])
    (labels,) = _labels_from_influxdb(store, kind)
    assert labels["building"] == building.code and labels["building_name"] == building.name
    receiver = deliveries(policy_tree(city), labels)[-1].receiver
    sample = SampleAlert(rule_uid(kind), receiver, labels, datetime.fromtimestamp(onset_s, UTC), None)
    report = check_files(_export(city), [sample])
    assert report.problems == []
    (message,) = report.messages
    assert f"{building.name}：疑似漏水（{target}）" in message.message
    assert f"var-building={building.code}" in message.message


def test_a_city_dashboard_lists_every_building_by_name(city: Site, store: InfluxStore) -> None:
    """After the analysis wrote the city's site_building points, $building's query answers all 1,000
    buildings, each shown as "<name> (<code>)" with its code as the value, in code order."""
    from facmon.dashboards.catalog import build_dashboards

    write_building_references(store, city, city.buildings, 1_780_000_000)
    variable = _variable(build_dashboards(city, "zh")["facmon-building"], "building")
    options = variable_options(variable, store)
    assert options == [(f"{b.name} ({b.code})", b.code) for b in sorted(city.buildings, key=lambda b: b.code)]
    assert len(json.dumps(variable, ensure_ascii=False)) < 1_000
