"""Device conventions besides facmon JSON (Shelly Gen2, Tasmota), chosen by topic in the registry, and
the plausibility window of reading times: decoders alone, through validation, and end to end through
the real Mosquitto and InfluxDB."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from facmon.ingest.decoders import DecoderSet, FacmonJsonDecoder
from facmon.ingest.model import Decoded, Reading, Reason
from facmon.ingest.shelly import ShellyGen2Decoder
from facmon.ingest.tasmota import TasmotaDecoder
from facmon.ingest.validation import Validator
from facmon.registry import Site, parse_site
from facmon.stack import Stack
from tests.clock import Calendar
from tests.conftest import EXAMPLE_SITE
from tests.test_ingest import Publisher, purge_session, running, wait_for

A002, A004 = "341122A002", "341122A004"
SHELLY = "shellypro3em-c8f09e8a1b2c"
PLUG = "shellyplus1pm-a8032ab1c2d3"
TS = 1_714_521_600  # 2024-05-01T00:00:00Z
TS_NS = TS * 10**9
SHANGHAI = ZoneInfo("Asia/Shanghai")


def shelly(devices: dict[str, str] | None = None, clock=lambda: TS_NS + 123_456_789) -> ShellyGen2Decoder:
    return ShellyGen2Decoder("shellies/341122A002/#", A002, devices or {f"{SHELLY}:em:0": "E-IT", f"{PLUG}:switch:0": "E-AC1"}, clock=clock)


def tasmota(devices: dict[str, str] | None = None, zone=SHANGHAI) -> TasmotaDecoder:
    return TasmotaDecoder(
        "tele/341122A004/+/SENSOR", A004, devices or {"tasmota_A004_FAN": "E-FAN", "dual:1": "E-AC1", "dual:2": "E-AC2"}, zone
    )


def body(value: object) -> bytes:
    return json.dumps(value).encode()


def reasons(decoded: Decoded) -> list[Reason]:
    return [r.reason for r in decoded.rejections]


def notify(params: dict, method: str = "NotifyStatus", src: str = SHELLY) -> bytes:
    return body({"src": src, "dst": "facmon", "method": method, "params": params})


# -- Shelly Gen2 -------------------------------------------------------------------------------------


def test_shelly_notify_status_of_a_switch_becomes_kwh_and_kw_at_its_own_time():
    payload = notify(
        {"ts": TS + 0.52, "switch:0": {"id": 0, "apower": 1250.0, "aenergy": {"total": 123456.7, "by_minute": [1, 2, 3], "minute_ts": TS}}},
        src=PLUG,
    )
    decoded = shelly().decode(f"shellies/341122A002/{PLUG}/events/rpc", payload)
    assert decoded.rejections == []
    assert decoded.readings == [Reading(A002, "E-AC1", TS_NS + 520_000_000, {"register": pytest.approx(123.4567), "power": 1.25})]


def test_shelly_pro_3em_power_and_energy_counter_feed_the_same_meter():
    # NotifyFullStatus carries em:0 (power) and emdata:0 (energy counters, Wh) together.
    params = {
        "ts": TS,
        "sys": {"uptime": 1000},
        "em:0": {"id": 0, "a_act_power": 700.0, "total_act_power": 2100.5, "total_current": 9.1},
        "emdata:0": {"id": 0, "a_total_act_energy": 1000.0, "total_act": 3000.0, "total_act_ret": 50.0},
    }
    decoded = shelly().decode(f"shellies/341122A002/{SHELLY}/events/rpc", notify(params, method="NotifyFullStatus"))
    assert decoded.rejections == []
    assert decoded.readings == [Reading(A002, "E-IT", TS_NS, {"power": 2.1005, "register": 3.0})]
    # A later notification with only what changed: power alone.
    partial = shelly().decode(
        f"shellies/341122A002/{SHELLY}/events/rpc", notify({"ts": TS + 1, "em:0": {"id": 0, "total_act_power": 10.0}})
    )
    assert partial.readings == [Reading(A002, "E-IT", TS_NS + 10**9, {"power": 0.01})]


@pytest.mark.parametrize(
    ("components", "channel", "fields"),
    [
        (
            {"em1:1": {"id": 1, "act_power": 500.0}, "em1data:1": {"id": 1, "total_act_energy": 1500.0, "total_act_ret_energy": 3.0}},
            "em1:1",
            {"power": 0.5, "register": 1.5},
        ),
        ({"pm1:0": {"id": 0, "apower": 20.0, "aenergy": {"total": 10.0}}}, "pm1:0", {"register": 0.01, "power": 0.02}),
        ({"cover:0": {"id": 0, "apower": 0, "aenergy": {"total": 0}}}, "cover:0", {"register": 0.0, "power": 0.0}),
    ],
)
def test_shelly_single_phase_meters_plugs_and_covers(components, channel, fields):
    decoder = shelly({f"dev:{channel}": "E-AC1"})
    decoded = decoder.decode("shellies/341122A002/dev/events/rpc", notify({"ts": TS, **components}, src="dev"))
    assert decoded.rejections == [] and decoded.readings == [Reading(A002, "E-AC1", TS_NS, fields)]


def test_shelly_status_topics_carry_no_time_and_are_stamped_on_arrival_to_the_second():
    decoded = shelly().decode(f"shellies/341122A002/{SHELLY}/status/emdata:0", body({"id": 0, "total_act": 5000.0}))
    assert decoded.rejections == []
    assert decoded.readings == [Reading(A002, "E-IT", TS_NS, {"register": 5.0})]  # clock TS + 0.123 s, truncated


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        (f"shellies/341122A002/{SHELLY}/online", b"true"),
        (f"shellies/341122A002/{SHELLY}/status/sys", body({"mac": "C8F09E8A1B2C", "uptime": 5})),
        (f"shellies/341122A002/{SHELLY}/status/wifi", body({"sta_ip": "10.0.0.5", "rssi": -60})),
        (f"shellies/341122A002/{PLUG}/status/input:0", body({"id": 0, "state": False})),
        (
            f"shellies/341122A002/{PLUG}/events/rpc",
            notify({"ts": TS, "events": [{"component": "input:0", "event": "single_push"}]}, method="NotifyEvent"),
        ),
        (f"shellies/341122A002/{PLUG}/events/rpc", notify({"ts": TS, "switch:0": {"id": 0, "output": True, "source": "button"}})),
    ],
)
def test_shelly_messages_without_readings_are_passed_over(topic, payload):
    decoded = shelly().decode(topic, payload)
    assert decoded.readings == [] and decoded.rejections == []


@pytest.mark.parametrize(
    ("topic", "payload", "reason", "says"),
    [
        (
            f"shellies/341122A002/{SHELLY}/events/rpc",
            notify({"ts": TS, "em:1": {"total_act_power": 5.0}}),
            Reason.UNKNOWN_DEVICE,
            f"{SHELLY}:em:1",
        ),
        ("shellies/341122A002/other/status/switch:0", body({"apower": 5.0}), Reason.UNKNOWN_DEVICE, "'other:switch:0'"),
        (f"shellies/341122A002/{SHELLY}/events/rpc", notify({"em:0": {"total_act_power": 5.0}}), Reason.BAD_TIMESTAMP, "params.ts"),
        (
            f"shellies/341122A002/{SHELLY}/events/rpc",
            notify({"ts": "soon", "em:0": {"total_act_power": 5.0}}),
            Reason.BAD_TIMESTAMP,
            "soon",
        ),
        (
            f"shellies/341122A002/{SHELLY}/events/rpc",
            notify({"ts": TS, "emdata:0": {"total_act": "12"}}),
            Reason.BAD_VALUE,
            "emdata:0 total_act = '12'",
        ),
        (
            f"shellies/341122A002/{PLUG}/events/rpc",
            notify({"ts": TS, "switch:0": {"aenergy": {"total": True}}}),
            Reason.BAD_VALUE,
            "aenergy.total",
        ),
        (f"shellies/341122A002/{SHELLY}/events/rpc", notify({"ts": TS}, method="Shelly.Reboot"), Reason.BAD_PAYLOAD, "Shelly.Reboot"),
        (f"shellies/341122A002/{SHELLY}/events/rpc", body({"method": "NotifyStatus", "params": [1]}), Reason.BAD_PAYLOAD, "params"),
        (f"shellies/341122A002/{SHELLY}/events/rpc", b"{broken", Reason.BAD_JSON, "not UTF-8 JSON"),
        (f"shellies/341122A002/{SHELLY}/status/em:0", b"[]", Reason.BAD_PAYLOAD, "JSON list"),
        (f"shellies/341122A002/{SHELLY}/rpc", body({"id": 1}), Reason.BAD_TOPIC, "not a Shelly Gen2 topic"),
        ("shellies/341122A002/status/em:0", body({"total_act_power": 5.0}), Reason.UNKNOWN_DEVICE, "'341122A002:em:0'"),
    ],
)
def test_shelly_bad_input_is_rejected_with_the_reason(topic, payload, reason, says):
    decoded = shelly().decode(topic, payload)
    assert decoded.readings == []
    assert reasons(decoded) == [reason]
    assert says in decoded.rejections[0].detail and decoded.rejections[0].building == A002


# -- Tasmota ---------------------------------------------------------------------------------------


def test_tasmota_local_time_is_read_in_the_site_time_zone():
    payload = body(
        {
            "Time": "2024-05-01T08:00:00",  # Asia/Shanghai, UTC+8: 2024-05-01T00:00:00Z
            "ENERGY": {
                "TotalStartTime": "2023-01-01T00:00:00",
                "Total": 123.456,
                "Yesterday": 1.2,
                "Today": 0.5,
                "Power": 450,
                "Voltage": 229,
                "Current": 2.0,
            },
        }
    )
    decoded = tasmota().decode("tele/341122A004/tasmota_A004_FAN/SENSOR", payload)
    assert decoded.rejections == []
    assert decoded.readings == [Reading(A004, "E-FAN", TS_NS, {"register": 123.456, "power": 0.45})]


@pytest.mark.parametrize(
    ("zone", "time_text", "expected_ns"),
    [
        ("Europe/Berlin", "2024-05-01T02:00:00", TS_NS),  # CEST, UTC+2
        ("Europe/Berlin", "2024-01-01T01:00:00", 1_704_067_200 * 10**9),  # CET, UTC+1
        ("Asia/Shanghai", "2024-05-01T05:30:00+05:30", TS_NS),  # SetOption52: an offset is read as written
        ("Asia/Shanghai", "2024-05-01T00:00:00Z", TS_NS),
    ],
)
def test_tasmota_time_zones_and_explicit_offsets(zone, time_text, expected_ns):
    decoded = tasmota(zone=ZoneInfo(zone)).decode(
        "tele/341122A004/tasmota_A004_FAN/SENSOR", body({"Time": time_text, "ENERGY": {"Total": 1.0}})
    )
    assert [r.ts_ns for r in decoded.readings] == [expected_ns]


def test_tasmota_multi_channel_lists_are_channels_numbered_from_one():
    payload = body(
        {"Time": "2024-05-01T08:00:00", "Switch1": "ON", "ENERGY": {"Total": [0.5, 2.91], "Power": [0, 1200], "Today": [0.0, 1.3]}}
    )
    decoded = tasmota().decode("tele/341122A004/dual/SENSOR", payload)
    assert decoded.rejections == []
    assert decoded.readings == [
        Reading(A004, "E-AC1", TS_NS, {"register": 0.5, "power": 0.0}),
        Reading(A004, "E-AC2", TS_NS, {"register": 2.91, "power": 1.2}),
    ]
    # A channel that is not mapped is rejected; the mapped ones still go through.
    three = tasmota().decode("tele/341122A004/dual/SENSOR", body({"Time": "2024-05-01T08:00:00", "ENERGY": {"Total": [1.0, 2.0, 3.0]}}))
    assert [r.device for r in three.readings] == ["E-AC1", "E-AC2"]
    assert reasons(three) == [Reason.UNKNOWN_DEVICE] and "'dual:3'" in three.rejections[0].detail


@pytest.mark.parametrize("kind", ["STATE", "LWT", "INFO1", "RESULT"])
def test_tasmota_telemetry_without_readings_is_passed_over(kind):
    decoded = tasmota().decode(
        f"tele/341122A004/tasmota_A004_FAN/{kind}", b"Online" if kind == "LWT" else body({"Time": "2024-05-01T08:00:00", "POWER": "ON"})
    )
    assert decoded.readings == [] and decoded.rejections == []


@pytest.mark.parametrize(
    ("topic", "payload", "reason", "says"),
    [
        (
            "tele/341122A004/unknown_plug/SENSOR",
            {"Time": "2024-05-01T08:00:00", "ENERGY": {"Total": 1.0}},
            Reason.UNKNOWN_DEVICE,
            "'unknown_plug'",
        ),
        (
            "tele/341122A004/tasmota_A004_FAN/SENSOR",
            {"Time": "2024-05-01T08:00:00", "AM2301": {"Temperature": 24.1}},
            Reason.BAD_PAYLOAD,
            "no ENERGY",
        ),
        (
            "tele/341122A004/tasmota_A004_FAN/SENSOR",
            {"Time": "2024-05-01T08:00:00", "ENERGY": {"Voltage": 230}},
            Reason.BAD_PAYLOAD,
            "neither Total nor Power",
        ),
        ("tele/341122A004/tasmota_A004_FAN/SENSOR", {"ENERGY": {"Total": 1.0}}, Reason.BAD_TIMESTAMP, "'Time' is missing"),
        ("tele/341122A004/tasmota_A004_FAN/SENSOR", {"Time": "gestern", "ENERGY": {"Total": 1.0}}, Reason.BAD_TIMESTAMP, "gestern"),
        (
            "tele/341122A004/tasmota_A004_FAN/SENSOR",
            {"Time": "2024-05-01T08:00:00", "ENERGY": {"Total": "1.0"}},
            Reason.BAD_VALUE,
            "ENERGY.Total = '1.0'",
        ),
        ("tele/341122A004/SENSOR", {"Time": "2024-05-01T08:00:00", "ENERGY": {"Total": 1.0}}, Reason.UNKNOWN_DEVICE, "'341122A004'"),
        ("tele/341122A004/tasmota_A004_FAN/STATUS8", {"StatusSNS": {}}, Reason.BAD_TOPIC, "tele/<device>/SENSOR"),
    ],
)
def test_tasmota_bad_input_is_rejected_with_the_reason(topic, payload, reason, says):
    decoded = tasmota().decode(topic, body(payload))
    assert decoded.readings == []
    assert reasons(decoded) == [reason]
    assert says in decoded.rejections[0].detail and decoded.rejections[0].building == A004


def test_tasmota_device_name_is_the_level_before_sensor_not_counting_tele():
    decoder = TasmotaDecoder("#", A004, {"DUALR3_PM06": "E-FAN"}, SHANGHAI)
    payload = body({"Time": "2024-05-01T08:00:00", "ENERGY": {"Total": 1.0}})
    for topic in ("tele/DUALR3_PM06/SENSOR", "SONOFF/tele/DUALR3_PM06/SENSOR", "DUALR3_PM06/tele/SENSOR"):
        assert [r.device for r in decoder.decode(topic, payload).readings] == ["E-FAN"], topic


# -- registry wiring and the building check ----------------------------------------------------------


def test_the_registry_chooses_decoders_by_topic(example_site):
    decoders = DecoderSet.for_site(example_site)
    assert decoders.topic_filters == ["facmon/#", "shellies/341122A002/#", "tele/341122A004/+/SENSOR"]
    assert isinstance(decoders.for_topic("facmon/341122A001/E-MAIN"), FacmonJsonDecoder)
    assert isinstance(decoders.for_topic(f"shellies/341122A002/{SHELLY}/events/rpc"), ShellyGen2Decoder)
    assert isinstance(decoders.for_topic("tele/341122A004/tasmota_A004_FAN/SENSOR"), TasmotaDecoder)
    assert decoders.for_topic("tele/341122A001/tasmota_A004_FAN/SENSOR") is None
    assert reasons(decoders.decode("tele/341122A001/tasmota_A004_FAN/SENSOR", b"{}")) == [Reason.BAD_TOPIC]


TWO_BUILDINGS = f"""\
mqtt:
  decoders:
  - {{format: shelly_gen2, topic: 'shellies/{A002}/#', building: '{A002}', devices: {{'{SHELLY}:em:0': E-IT}}}}
  - {{format: shelly_gen2, topic: 'shellies/{A004}/#', building: '{A004}', devices: {{'{PLUG}:switch:0': E-FAN}}}}
"""


def two_building_site() -> Site:
    text = EXAMPLE_SITE.read_text(encoding="utf-8")
    start = text.index("mqtt:\n")
    end = text.index("collection:")
    return parse_site(text[:start] + TWO_BUILDINGS.replace("mqtt:\n", "mqtt:\n  topic_prefix: facmon\n") + text[end:], Path("two.yaml"))


def test_a_device_is_only_accepted_on_the_topic_of_its_own_building():
    site = two_building_site()
    decoders = DecoderSet.for_site(site)
    validator = Validator(site, clock=lambda: TS_NS)
    reading = notify({"ts": TS, "em:0": {"total_act_power": 100.0}})
    home = decoders.decode(f"shellies/{A002}/{SHELLY}/events/rpc", reading)
    assert [(r.building, r.device) for r in home.readings] == [(A002, "E-IT")]
    assert validator.check(home.readings[0])[0].startswith(f"meter,building={A002},energy=01,meter=E-IT,subitem=01D10 power=0.1 ")
    # The same device publishing under the other building's topic is not a device of that building.
    away = decoders.decode(f"shellies/{A004}/{SHELLY}/events/rpc", reading)
    assert away.readings == [] and reasons(away) == [Reason.UNKNOWN_DEVICE] and away.rejections[0].building == A004
    assert f"{SHELLY}:em:0" in away.rejections[0].detail and A004 in away.rejections[0].detail


def test_validation_rejects_a_registry_id_of_another_building_whatever_the_decoder():
    validator = Validator(two_building_site(), clock=lambda: TS_NS)
    line, rejected = validator.check(Reading(A004, "E-CH1", TS_NS, {"register": 1.0}))  # chillers are in class-B buildings only
    assert line is None and [r.reason for r in rejected] == [Reason.UNKNOWN_DEVICE]


# -- plausibility window ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset_s", "accepted", "says"),
    [
        (0, True, ""),
        (600, True, ""),  # max_future_s inclusive
        (601, False, "601 s ahead"),
        (8 * 3600, False, "local time sent as UTC"),
        (-35 * 86_400, True, ""),  # max_age_days inclusive
        (-35 * 86_400 - 1, False, "35.0 days old"),
        (-900 * 86_400, False, "collection.max_age_days"),
    ],
)
def test_readings_too_far_ahead_or_behind_now_are_implausible(example_site, offset_s, accepted, says):
    validator = Validator(example_site, clock=lambda: TS_NS)
    line, rejected = validator.check(Reading(A004, "E-IT", TS_NS + offset_s * 10**9, {"register": 1.0, "power": 2.0}))
    if accepted:
        assert line is not None and rejected == []
    else:
        assert line is None and [r.reason for r in rejected] == [Reason.IMPLAUSIBLE_TIME]
        assert says in rejected[0].detail and f"{A004}/E-IT" in rejected[0].detail and "register" in rejected[0].detail


def test_the_window_comes_from_the_registry():
    text = EXAMPLE_SITE.read_text(encoding="utf-8").replace(
        "weather_interval_s: 300}", "weather_interval_s: 300, max_future_s: 0, max_age_days: 400}"
    )
    site = parse_site(text, Path("wide.yaml"))
    validator = Validator(site, clock=lambda: TS_NS)
    assert validator.check(Reading(A004, "E-IT", TS_NS - 399 * 86_400 * 10**9, {"register": 1.0}))[0] is not None
    assert validator.check(Reading(A004, "E-IT", TS_NS + 10**9, {"register": 1.0}))[1][0].reason == Reason.IMPLAUSIBLE_TIME


def test_every_decoder_gets_the_window(example_site):
    # A Tasmota whose clock fell back to 2000-01-01 (lost RTC, no NTP) after a power cut.
    decoded = DecoderSet.for_site(example_site).decode(
        "tele/341122A004/tasmota_A004_FAN/SENSOR", body({"Time": "2000-01-01T08:00:12", "ENERGY": {"Total": 1.0}})
    )
    line, rejected = Validator(example_site).check(decoded.readings[0])
    assert line is None and [r.reason for r in rejected] == [Reason.IMPLAUSIBLE_TIME] and "2000-01-01T00:00:12Z" in rejected[0].detail


# -- end to end ------------------------------------------------------------------------------------


@pytest.fixture
def device_client_id(stack: Stack) -> Iterator[str]:
    name = f"test-devices-{uuid.uuid4().hex[:8]}"
    yield name
    purge_session(stack, name)


def test_shelly_and_tasmota_messages_are_stored_as_meter_points_through_the_real_broker(
    stack, store, example_site, device_client_id, calendar: Calendar
):
    now = int(time.time())
    local = datetime.fromtimestamp(now - 60, SHANGHAI).strftime("%Y-%m-%dT%H:%M:%S")  # Tasmota: local time, no offset
    publisher = Publisher(stack)
    try:
        with running(example_site, store, stack, device_client_id) as collector:
            publisher.publish(
                f"shellies/{A002}/{SHELLY}/events/rpc",
                {
                    "src": SHELLY,
                    "dst": f"shellies/{A002}/{SHELLY}/events",
                    "method": "NotifyStatus",
                    "params": {
                        "ts": now - 120 + 0.25,
                        "em:0": {"id": 0, "total_act_power": 3456.0},
                        "emdata:0": {"id": 0, "total_act": 7_654_321.0, "total_act_ret": 0},
                    },
                },
            )
            publisher.publish(
                f"tele/{A004}/tasmota_A004_FAN/SENSOR",
                {"Time": local, "ENERGY": {"TotalStartTime": "2024-01-01T00:00:00", "Total": 2345.678, "Today": 12.3, "Power": 4321}},
            )
            publisher.publish(
                f"tele/{A004}/tasmota_A004_FAN/SENSOR", {"Time": "2021-06-13T06:59:52", "ENERGY": {"Total": 2000.0}}
            )  # clock years off
            publisher.publish(f"tele/{A004}/somebody_elses_plug/SENSOR", {"Time": local, "ENERGY": {"Total": 1.0}})  # not registered
            publisher.publish(f"shellies/{A002}/{SHELLY}/status/wifi", {"sta_ip": "10.0.0.5"})  # no readings
            assert publisher.wait() == 5
            wait_for(lambda: collector.counters.acked == 5, 30, "5 messages stored and acknowledged")
        counters = collector.counters
    finally:
        publisher.close()

    assert counters.written == 2
    assert counters.rejected == {"implausible_time": 1, "unknown_device": 1}
    shelly_rows = store.rows(f"SELECT * FROM meter WHERE building = '{A002}' AND meter = 'E-IT'")
    assert len(shelly_rows) == 1
    row = shelly_rows[0]
    assert row["time"] == pytest.approx(now - 120 + 0.25)  # the notification's own params.ts
    assert (row["energy"], row["subitem"]) == ("01", "01D10")  # the registry's tags
    assert row["register"] == pytest.approx(7654.321) and row["power"] == pytest.approx(3.456)  # Wh -> kWh, W -> kW, multiplier 1
    tasmota_rows = store.rows(f"SELECT * FROM meter WHERE building = '{A004}' AND meter = 'E-FAN'")
    assert len(tasmota_rows) == 1
    row = tasmota_rows[0]
    assert (row["energy"], row["subitem"]) == ("01", "01C30")
    assert row["register"] == pytest.approx(2345.678) and row["power"] == pytest.approx(4.321)
    rejected = {r["reason"]: r for r in store.rows("SELECT * FROM ingest_rejected")}
    assert set(rejected) == {"implausible_time", "unknown_device"}
    assert rejected["unknown_device"]["building"] == A004 and "somebody_elses_plug" in rejected["unknown_device"]["detail"]
    assert "2021-06-12T22:59:52Z" in rejected["implausible_time"]["detail"]
