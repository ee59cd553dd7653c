"""The collector's own measurements through their writers and readers (facmon.schema.ingest), on a real
InfluxDB: ``ingest_stats`` (every counter a float, the newest point of each collector read back whole)
and ``ingest_rejected`` (texts made printable and truncated, a building tag only when given)."""

from __future__ import annotations

from facmon.schema.ingest import (
    DETAIL_LIMIT,
    IngestStats,
    RejectedInput,
    StoreProblem,
    ingest_stats_line,
    is_rejected_line,
    latest_ingest_stats,
    read_rejected,
    rejected_details,
    rejected_line,
    store_problem_text,
)
from facmon.store import InfluxStore

MS = 1_000_000
S = 1_000_000_000
T0 = 1_767_000_000 * S  # a fixed instant, whole milliseconds (the reader reads to the millisecond)


def stats(collector: str, time_ns: int, received: float, **more) -> IngestStats:
    values = dict(written=8.0, rejected=2.0, spooled=0.0, spool_bytes=0.0, spool_full=False, lag_s=1.5)
    values.update(more)
    return IngestStats(collector, time_ns, received, **values)


def test_an_ingest_stats_point_stores_every_counter_as_a_float_in_a_fixed_order() -> None:
    point = stats("c1", T0, 10, written=8, spooled=3, spool_bytes=4096, spool_full=True, lag_s=0.25, broker_dropped=7)
    point = IngestStats(**{**point.__dict__, "rejected_by_reason": {"out_of_range": 1, "bad_json": 1}})
    assert ingest_stats_line(point) == (
        "ingest_stats,collector=c1 received=10.0,written=8.0,rejected=2.0,spooled=3.0,spool_bytes=4096.0,spool_full=1.0,lag=0.25,"
        f"broker_dropped=7.0,rejected_bad_json=1.0,rejected_out_of_range=1.0 {T0}"
    )
    assert "broker_dropped" not in ingest_stats_line(stats("c1", T0, 10))


def test_the_newest_stats_point_of_each_collector_reads_back_whole(store: InfluxStore) -> None:
    older = stats("c1", T0, 5.0, rejected_by_reason={"bad_json": 2.0})
    newer = stats("c1", T0 + 10 * S + 123 * MS, 9.0, broker_dropped=4.0, rejected_by_reason={"bad_json": 2.0})
    other = stats("c0", T0 + 5 * S, 1.0, rejected=0.0, spool_full=True)
    store.write([ingest_stats_line(p) for p in (older, newer, other)])
    assert latest_ingest_stats(store) == [other, newer]
    assert newer.time_s == 1_767_000_010_123 / 1000  # what InfluxDB's epoch=ms answer gives, exactly
    assert latest_ingest_stats(store)[1].fields() == newer.fields()


def test_the_store_s_state_is_a_string_field_read_back_and_absent_from_older_points(store: InfluxStore) -> None:
    full = stats("c1", T0, 3.0, store_error="disk_full")
    fine = stats("c2", T0, 3.0, store_error="")
    assert ingest_stats_line(full).endswith(f',store_error="disk_full" {T0}') and ',store_error="" ' in ingest_stats_line(fine)
    assert "store_error" not in ingest_stats_line(stats("c3", T0, 3.0))  # a collector too old to say
    store.write([ingest_stats_line(p) for p in (full, fine, stats("c3", T0, 3.0))])
    assert [(s.collector, s.store_error) for s in latest_ingest_stats(store)] == [("c1", "disk_full"), ("c2", ""), ("c3", None)]
    assert [store_problem_text(s.store_error) for s in latest_ingest_stats(store)] == ["InfluxDB disk full", "ok", "-"]
    assert {problem.value for problem in StoreProblem} == {"disk_full", "refused", "unreachable", "server_error", "other"}


def test_no_collector_has_reported(store: InfluxStore) -> None:
    assert latest_ingest_stats(store) == []


def test_a_rejection_is_stored_printable_and_truncated_and_reads_back(store: InfluxStore) -> None:
    rejected = RejectedInput("out_of_range", "341122A001", "facmon/341122A001/E-MAIN", '{"power": -5}\x07', "E-MAIN power -5 below 0", T0)
    text = rejected_line(rejected)
    assert text == (
        'ingest_rejected,building=341122A001,reason=out_of_range topic="facmon/341122A001/E-MAIN",payload="{\\"power\\": -5}\\\\x07",'
        f'detail="E-MAIN power -5 below 0" {T0}'
    )
    assert is_rejected_line(text) and not is_rejected_line(f"meter,building=341122A001 power=1.0 {T0}")
    long = RejectedInput("bad_json", "", "t", "p", "d" * 5000, T0 + 1)
    assert ",building=" not in rejected_line(long) and f'detail="{"d" * (DETAIL_LIMIT - 1)}…"' in rejected_line(long)
    store.write([text, rejected_line(long)])
    assert read_rejected(store, "341122A001", "out_of_range", T0 // S, T0 // S + 1) == [
        RejectedInput("out_of_range", "341122A001", "facmon/341122A001/E-MAIN", '{"power": -5}\\x07', "E-MAIN power -5 below 0", T0)
    ]
    assert rejected_details(store, "341122A001", "out_of_range", T0 // S, T0 // S + 1) == [(T0 // S, "E-MAIN power -5 below 0")]
    assert rejected_details(store, "341122A001", "bad_json", T0 // S, T0 // S + 1) == []
