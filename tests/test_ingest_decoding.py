"""Decoding and validation of the collector, without servers: payload in, lines and rejections out."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from facmon.ingest.decoders import BATCH_DEVICE, DecoderSet, FacmonJsonDecoder, filter_covers, parse_timestamp
from facmon.ingest.model import Decoded, Reading, Reason, Rejection
from facmon.ingest.rejections import UniqueClock, payload_text, rejection_line
from facmon.ingest.validation import Validator
from facmon.registry import Meter

TS = 1_714_521_600  # 2024-05-01T00:00:00Z
TS_NS = TS * 10**9
BUILDING = "341122A001"


def decode(topic: str, body: object) -> Decoded:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    return FacmonJsonDecoder("facmon").decode(topic, payload)


def reasons(decoded_or_list) -> list[Reason]:
    rejections = decoded_or_list.rejections if isinstance(decoded_or_list, Decoded) else decoded_or_list
    return [r.reason for r in rejections]


# -- decoders --------------------------------------------------------------------------------------


def test_single_device_multi_field_reading():
    decoded = decode(f"facmon/{BUILDING}/IEQ-1F", {"ts": TS, "temperature": 24.5, "humidity": 51, "co2": 640, "pm25": 12.0})
    assert decoded.rejections == []
    assert decoded.readings == [Reading(BUILDING, "IEQ-1F", TS_NS, {"temperature": 24.5, "humidity": 51, "co2": 640, "pm25": 12.0})]


def test_single_device_payload_may_repeat_its_device_but_not_name_another():
    same = decode(f"facmon/{BUILDING}/E-MAIN", {"device": "E-MAIN", "ts": TS, "register": 10.0})
    assert [r.fields for r in same.readings] == [{"register": 10.0}] and same.rejections == []
    other = decode(f"facmon/{BUILDING}/E-MAIN", {"device": "E-IT", "ts": TS, "register": 10.0})
    assert other.readings == [] and reasons(other) == [Reason.BAD_PAYLOAD]
    assert "E-IT" in other.rejections[0].detail


def test_batch_decodes_every_entry_and_one_bad_entry_does_not_sink_the_others():
    body = {
        "readings": [
            {"device": "E-MAIN", "ts": TS, "register": 1234.5, "power": 80.0},
            {"device": "IEQ-2F", "ts": TS * 1000, "temperature": 23.0},
            {"ts": TS, "register": 1.0},  # no device
            {"device": "IEQ-3F", "temperature": 22.0},  # no ts
            "not an object",
            {"device": "IEQ-4F", "ts": "2024-05-01T08:00:00+08:00", "co2": 700},
        ]
    }
    decoded = decode(f"facmon/{BUILDING}/{BATCH_DEVICE}", body)
    assert [(r.device, r.ts_ns) for r in decoded.readings] == [("E-MAIN", TS_NS), ("IEQ-2F", TS_NS), ("IEQ-4F", TS_NS)]
    assert reasons(decoded) == [Reason.BAD_PAYLOAD, Reason.BAD_TIMESTAMP, Reason.BAD_PAYLOAD]
    details = [r.detail for r in decoded.rejections]
    assert "readings[2]" in details[0] and "readings[3]" in details[1] and "IEQ-3F" in details[1] and "readings[4]" in details[2]
    assert all(r.building == BUILDING for r in decoded.rejections)


def test_batch_without_a_readings_list_is_rejected():
    assert reasons(decode(f"facmon/{BUILDING}/_batch", {"readings": {"device": "E-MAIN"}})) == [Reason.BAD_PAYLOAD]
    assert reasons(decode(f"facmon/{BUILDING}/_batch", {"device": "E-MAIN", "ts": TS, "register": 1})) == [
        Reason.BAD_PAYLOAD,
        Reason.BAD_PAYLOAD,
    ]
    empty = decode(f"facmon/{BUILDING}/_batch", {"readings": []})
    assert empty.readings == [] and empty.rejections == []


@pytest.mark.parametrize(
    ("ts", "expected_ns"),
    [
        (TS, TS_NS),  # epoch seconds
        (TS + 0.25, TS_NS + 250_000_000),  # fractional seconds, exact to the nanosecond
        (TS * 1000, TS_NS),  # epoch milliseconds
        (TS * 1000 + 7, TS_NS + 7_000_000),
        (float(TS * 1000), TS_NS),
        ("2024-05-01T00:00:00Z", TS_NS),
        ("2024-05-01T08:00:00+08:00", TS_NS),
        ("2024-05-01T08:00:00.123456+08:00", TS_NS + 123_456_000),
    ],
)
def test_timestamps_in_seconds_milliseconds_and_iso_8601(ts, expected_ns):
    assert parse_timestamp(ts) == expected_ns
    decoded = decode(f"facmon/{BUILDING}/E-MAIN", {"ts": ts, "register": 1.0})
    assert [r.ts_ns for r in decoded.readings] == [expected_ns]


@pytest.mark.parametrize(
    ("ts", "says"),
    [
        ("2024-05-01T08:00:00", "no UTC offset"),  # naive ISO: ambiguous, rejected rather than guessed
        ("yesterday", "not an ISO-8601"),
        ("1714521600", "not an ISO-8601"),  # numbers must be JSON numbers
        (TS * 10**6, "too large"),  # microseconds
        (TS * 10**9, "too large"),  # nanoseconds
        (0, "outside"),
        (-TS, "outside"),
        (True, "not a number"),
        (None, "not a number"),
        ([TS], "not a number"),
    ],
)
def test_bad_timestamps_are_rejected_with_the_reason(ts, says):
    decoded = decode(f"facmon/{BUILDING}/E-MAIN", {"ts": ts, "register": 1.0})
    assert decoded.readings == []
    assert reasons(decoded) == [Reason.BAD_TIMESTAMP]
    assert says in decoded.rejections[0].detail and f"{BUILDING}/E-MAIN" in decoded.rejections[0].detail


def test_missing_ts_and_reading_without_fields():
    missing = decode(f"facmon/{BUILDING}/E-MAIN", {"register": 1.0})
    assert reasons(missing) == [Reason.BAD_TIMESTAMP] and "'ts' is missing" in missing.rejections[0].detail
    assert reasons(decode(f"facmon/{BUILDING}/E-MAIN", {"ts": TS})) == [Reason.BAD_PAYLOAD]


@pytest.mark.parametrize("payload", [b"{not json", b"", b"\xff\xfe\x00garbage", b'{"ts": 1714521600, "register": 1.0'])
def test_bad_json(payload):
    decoded = decode(f"facmon/{BUILDING}/E-MAIN", payload)
    assert decoded.readings == [] and reasons(decoded) == [Reason.BAD_JSON]
    assert decoded.rejections[0].building == BUILDING


@pytest.mark.parametrize("payload", [b"[1, 2]", b"42", b'"text"', b"null"])
def test_json_that_is_not_an_object(payload):
    assert reasons(decode(f"facmon/{BUILDING}/E-MAIN", payload)) == [Reason.BAD_PAYLOAD]


@pytest.mark.parametrize(
    "topic",
    ["facmon", "facmon/341122A001", f"facmon/{BUILDING}/E-MAIN/extra", "facmon//E-MAIN", f"facmon/{BUILDING}/", "other/341122A001/E-MAIN"],
)
def test_wrong_topic_shape(topic):
    decoded = decode(topic, {"ts": TS, "register": 1.0})
    assert decoded.readings == [] and reasons(decoded) == [Reason.BAD_TOPIC]
    assert repr(topic) in decoded.rejections[0].detail


@pytest.mark.parametrize(
    ("outer", "inner", "covers"),
    [
        ("facmon/#", "facmon/+/BROKEN", True),
        ("facmon/#", "facmon/x/#", True),
        ("facmon/+/+", "facmon/x/y", True),
        ("facmon/+/+", "facmon/x/#", False),
        ("facmon/+/y", "facmon/+/+", False),
        ("facmon/x", "facmon/x/y", False),
        ("shellies/#", "facmon/#", False),
    ],
)
def test_filter_coverage(outer, inner, covers):
    assert filter_covers(outer, inner) is covers


def test_decoders_are_chosen_by_topic_pattern():
    class Shelly:
        """A stand-in for a later decoder: plugs in by its topic filter."""

        name = "shelly"
        topic_filters = ("shellies/+/emeter/0/total",)

        def decode(self, topic: str, payload: bytes) -> Decoded:
            return Decoded(readings=[Reading(BUILDING, "E-IT", TS_NS, {"register": float(payload)})])

    decoders = DecoderSet([Shelly(), FacmonJsonDecoder("site7/facmon")])
    assert decoders.topic_filters == ["shellies/+/emeter/0/total", "site7/facmon/#"]
    # A decoder for part of the facmon tree needs no subscription of its own (no duplicate deliveries).
    assert DecoderSet([FacmonJsonDecoder("facmon"), Shelly(), FacmonJsonDecoder("facmon")]).topic_filters == [
        "facmon/#",
        "shellies/+/emeter/0/total",
    ]
    assert decoders.decode("shellies/abc/emeter/0/total", b"12.5").readings[0].fields == {"register": 12.5}
    nested = decoders.decode(f"site7/facmon/{BUILDING}/E-MAIN", json.dumps({"ts": TS, "register": 2}).encode())
    assert [r.device for r in nested.readings] == ["E-MAIN"]
    assert reasons(decoders.decode("tasmota/tele/x/SENSOR", b"{}")) == [Reason.BAD_TOPIC]


# -- validation ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validator(example_site):
    # The clock is pinned to the readings' time: these tests are about fields, not about how recent
    # a reading is (tests/test_ingest_devices.py checks the plausibility window).
    return Validator(example_site, clock=lambda: TS_NS)


def check(validator: Validator, device: str, fields: dict, building: str = BUILDING) -> tuple[str | None, list[Rejection]]:
    return validator.check(Reading(building, device, TS_NS, fields))


def test_good_reading_becomes_one_line_with_the_registry_tags(validator):
    line, rejected = check(validator, "IEQ-1F", {"temperature": 24.5, "humidity": 51, "co2": 640, "pm25": 12})
    assert rejected == []
    assert line == f"ieq,building={BUILDING},sensor=IEQ-1F,zone=1F temperature=24.5,humidity=51.0,co2=640.0,pm25=12.0 {TS_NS}"


def test_meter_register_is_stored_times_the_multiplier(validator, example_site):
    meter = example_site.building(BUILDING).device("E-MAIN")
    assert isinstance(meter, Meter) and meter.multiplier == 400.0
    line, rejected = check(validator, "E-MAIN", {"register": 1234.5, "power": 2.5})
    assert rejected == []
    assert line == f"meter,building={BUILDING},energy=01,meter=E-MAIN,subitem=01000 register=493800.0,power=1000.0 {TS_NS}"


def test_unknown_building_and_unknown_device(validator):
    line, rejected = check(validator, "E-MAIN", {"register": 1.0}, building="999999A999")
    assert line is None and reasons(rejected) == [Reason.UNKNOWN_BUILDING] and "999999A999" in rejected[0].detail
    line, rejected = check(validator, "E-NOPE", {"register": 1.0})
    assert line is None and reasons(rejected) == [Reason.UNKNOWN_DEVICE]
    assert "E-NOPE" in rejected[0].detail and BUILDING in rejected[0].detail


def test_device_ids_are_per_building(validator):
    # Chillers exist in the central-HVAC (class B) buildings only: 341122A002 has split units.
    assert check(validator, "CH-1", {"running": 1.0}, building="341122A003")[0] is not None
    assert reasons(check(validator, "CH-1", {"running": 1.0}, building="341122A002")[1]) == [Reason.UNKNOWN_DEVICE]


@pytest.mark.parametrize(
    ("device", "field", "value", "reason"),
    [
        ("IEQ-1F", "voltage", 230.0, Reason.UNKNOWN_FIELD),  # not an IEQ quantity
        ("IEQ-1F", "tvoc", 0.1, Reason.UNKNOWN_FIELD),  # an IEQ quantity this sensor does not have
        ("CH-1", "trips", 3, Reason.UNKNOWN_FIELD),  # an elevator field on a chiller
        ("IEQ-1F", "temperature", "24.5", Reason.BAD_VALUE),
        ("IEQ-1F", "temperature", True, Reason.BAD_VALUE),
        ("IEQ-1F", "temperature", None, Reason.BAD_VALUE),
        ("IEQ-1F", "temperature", float("nan"), Reason.BAD_VALUE),
        ("IEQ-1F", "temperature", float("inf"), Reason.BAD_VALUE),
        ("IEQ-1F", "temperature", {"value": 24.5}, Reason.BAD_VALUE),
        ("IEQ-1F", "temperature", 10**400, Reason.BAD_VALUE),
        ("IEQ-1F", "temperature", 85.0, Reason.OUT_OF_RANGE),
        ("IEQ-1F", "humidity", -1, Reason.OUT_OF_RANGE),
        ("CH-1", "running", 2, Reason.OUT_OF_RANGE),
        ("E-MAIN", "register", -5.0, Reason.OUT_OF_RANGE),
        ("E-MAIN", "register", 1_000_000.0, Reason.OUT_OF_RANGE),  # above the rollover 999999.99
        ("W-MAIN", "register", 100_000.0, Reason.OUT_OF_RANGE),  # above the rollover 99999.9
    ],
)
def test_bad_fields_are_rejected_with_their_reason(validator, device, field, value, reason):
    line, rejected = check(validator, device, {field: value})
    assert line is None
    assert reasons(rejected) == [reason]
    assert f"{BUILDING}/{device}" in rejected[0].detail and repr(field) in rejected[0].detail


def test_register_at_the_rollover_is_accepted(validator):
    line, rejected = check(validator, "E-MAIN", {"register": 999_999.99})
    assert rejected == [] and line is not None


def test_good_fields_of_a_partly_bad_reading_are_kept(validator):
    line, rejected = check(validator, "IEQ-1F", {"temperature": 24.5, "humidity": "wet", "co2": 99_999, "pm25": 12, "noise": 40})
    assert line == f"ieq,building={BUILDING},sensor=IEQ-1F,zone=1F temperature=24.5,pm25=12.0 {TS_NS}"
    assert sorted(reasons(rejected)) == sorted([Reason.BAD_VALUE, Reason.OUT_OF_RANGE, Reason.UNKNOWN_FIELD])


def test_equipment_fields_depend_on_the_type(validator):
    line, rejected = check(validator, "EL-1", {"running": 1, "fault_code": 0, "power": 7.5, "trips": 12})
    assert rejected == [] and line is not None and "type=elevator" in line and "vendor=elevator" in line


# -- rejection points ------------------------------------------------------------------------------


def test_rejection_points_keep_only_registry_buildings_as_tags(example_site):
    known = rejection_line(example_site, Rejection(Reason.BAD_JSON, BUILDING, "bad"), f"facmon/{BUILDING}/E-MAIN", "{x", 5)
    assert known == f'ingest_rejected,building={BUILDING},reason=bad_json topic="facmon/{BUILDING}/E-MAIN",payload="{{x",detail="bad" 5'
    unknown = rejection_line(example_site, Rejection(Reason.UNKNOWN_BUILDING, "EVIL,x=1", "unknown"), "facmon/EVIL,x=1/E", "{}", 6)
    assert unknown.startswith("ingest_rejected,reason=unknown_building ")


def test_rejection_text_is_truncated_and_printable(example_site):
    assert len(payload_text(b"x" * 5000)) == 500
    text = payload_text(b'{"a": "\x00\x07\n\xff"}')
    assert text.isprintable() and "\\x00" in text and "\ufffd" in text
    point = rejection_line(example_site, Rejection(Reason.BAD_JSON, "", "d" * 5000), "t\n", text, 1)
    assert "\n" not in point and len(point) < 2000


def test_unique_clock_never_repeats():
    clock = UniqueClock()
    stamps = [clock.next() for _ in range(10_000)]
    assert len(set(stamps)) == len(stamps) and stamps == sorted(stamps)
    assert abs(stamps[0] - datetime.now(UTC).timestamp() * 1e9) < 60e9
