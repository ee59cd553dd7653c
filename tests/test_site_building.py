"""The ``site_building`` measurement (facmon.schema.reference): the registry's facts per building, written
by `facmon analyze` so Grafana's dashboards show names and benchmarks without the files growing per
building; and the label the dashboards' $building variable splits into name and code."""

from __future__ import annotations

import re
from datetime import datetime

from facmon.analytics.analyze import analyze
from facmon.analytics.reference import building_reference, gbt51161_values
from facmon.registry import Site
from facmon.schema import SITE_BUILDING
from facmon.schema.reference import LABEL_VARIABLE_REGEX, building_label, building_reference_line, read_building_references
from facmon.standards import BUILDING_CODE
from facmon.store import InfluxStore

SINCE = datetime.fromisoformat("2026-03-01T00:00+08:00")
UNTIL = datetime.fromisoformat("2026-03-03T00:00+08:00")  # two local days: the points sit at 03-02 00:00 local


def _label_regex() -> re.Pattern[str]:
    """The variable regex as Python reads it (JavaScript's ``(?<name>`` is Python's ``(?P<name>``)."""
    return re.compile(LABEL_VARIABLE_REGEX[1:-1].replace("(?<", "(?P<"))


def test_the_label_splits_into_the_name_and_the_code_whatever_the_name() -> None:
    """ "<name> (<code>)" gives back the whole label as text and the code as value, for names holding
    parentheses, a code-like text or a newline (made one line); the code part is BUILDING_CODE's pattern."""
    regex = _label_regex()
    for name, code in (("县委办公楼", "341122A001"), ("综合楼(东) (旧 341122A002)", "341122B017"), ("二\n楼", "110101H999")):
        label = building_label(name, code)
        match = regex.search(label)
        assert match is not None and (match.group("text"), match.group("value")) == (label, code)
        assert "\n" not in label
    for code in ("341122A001", "110101H999", "341122I001", "34112A001", "341122a001", "341122A0011", "341122A01"):
        assert bool(regex.search(f"x ({code})")) == bool(BUILDING_CODE.match(code)), code


def test_the_reference_point_holds_the_registry_facts(example_site: Site) -> None:
    """An office carries its GB/T 51161 group and values (the registry's, else Table 5.2.1); the canteen none."""
    office, canteen = example_site.buildings[0], example_site.buildings[4]
    reference = building_reference(example_site, office)
    assert (reference.name, reference.floor_area_m2, reference.meters) == (office.name, office.floor_area_m2, len(office.meters))
    values = gbt51161_values(example_site, office)
    assert values is not None and values.group == f"{office.office_class.value}/{office.office_use.value}"
    line = building_reference_line(reference, 100)
    assert line.startswith(f"{SITE_BUILDING},building={office.code} ") and 'gbt51161_benchmark="B/government"' in line
    assert gbt51161_values(example_site, canteen) is None
    assert "gbt51161" not in building_reference_line(building_reference(example_site, canteen), 100)


def test_analyze_writes_one_point_per_building_and_a_rerun_overwrites_it(example_site: Site, store: InfluxStore) -> None:
    """`facmon analyze` (even over days without readings) writes each building's site_building point at the
    local midnight of the last day analysed; running it again writes the same points, no more."""
    for _ in range(2):
        analyze(example_site, store, SINCE, UNTIL)
    found = read_building_references(store)
    assert set(found) == {b.code for b in example_site.buildings}
    for building in example_site.buildings:
        point = found[building.code]
        assert (point["name"], point["label"]) == (building.name, f"{building.name} ({building.code})")
        assert point["time"] == int(datetime.fromisoformat("2026-03-02T00:00+08:00").timestamp())
    (series,) = store.query(f'SELECT count("name") FROM "{SITE_BUILDING}"')
    assert series["values"][0][1] == len(example_site.buildings)
    shard = analyze(example_site, store, UNTIL, datetime.fromisoformat("2026-03-04T00:00+08:00"), buildings=["341122A002"])
    assert [b.building for b in shard.buildings] == ["341122A002"]
    (series,) = store.query(f'SELECT count("name") FROM "{SITE_BUILDING}"')
    assert series["values"][0][1] == len(example_site.buildings) + 1  # a shard writes only its own buildings
