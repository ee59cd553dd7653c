"""reading_line's cached fast path writes exactly the bytes of the reference formatting through store.line."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facmon import schema
from facmon.registry import Meter
from facmon.schema import allowed_fields, device_tags, reading_line, stored_fields
from facmon.store import line


def reference(site, building, device, fields, time_ns):
    """What reading_line is documented to produce."""
    return line(
        schema.MEASUREMENT_OF_KIND[schema.device_kind(device)], device_tags(site, building, device), stored_fields(device, fields), time_ns
    )


def all_devices(site):
    return [(building, device) for building in site.buildings for device in building.all_devices()]


values = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=0, max_value=1e6),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.booleans(),
)


def test_every_device_of_the_example_site_with_every_field(example_site):
    for building, device in all_devices(example_site):
        fields = {name: 12.5 + i for i, name in enumerate(sorted(allowed_fields(device)))}
        for time_ns in (0, 1_763_780_000_123_000_000):
            assert reading_line(example_site, building, device, fields, time_ns) == reference(
                example_site, building, device, fields, time_ns
            )
            # second call: served from the cache
            assert reading_line(example_site, building, device, fields, time_ns) == reference(
                example_site, building, device, fields, time_ns
            )


@settings(max_examples=300, deadline=None)
@given(index=st.integers(min_value=0), data=st.data())
def test_arbitrary_values_are_formatted_byte_identically(example_site, index, data):
    devices = all_devices(example_site)
    building, device = devices[index % len(devices)]
    names = sorted(allowed_fields(device))
    chosen = data.draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
    fields = {name: data.draw(values) for name in chosen}
    time_ns = data.draw(st.integers(min_value=0, max_value=2**62))
    try:
        expected = reference(example_site, building, device, fields, time_ns)
    except (ValueError, OverflowError) as exc:  # e.g. a huge value times the meter's multiplier is infinite
        with pytest.raises(type(exc)):
            reading_line(example_site, building, device, fields, time_ns)
        return
    assert reading_line(example_site, building, device, fields, time_ns) == expected


def test_field_names_that_need_escaping_and_no_fields_take_the_reference_path(example_site):
    building = example_site.buildings[0]
    device = building.ieq_sensors[0]
    fields = {"odd name,=x": 1.5, "temperature": 20.0}
    assert reading_line(example_site, building, device, fields, 7) == reference(example_site, building, device, fields, 7)
    with pytest.raises(ValueError, match="needs at least one field"):
        reading_line(example_site, building, device, {}, 7)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_refused_as_before(example_site, bad):
    building = example_site.buildings[0]
    device = building.ieq_sensors[0]
    with pytest.raises(ValueError, match="cannot store NaN or infinity"):
        reading_line(example_site, building, device, {"temperature": bad}, 0)


def test_a_meter_multiplier_that_overflows_is_refused_as_before(example_site):
    building = example_site.buildings[0]
    meter = next(m for m in building.meters if isinstance(m, Meter) and m.multiplier != 1.0)
    with pytest.raises(ValueError, match="cannot store NaN or infinity"):
        reading_line(example_site, building, meter, {"register": 1.7e308}, 0)


def test_tags_needing_escaping_are_cached_escaped(example_site):
    building = example_site.buildings[0]
    sensor = building.ieq_sensors[0].model_copy(update={"zone": "roof, east=1"})
    fields = {"temperature": 21.25}
    expected = reference(example_site, building, sensor, fields, 5)
    assert "zone=roof\\,\\ east\\=1" in expected
    assert reading_line(example_site, building, sensor, fields, 5) == expected


def test_another_site_object_is_not_served_from_the_cache_of_the_first(example_site):
    building = example_site.buildings[0]
    equipment = building.equipment[0]
    other = example_site.model_copy(update={"coverage": []})  # no covering vendor: the vendor tag changes
    first = reading_line(example_site, building, equipment, {"running": 1.0}, 0)
    second = reading_line(other, building, equipment, {"running": 1.0}, 0)
    assert second == reference(other, building, equipment, {"running": 1.0}, 0)
    if equipment.vendor is None:
        assert first != second


@settings(max_examples=200, deadline=None)
@given(index=st.integers(min_value=0), data=st.data())
def test_the_collectors_validated_lines_are_byte_identical_to_the_reference(example_site, index, data):
    """ingest.validation formats good fields with the device's cached prefix (its hot path): the same bytes."""
    from facmon.ingest.model import Reading
    from facmon.ingest.validation import Validator

    building, device = all_devices(example_site)[index % len(all_devices(example_site))]
    names = sorted(allowed_fields(device))
    ranges = schema.FIELD_RANGES[schema.device_kind(device)]

    def good_value(name: str) -> float:
        low, high, _ = ranges.get(name, (-1e6, 1e6, ""))
        high = min(high, getattr(device, "rollover", high)) if name == "register" else high
        return data.draw(st.floats(min_value=max(low, -1e9), max_value=min(high, 1e9), allow_nan=False))

    fields = {name: good_value(name) for name in data.draw(st.lists(st.sampled_from(names), min_size=1, unique=True))}
    time_ns = 1_763_780_000_123_000_000
    checked, problems = Validator(example_site, clock=lambda: time_ns).check(Reading(building.code, device.id, time_ns, fields))
    assert not problems
    assert checked == reference(example_site, building, device, fields, time_ns)
