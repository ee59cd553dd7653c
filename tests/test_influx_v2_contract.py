"""The HTTP requests facmon sends to InfluxDB, checked against what InfluxDB 2.x's v1-compatible API accepts.

No InfluxDB 2.x server can run here (Debian packages 1.x only), so this is a contract test: a recording server
answers as 2.x does for the routes facmon uses, and every request facmon's store and collector sink send is
checked against the contract below. The contract is written from influxdata's own documents, read for this
test (and not copied here):

- the OpenAPI document of the v1-compatible endpoints, influxdata/openapi ``contracts/swaggerV1Compat.yml``
  (commit 0c8d6ab): ``POST /write`` with query ``db`` (required), ``rp``, ``precision``, ``u``, ``p`` and a
  text/plain line-protocol body; ``/query`` with ``db`` (required), ``rp``, ``q``, ``u``, ``p`` and an
  ``Accept`` of application/json, application/csv, text/csv or application/x-msgpack; security
  ``Authorization: Token <token>``, HTTP basic or ``u``/``p``;
- InfluxDB 2.x's code, which wins where the two disagree: influxdata/influxdb ``http/legacy/influxqld_handler.go``
  (commit 13397ee) also reads ``epoch``, ``chunked``, ``chunk_size`` and ``params``, and serves ``/query`` for any
  method; ``influxql/query/proxy_executor.go`` (commit 1b39126) runs every query read-only (so ``CREATE DATABASE``
  is answered HTTP 200 with the statement's error "not implemented: CREATE DATABASE", as influxdata/influxdb
  issue #22255 shows) and converts times to ``epoch`` in chunked answers too; ``influxql/query/response_writer.go``
  (commit 3bf84b8) writes CSV as ``name,tags,<columns>`` once per statement across chunks.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

TOKEN = "contract-test-token"
WRITE_PARAMS = {"db", "rp", "precision", "u", "p"}
WRITE_PRECISIONS = {"ns", "n", "us", "u", "ms", "s", "m", "h"}
QUERY_PARAMS = {"db", "rp", "q", "u", "p", "epoch", "chunked", "chunk_size", "params"}
QUERY_EPOCHS = {"ns", "u", "ms", "s", "m", "h"}
QUERY_ACCEPT = {"application/json", "application/csv", "text/csv", "application/x-msgpack", "*/*"}


class InfluxV2(BaseHTTPRequestHandler):
    """Answers as InfluxDB 2.x's v1-compatible API does for facmon's routes, recording every request."""

    requests: list[dict] = []

    def log_message(self, *args: object) -> None:
        pass

    def _record(self) -> dict:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        form = parse_qs(split.query, keep_blank_values=True)
        if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            form.update(parse_qs(body.decode(), keep_blank_values=True))
        request = {"method": self.command, "path": split.path, "params": form, "headers": dict(self.headers), "body": body}
        InfluxV2.requests.append(request)
        return request

    def _answer(self, status: int, body: bytes = b"", content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self) -> None:
        request = self._record()
        if self.headers.get("Authorization") != f"Token {TOKEN}":
            return self._answer(401, b'{"code":"unauthorized","message":"unauthorized access"}')
        if request["path"] == "/ping":
            return self._answer(204)
        if request["path"] == "/write":
            return self._answer(204)
        if request["path"] == "/query":
            q = request["params"].get("q", [""])[0]
            if q.upper().startswith("CREATE"):
                return self._answer(200, b'{"results":[{"statement_id":0,"error":"not implemented: CREATE DATABASE"}]}\n')
            if self.headers.get("Accept") == "application/csv":
                return self._answer(200, b"name,tags,time,register\nmeter,,1700000000,12.5\nmeter,,1700000900,13\n", "application/csv")
            series = {"name": "meter", "columns": ["time", "register"], "values": [[1700000000, 12.5]]}
            return self._answer(200, json.dumps({"results": [{"statement_id": 0, "series": [series]}]}).encode())
        return self._answer(404, b'{"code":"not found","message":"path not found"}')

    do_GET = do_POST = _route


@pytest.fixture
def influx_v2(tmp_path: Path):  # type: ignore[no-untyped-def]
    InfluxV2.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), InfluxV2)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def check_against_contract(request: dict) -> list[str]:
    """What in ``request`` the v1-compatible API of InfluxDB 2.x would not accept (empty: all of it)."""
    problems = []
    params = {name: values[0] for name, values in request["params"].items()}
    if request["headers"].get("Authorization") != f"Token {TOKEN}":
        problems.append("no Authorization: Token header")
    if request["path"] == "/ping":
        return problems + ([] if request["method"] in ("GET", "HEAD") else [f"/ping by {request['method']}"])
    if request["path"] == "/write":
        if request["method"] != "POST":
            problems.append(f"/write by {request['method']}")
        problems += [f"/write parameter {name!r}" for name in set(params) - WRITE_PARAMS]
        if not params.get("db"):
            problems.append("/write without db")
        if params.get("precision", "ns") not in WRITE_PRECISIONS:
            problems.append(f"precision {params['precision']!r}")
        if not request["headers"].get("Content-Type", "").startswith("text/plain"):
            problems.append("/write body is not text/plain")
        return problems
    if request["path"] == "/query":
        problems += [f"/query parameter {name!r}" for name in set(params) - QUERY_PARAMS]
        if not params.get("db"):
            problems.append("/query without db")
        if not params.get("q"):
            problems.append("/query without q")
        if params.get("epoch", "s") not in QUERY_EPOCHS:
            problems.append(f"epoch {params['epoch']!r}")
        accept = request["headers"].get("Accept", "*/*")
        if accept not in QUERY_ACCEPT:
            problems.append(f"Accept {accept!r}")
        return problems
    return [f"a route the v1-compatible API does not have: {request['method']} {request['path']}"]


def test_every_request_facmon_sends_is_one_influxdb_2_accepts(influx_v2: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from facmon.ingest.sink import StoreSink
    from facmon.settings import Endpoints, open_store

    token_file = tmp_path / "influx-token"
    token_file.write_text(TOKEN + "\n")
    monkeypatch.delenv("FACMON_INFLUX_TOKEN", raising=False)
    monkeypatch.setenv("FACMON_INFLUX_TOKEN_FILE", str(token_file))  # as a service gets it: a file, never the command line
    store = open_store(Endpoints("127.0.0.1", 1883, influx_v2, "facmon"))

    assert store.ping()
    assert store.create_database() is False  # 2.x: the database is a DBRP mapping made when the server is set up
    store.write(["meter,building=341122A001,meter=E-MAIN register=12.5 1700000000000000000"])
    assert store.rows('SELECT "register" FROM "meter"') == [{"time": 1700000000, "register": 12.5}]
    times, values = store.field_series("meter", "register", {"building": "341122A001", "meter": "E-MAIN"}, 1700000000, 1700003600)
    assert times.tolist() == [1700000000, 1700000900] and values.tolist() == [12.5, 13.0]
    store.times_where_true("equipment", "running", {"building": "341122A001"}, 1700000000, 1700003600)
    result = StoreSink(store).write(["meter,building=341122A001,meter=E-MAIN register=13 1700000900000000000"])
    assert not result.refused

    assert {(r["method"], r["path"]) for r in InfluxV2.requests} >= {
        ("GET", "/ping"),
        ("POST", "/write"),
        ("GET", "/query"),
        ("POST", "/query"),
    }
    problems = {f"{r['method']} {r['path']}": check_against_contract(r) for r in InfluxV2.requests}
    assert all(not found for found in problems.values()), problems


def test_the_contract_check_refuses_what_influxdb_2_would_refuse() -> None:
    def request(method: str, path: str, headers: dict | None = None, **params: str) -> dict:
        return {"method": method, "path": path, "params": {k: [v] for k, v in params.items()}, "headers": headers or {}, "body": b""}

    token = {"Authorization": f"Token {TOKEN}", "Content-Type": "text/plain"}
    assert check_against_contract(request("POST", "/write", token, db="facmon", precision="ns")) == []
    assert check_against_contract(request("POST", "/write", {}, db="facmon")) == [
        "no Authorization: Token header",
        "/write body is not text/plain",
    ]
    assert check_against_contract(request("GET", "/write", token, db="facmon")) == ["/write by GET"]
    assert check_against_contract(request("POST", "/write", token, db="facmon", consistency="all")) == ["/write parameter 'consistency'"]
    assert check_against_contract(request("GET", "/query", token, q="SHOW DATABASES")) == ["/query without db"]
    assert check_against_contract(request("GET", "/query", token, db="facmon", q="x", epoch="rfc3339")) == ["epoch 'rfc3339'"]
    assert check_against_contract(request("POST", "/api/v2/write", token)) == [
        "a route the v1-compatible API does not have: POST /api/v2/write"
    ]
