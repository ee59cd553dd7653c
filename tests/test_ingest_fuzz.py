"""Property-based fuzzing of the collector's pure path: any topic and any payload through every decoder
(via the registry's DecoderSet) and through validation. Nothing may raise, and every rejection carries a
reason of the vocabulary, a building string and a non-empty detail that becomes a storable point."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facmon.ingest.decoders import DecoderSet
from facmon.ingest.model import Decoded, Reading, Reason, Rejection
from facmon.ingest.rejections import rejection_line
from facmon.ingest.timestamps import TS_MAX_NS, TS_MIN_NS
from facmon.ingest.validation import Validator

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
REASONS = set(Reason)
SHELLY = "shellies/341122A002/shellypro3em-c8f09e8a1b2c"
TASMOTA = "tele/341122A004/tasmota_A004_FAN"

# -- topics ----------------------------------------------------------------------------------------

_level = st.one_of(
    st.sampled_from(
        [
            "",
            "+",
            "#",
            "$SYS",
            "facmon",
            "341122A001",
            "341122A002",
            "341122A004",
            "_batch",
            "E-MAIN",
            "IEQ-1F",
            "E-IT",
            "E-FAN",
            "shellies",
            "tele",
            "SENSOR",
            "STATE",
            "status",
            "events",
            "rpc",
            "online",
            "em:0",
            "switch:0",
            "emdata:0",
            "shellypro3em-c8f09e8a1b2c",
            "tasmota_A004_FAN",
            "\x00",
            "é/ü",
            "日本",
        ]
    ),
    st.text(max_size=12),
)
_structured_topics = st.one_of(
    st.builds(lambda b, d: f"facmon/{b}/{d}", _level, _level),
    st.builds(lambda c: f"{SHELLY}/status/{c}", _level),
    st.just(f"{SHELLY}/events/rpc"),
    st.builds(lambda d: f"shellies/341122A002/{d}/events/rpc", _level),
    st.builds(lambda d, k: f"tele/341122A004/{d}/{k}", _level, _level),
    st.just(f"{TASMOTA}/SENSOR"),
)
topics = st.one_of(
    st.lists(_level, min_size=1, max_size=8).map("/".join),
    _structured_topics,
    st.text(max_size=40),
    st.text(min_size=1, max_size=3).map(lambda t: "/".join([t] * 400)),  # very long
)

# -- payloads --------------------------------------------------------------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            0,
            -1,
            1714521600,
            1714521600.5,
            1714521600000,
            10**20,
            "NaN",
            "Infinity",
            "-0",
            "1e309",
            "2024-05-01T08:00:00",
            "2024-05-01T08:00:00+08:00",
            "0001-01-01T00:00:00",
            "9999-12-31T23:59:59Z",
            "",
            "null",
        ]
    ),
    st.text(max_size=20),
)
_keys = st.one_of(
    st.sampled_from(
        [
            "ts",
            "device",
            "readings",
            "register",
            "power",
            "temperature",
            "co2",
            "method",
            "params",
            "src",
            "switch:0",
            "em:0",
            "emdata:0",
            "em1:0",
            "em1data:0",
            "pm1:0",
            "sys",
            "aenergy",
            "total",
            "apower",
            "total_act",
            "total_act_power",
            "act_power",
            "total_act_energy",
            "Time",
            "ENERGY",
            "Total",
            "Power",
            "NotifyStatus",
        ]
    ),
    st.text(max_size=10),
)
json_values = st.recursive(
    _scalars,
    lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(_keys, children, max_size=6)),
    max_leaves=25,
)


def _dumps(value: object) -> bytes:
    try:
        return json.dumps(value, allow_nan=True).encode("utf-8", errors="surrogatepass")
    except (ValueError, OverflowError):  # e.g. an integer too long for json.dumps: send its repr instead
        return repr(value).encode("utf-8", errors="surrogatepass")


_numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=-(10**30), max_value=10**30), _scalars)
_shelly_component = st.fixed_dictionaries(
    {},
    optional={
        "aenergy": st.one_of(st.fixed_dictionaries({}, optional={"total": _numbers}), _scalars),
        "apower": _numbers,
        "total_act_power": _numbers,
        "total_act": _numbers,
        "act_power": _numbers,
        "total_act_energy": _numbers,
    },
)
_shelly_payloads = st.builds(
    lambda method, ts, components, extra: {
        "src": "x",
        "method": method,
        "params": {**({"ts": ts} if ts is not None else {}), **components, **extra},
    },
    st.sampled_from(["NotifyStatus", "NotifyFullStatus", "NotifyEvent", "Other", None]),
    st.one_of(st.none(), _scalars),
    st.dictionaries(
        st.sampled_from(["switch:0", "em:0", "emdata:0", "em1:0", "em1data:0", "pm1:0", "em:1", "light:255", "switch:x"]),
        _shelly_component,
        max_size=4,
    ),
    st.dictionaries(_keys, json_values, max_size=2),
)
_tasmota_payloads = st.builds(
    lambda time, energy: {"Time": time, "ENERGY": energy},
    _scalars,
    st.one_of(
        st.fixed_dictionaries(
            {},
            optional={
                "Total": st.one_of(_numbers, st.lists(_numbers, max_size=4)),
                "Power": st.one_of(_numbers, st.lists(_numbers, max_size=4)),
            },
        ),
        json_values,
    ),
)
_facmon_payloads = st.one_of(
    st.builds(lambda ts, fields: {"ts": ts, **fields}, _scalars, st.dictionaries(_keys, _numbers, max_size=4)),
    st.builds(lambda entries: {"readings": entries}, st.lists(st.dictionaries(_keys, json_values, max_size=5), max_size=4)),
)
payloads = st.one_of(
    st.binary(max_size=200),
    json_values.map(_dumps),
    _shelly_payloads.map(_dumps),
    _tasmota_payloads.map(_dumps),
    _facmon_payloads.map(_dumps),
    st.integers(min_value=1, max_value=100_000).map(lambda depth: b"[" * depth),  # deep nesting
)
# Topics and payloads that fit each other, so the fuzzing reaches the decoders' inner paths.
matched = st.one_of(
    st.tuples(st.just(f"{SHELLY}/events/rpc"), _shelly_payloads.map(_dumps)),
    st.tuples(
        st.sampled_from([f"{SHELLY}/status/{c}" for c in ("em:0", "emdata:0", "switch:0", "em1data:0", "sys")]),
        _shelly_component.map(_dumps),
    ),
    st.tuples(st.just(f"{TASMOTA}/SENSOR"), _tasmota_payloads.map(_dumps)),
    st.tuples(
        st.sampled_from(["facmon/341122A001/E-MAIN", "facmon/341122A001/_batch", "facmon/341122A004/E-FAN"]), _facmon_payloads.map(_dumps)
    ),
)


def check_rejections(rejections: list[Rejection], site) -> None:
    for rejection in rejections:
        assert isinstance(rejection, Rejection)
        assert rejection.reason in REASONS
        assert isinstance(rejection.building, str)
        assert isinstance(rejection.detail, str) and rejection.detail.strip()
        point = rejection_line(site, rejection, "t", "p", 1)
        assert "\n" not in point


def run_through(decoders: DecoderSet, validator: Validator, site, topic: str, payload: bytes) -> None:
    decoded = decoders.decode(topic, payload)
    assert isinstance(decoded, Decoded)
    check_rejections(decoded.rejections, site)
    for reading in decoded.readings:
        assert isinstance(reading.building, str) and isinstance(reading.device, str)
        assert isinstance(reading.ts_ns, int) and TS_MIN_NS <= reading.ts_ns < TS_MAX_NS
        assert reading.fields
        line, rejected = validator.check(reading)
        check_rejections(rejected, site)
        assert line is None or (isinstance(line, str) and "\n" not in line)
        assert line is not None or rejected, "a reading that stores nothing must say why"


@pytest.fixture(scope="module")
def pipeline(example_site):
    return DecoderSet.for_site(example_site), Validator(example_site), example_site


@FUZZ
@given(topic=topics, payload=payloads)
def test_any_topic_and_payload(pipeline, topic, payload):
    run_through(*pipeline, topic, payload)


@FUZZ
@given(pair=matched)
def test_payloads_shaped_like_each_convention(pipeline, pair):
    run_through(*pipeline, *pair)


@FUZZ
@given(
    building=st.one_of(st.sampled_from(["341122A001", "341122A002", "341122A004", ""]), st.text(max_size=12)),
    device=st.one_of(st.sampled_from(["E-MAIN", "IEQ-1F", "CH-1", "EL-1", "WX-ROOF", "E-FAN", ""]), st.text(max_size=12)),
    ts_ns=st.one_of(st.integers(), st.integers(min_value=TS_MIN_NS, max_value=TS_MAX_NS)),
    fields=st.dictionaries(_keys, json_values, min_size=1, max_size=5),
)
def test_validation_of_any_reading(pipeline, building, device, ts_ns, fields):
    _, validator, site = pipeline
    line, rejected = validator.check(Reading(building, device, ts_ns, fields))
    check_rejections(rejected, site)
    assert line is not None or rejected


def test_the_fuzzing_reaches_readings(pipeline):
    """A sanity check that the strategies are not all rejected at the first gate."""
    decoders, validator, site = pipeline
    now = __import__("time").time()
    decoded = decoders.decode(
        f"{SHELLY}/events/rpc", _dumps({"method": "NotifyStatus", "params": {"ts": now, "em:0": {"total_act_power": 1.0}}})
    )
    assert decoded.readings and validator.check(decoded.readings[0])[0] is not None
    assert not math.isnan(decoded.readings[0].fields["power"])
