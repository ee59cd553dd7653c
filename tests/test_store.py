"""The InfluxDB store against a real InfluxDB: what is written comes back, refusals say why."""

from __future__ import annotations

import pytest

from facmon.stack import free_port
from facmon.store import InfluxStore, StoreRejected, StoreUnavailable, line


def test_awkward_tags_and_fields_round_trip(store):
    tags = {"building": "341122A001", "meter": "E 1,=x"}
    store.write([line("meter", tags, {"register": 12.5, "detail": 'say "hi" \\ there', "ok": True}, 1_700_000_000_000_000_000)])
    (row,) = store.rows('SELECT * FROM "meter"')
    assert row["meter"] == "E 1,=x"
    assert (row["register"], row["detail"], row["ok"]) == (12.5, 'say "hi" \\ there', True)
    assert row["time"] == 1_700_000_000


def test_integers_are_stored_as_floats_so_a_field_never_changes_type(store):
    store.write([line("equipment", {"building": "B"}, {"running": 1}, 1_000_000_000)])
    store.write([line("equipment", {"building": "B"}, {"running": 0.5}, 2_000_000_000)])
    assert [row["running"] for row in store.rows('SELECT "running" FROM "equipment"')] == [1.0, 0.5]


def test_nan_is_refused_before_it_reaches_the_server():
    with pytest.raises(ValueError, match="field 'co2' is nan"):
        line("ieq", {"building": "B"}, {"co2": float("nan")}, 0)


def test_a_bad_line_is_refused_with_the_http_status(store):
    with pytest.raises(StoreRejected) as refused:
        store.write(["meter,building=B register=notanumber 1"])
    assert refused.value.status == 400


def test_an_unknown_database_is_refused_with_404(stack):
    with pytest.raises(StoreRejected) as refused:
        InfluxStore(stack.influx_url, "no_such_database").write([line("m", {}, {"v": 1.0}, 1)])
    assert refused.value.status == 404


def test_an_unreachable_server_is_unavailable_and_the_message_keeps_credentials_out():
    store = InfluxStore(f"http://127.0.0.1:{free_port()}", "facmon", username="officer", password="s3cret-pass", timeout_s=2)
    with pytest.raises(StoreUnavailable) as unavailable:
        store.write([line("m", {}, {"v": 1.0}, 1)])
    assert "cannot be reached" in str(unavailable.value)
    assert "s3cret-pass" not in str(unavailable.value) and "officer" not in str(unavailable.value)
    assert not store.ping()


def test_an_influxdb_whose_certificate_is_not_trusted_is_named_as_a_tls_failure(tmp_path, monkeypatch):
    import http.server
    import ssl
    import threading

    from facmon.broker_auth import ensure_tls_files

    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    files = ensure_tls_files(tmp_path / "tls", "127.0.0.1")  # a private CA nobody here trusts
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files["cert"], files["key"])
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"https://127.0.0.1:{server.server_address[1]}"
        with pytest.raises(StoreUnavailable, match=f"InfluxDB at {url}: TLS failed") as failed:
            InfluxStore(url, "facmon", timeout_s=5).write([line("m", {}, {"v": 1.0}, 1)])
        assert "cannot be reached" not in str(failed.value)
    finally:
        server.shutdown()
        server.server_close()
