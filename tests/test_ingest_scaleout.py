"""Scale-out: collectors sharing one stream through ``$share/<group>/...`` store every reading (once
or more, writes are idempotent), none lost; and `facmon ingest status` reports on each of them."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections import Counter

import pytest

from facmon.schema import device_kind
from tests.ingest_process import IngestProcess
from tests.test_ingest import (  # noqa: F401 - publisher is a fixture
    A002,
    A003,
    A004,
    FACMON,
    TS,
    good_fields,
    publisher,
    purge_session,
    running,
    series_counts,
    wait_for,
)


def publish_rounds(publisher, site, rounds: range) -> Counter:
    """One reading per device of three buildings per round; returns readings per (measurement, building, device)."""
    expected: Counter = Counter()
    for code in (A002, A003, A004):
        for device in site.building(code).all_devices():
            kind = device_kind(device)
            for i in rounds:
                publisher.publish(f"facmon/{code}/{device.id}", {"ts": TS + 300 * i, **good_fields(device, i)})
                expected[(kind, code, device.id if kind != "weather" else "weather")] += 1
    publisher.wait()
    return expected


@pytest.fixture
def group() -> str:
    return f"g{uuid.uuid4().hex[:8]}"


def test_two_collectors_sharing_a_stream_store_every_reading(stack, store, example_site, publisher, group):
    ids = [f"test-share-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    try:
        with (
            running(example_site, store, stack, ids[0], shared_group=group) as first,
            running(example_site, store, stack, ids[1], shared_group=group) as second,
        ):
            filters = first.topic_filters()
            assert f"$share/{group}/facmon/#" in filters and all(f.startswith(f"$share/{group}/") for f in filters)
            expected = publish_rounds(publisher, example_site, range(4))
            messages = sum(expected.values())
            wait_for(lambda: first.counters.acked + second.counters.acked == messages, 30, "every message stored and acknowledged")
            # Each message went to one member of the group, and both took a share.
            assert first.counters.received + second.counters.received == messages
            assert first.counters.received > 0 and second.counters.received > 0

            # A member that stops keeps its persistent session, and Mosquitto 2.0 goes on routing its
            # share of the stream there; it is delivered when that client id comes back.
        more = publish_rounds(publisher, example_site, range(4, 6))
        with running(example_site, store, stack, ids[0], shared_group=group) as first:
            wait_for(lambda: first.counters.written > 0, 30, "the first member's share")
            partial = series_counts(store)
            assert sum(partial.values()) < sum((expected + more).values()), "the stopped member's session holds its share"
            with running(example_site, store, stack, ids[1], shared_group=group):
                wait_for(lambda: series_counts(store) == expected + more, 30, "every reading of every series stored")
        assert series_counts(store) == expected + more
    finally:
        for client_id in ids:
            purge_session(stack, client_id)


def test_facmon_ingest_shared_processes_share_and_ingest_status_reports_each(stack, store, stack_env, example_site, publisher, group):
    ids = [f"test-share-cli-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    empty = subprocess.run([FACMON, "ingest", "status"], env=stack_env, capture_output=True, text=True, timeout=60)
    assert empty.returncode == 1 and "no collector has reported yet" in empty.stderr

    processes: list[IngestProcess] = []
    try:
        for client_id in ids:
            processes.append(
                IngestProcess(stack_env, "--client-id", client_id, "--shared", group, "--stats-interval", "0.5", "--flush-interval", "0.2")
            )
        for process in processes:
            process.wait_subscribed()
            assert any(f"$share/{group}/facmon/#" in entry for entry in process.log), "".join(process.log)
        expected = publish_rounds(publisher, example_site, range(3))
        publisher.publish(f"facmon/{A004}/E-MAIN", b"{oops")  # one rejection, reported by reason
        publisher.wait()
        wait_for(lambda: series_counts(store) == expected, 30, "every reading stored")

        def reported() -> list[dict]:
            result = subprocess.run(
                [FACMON, "ingest", "status", "--format", "json"], env=stack_env, capture_output=True, text=True, timeout=60
            )
            assert result.returncode == 0, result.stderr
            rows = [row for row in json.loads(result.stdout)["collectors"] if row["collector"] in ids]
            done = len(rows) == 2 and sum(row["written"] for row in rows) == sum(expected.values())
            return rows if done and sum(row.get("rejected_bad_json", 0) for row in rows) == 1 else []

        rows = {row["collector"]: row for row in wait_for(reported, 30, "ingest_stats of both collectors")}
        for client_id in ids:
            row = rows[client_id]
            assert row["written"] > 0 and row["spooled"] == 0 and row["spool_full"] == 0 and row["age_s"] < 60
            assert {"received", "rejected", "spool_bytes", "lag"} <= set(row)
        assert sum(row["rejected"] for row in rows.values()) == 1
        table = subprocess.run([FACMON, "ingest", "status"], env=stack_env, capture_output=True, text=True, timeout=60)
        assert table.returncode == 0 and all(client_id in table.stdout for client_id in ids), table.stdout + table.stderr
        assert "bad_json 1" in table.stdout, table.stdout
        for process in processes:
            assert process.terminate() == 0, "".join(process.log)
    finally:
        for process in processes:
            if process.process.poll() is None:
                process.process.kill()
                process.process.wait()
        for client_id in ids:
            purge_session(stack, client_id)


def test_a_retired_member_s_backlog_is_stored_and_the_broker_routes_it_no_more_of_the_stream(
    stack, store, stack_env, example_site, publisher, group
):
    ids = [f"test-retire-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    try:
        with running(example_site, store, stack, ids[0], shared_group=group):
            with running(example_site, store, stack, ids[1], shared_group=group):
                pass  # the second member joins the group, then stops: its session (and its share) stays
            expected = publish_rounds(publisher, example_site, range(3))
            retired = subprocess.run(
                [FACMON, "ingest", "retire", "--client-id", ids[1], "--shared", group, "--idle-s", "2"],
                env=stack_env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert retired.returncode == 0 and "retired" in retired.stdout, retired.stdout + retired.stderr
            wait_for(lambda: series_counts(store) == expected, 30, "the backlog of the retired member stored too")
            # from now on the whole stream goes to the member that is left: nothing waits in a dead session
            more = publish_rounds(publisher, example_site, range(3, 5))
            wait_for(lambda: series_counts(store) == expected + more, 30, "every new reading stored by the remaining member")
    finally:
        for client_id in ids:
            purge_session(stack, client_id)
