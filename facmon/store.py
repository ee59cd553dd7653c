"""The InfluxDB store: line-protocol writes to ``/write`` and InfluxQL reads from ``/query``.

InfluxDB 1.x serves this API natively and 2.x through its v1 compatibility endpoints, so one small
client serves both. Written by hand on ``requests`` rather than with ``influxdb-client``'s ``Point``:
formatting a line here is a few string joins, several times faster per point, and backfill writes
millions of them.
"""

from __future__ import annotations

import math
import re
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import requests

from facmon.errors import FacmonError, ServiceUnavailable, ServiceUnreachable, TlsVerificationFailed

FieldValue = float | int | bool | str
# The shortest timeout a request gets under a deadline (InfluxStore.deadline), s: long enough for a
# healthy server on the same network to answer a small write.
MIN_REQUEST_TIMEOUT_S = 0.5


class StoreError(FacmonError):
    """InfluxDB did not accept a request."""


class StoreUnavailable(StoreError, ServiceUnavailable):
    """InfluxDB cannot be reached or failed server-side: the same request may succeed later."""


class StoreUnreachable(StoreUnavailable, ServiceUnreachable):
    """Nothing answers at InfluxDB's address."""


class StoreTlsFailed(StoreUnavailable, TlsVerificationFailed):
    """InfluxDB answers, but its certificate does not verify."""


# How InfluxDB says that its disk is full: it passes the operating system's error on. InfluxDB 1.6 answers
# a write it cannot append to its WAL with HTTP 500 and
# {"error":"engine: error writing WAL entry: write <wal-dir>/<db>/<rp>/<shard>/_00001.wal: no space left on device"}
# (ENOSPC; a write that creates a shard may name <data-dir>/.../fields.idx.tmp instead); a quota gives EDQUOT's
# text. It goes on answering so for that shard after space is freed, until it is restarted
# (tests/test_ingest_disk_full.py).
_DISK_FULL_TEXTS = ("no space left on device", "disk quota exceeded")


class StoreDiskFull(StoreUnavailable):
    """InfluxDB answers, but cannot store anything: the disk under its data or WAL folder is full. Reads
    still work. InfluxDB 1.x keeps refusing writes to a shard whose WAL write failed until it is restarted,
    also once there is space again."""

    default_hint = (
        "Free space on the InfluxDB host's disk (its data and WAL folders: `df -h` there), then restart InfluxDB "
        "(1.x refuses writes to a shard whose WAL write failed until it restarts)."
    )


class StoreRejected(StoreError):
    """InfluxDB refused the request itself (bad line, type conflict, unknown database): retrying will not help."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status  # HTTP status, None for an error reported inside a 200 query response


def _escape_key(text: str) -> str:
    # Most keys and tag values need no escaping: four `in` tests are cheaper than four replace() calls.
    if "\\" in text or "," in text or "=" in text or " " in text:
        return text.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")
    return text


def _escape_measurement(text: str) -> str:
    return text.replace("\\", "\\\\").replace(",", "\\,").replace(" ", "\\ ")


def _format_field(key: str, value: FieldValue) -> str:
    if isinstance(value, bool):
        return f"{_escape_key(key)}={'true' if value else 'false'}"
    if isinstance(value, (int, float)):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"field {key!r} is {value!r}; InfluxDB cannot store NaN or infinity")
        # Every number is written as a float so a field never changes type between writes
        # (InfluxDB refuses a float where an integer was stored before, and vice versa).
        return f"{_escape_key(key)}={number!r}"
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'{_escape_key(key)}="{escaped}"'


def line(measurement: str, tags: Mapping[str, str], fields: Mapping[str, FieldValue], time_ns: int) -> str:
    """One line of line protocol; ``time_ns`` is nanoseconds since the Unix epoch (UTC)."""
    if not fields:
        raise ValueError(f"a {measurement} point needs at least one field")
    tag_part = "".join(f",{_escape_key(k)}={_escape_key(v)}" for k, v in sorted(tags.items()) if v != "")
    field_part = ",".join(_format_field(k, v) for k, v in fields.items())
    return f"{_escape_measurement(measurement)}{tag_part} {field_part} {int(time_ns)}"


_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def quote_identifier(name: str) -> str:
    """An InfluxQL identifier (measurement, tag or field name) in double quotes; the one quoting facmon uses."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_string(value: str) -> str:
    """An InfluxQL string literal (e.g. a tag value in a WHERE clause) in single quotes; the one quoting facmon uses."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class InfluxStore:
    """A database on an InfluxDB server, through the v1 HTTP API.

    Credentials are sent as HTTP basic auth (1.x user/password) or an ``Authorization: Token``
    header (2.x), never in the URL, so they cannot leak into logs of URLs or error messages.
    """

    def __init__(
        self,
        url: str,
        database: str,
        *,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        timeout_s: float = 30.0,
    ):
        self.url = url.rstrip("/")
        self.database = database
        self.timeout_s = timeout_s
        self._deadline: float | None = None  # monotonic s; see deadline()
        self._session = requests.Session()
        if token:
            self._session.headers["Authorization"] = f"Token {token}"
        elif username:
            self._session.auth = (username, password or "")

    def __repr__(self) -> str:
        return f"InfluxStore({self.url!r}, database={self.database!r})"

    def close(self) -> None:
        self._session.close()

    @contextmanager
    def deadline(self, monotonic_s: float) -> Iterator[None]:
        """Within the block, each request's timeout is cut so that it ends by ``monotonic_s`` (a
        ``time.monotonic()`` value), but is never below MIN_REQUEST_TIMEOUT_S: how a stopping collector
        bounds its last writes against a slow server."""
        previous, self._deadline = self._deadline, monotonic_s
        try:
            yield
        finally:
            self._deadline = previous

    def _timeout_s(self) -> float:
        if self._deadline is None:
            return self.timeout_s
        return max(MIN_REQUEST_TIMEOUT_S, min(self.timeout_s, self._deadline - time.monotonic()))

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            response = self._session.request(method, f"{self.url}{path}", timeout=self._timeout_s(), **kwargs)
        except requests.exceptions.SSLError:
            # Reached, but its certificate is not trusted; the exception text is not repeated (it may quote the URL's query).
            raise StoreTlsFailed(
                f"InfluxDB at {self.url}: TLS failed (its certificate does not verify against the system's CAs or REQUESTS_CA_BUNDLE)"
            ) from None
        except requests.RequestException as exc:
            raise StoreUnreachable(f"InfluxDB at {self.url} cannot be reached: {type(exc).__name__}") from None
        if response.status_code >= 500:
            if any(text in response.text.lower() for text in _DISK_FULL_TEXTS):
                raise StoreDiskFull(
                    f"InfluxDB at {self.url} has no disk space left ({response.status_code}): {response.text[:300].strip()}"
                )
            raise StoreUnavailable(f"InfluxDB at {self.url} failed ({response.status_code}): {response.text[:300]}")
        if response.status_code >= 400:
            raise StoreRejected(
                f"InfluxDB at {self.url} refused {path} ({response.status_code}): {response.text[:500]}", status=response.status_code
            )
        return response

    def ping(self) -> bool:
        """True when the server answers ``/ping``."""
        try:
            self._request("GET", "/ping")
        except StoreError:
            return False
        return True

    def create_database(self) -> bool:
        """Create the database if it does not exist (harmless when it does); False when the server manages its
        databases itself: InfluxDB 2.x answers the v1 API's ``CREATE DATABASE`` with "not implemented" (there the
        database is a DBRP mapping to a bucket, made when the server is set up: docs/deploy.md), as 3.x may."""
        try:
            self.query(f'CREATE DATABASE "{self.database}"', method="POST")
        except StoreRejected as exc:
            if "not implemented" in str(exc).lower() or "not supported" in str(exc).lower():
                return False
            raise
        return True

    def write(self, lines: Sequence[str] | Iterable[str], precision: str = "ns") -> None:
        """Write line-protocol lines in one request; raises StoreUnavailable or StoreRejected."""
        body = "\n".join(lines)
        if not body:
            return
        self._request(
            "POST",
            "/write",
            params={"db": self.database, "precision": precision},
            data=body.encode("utf-8"),
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )

    def query(self, influxql: str, *, epoch: str = "s", method: str = "GET") -> list[dict[str, Any]]:
        """Run InfluxQL; returns the series of the first statement as dicts with name, tags, columns, values."""
        response = self._request(method, "/query", params={"db": self.database, "q": influxql, "epoch": epoch})
        results = response.json().get("results", [])
        if not results:
            return []
        first = results[0]
        if "error" in first:
            raise StoreRejected(f"InfluxDB refused the query {influxql!r}: {first['error']}")
        series: list[dict[str, Any]] = first.get("series", [])
        return series

    def field_series(
        self, measurement: str, field: str, tags: Mapping[str, str], start_s: int, end_s: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Times (epoch seconds) and values of one numeric field of the points matching ``tags`` in [start_s, end_s).

        Columnar and fast for long series: asks ``/query`` for CSV in chunks (chunked answers are not
        cut at the server's max-row-limit) and parses the numbers in C, about 20× quicker than JSON rows.
        """
        for name in (measurement, field, *tags):
            if not _PLAIN_NAME.match(name):
                raise ValueError(f"{name!r}: field_series takes plain measurement, field and tag names")
        where = "".join(f" AND {quote_identifier(key)}={quote_string(value)}" for key, value in sorted(tags.items()))
        influxql = f'SELECT "{field}" FROM "{measurement}" WHERE time >= {int(start_s)}s AND time < {int(end_s)}s{where}'
        response = self._request(
            "GET",
            "/query",
            params={"db": self.database, "q": influxql, "epoch": "s", "chunked": "true", "chunk_size": "50000"},
            headers={"Accept": "application/csv"},
        )
        body = response.content
        header_end = body.find(b"\n")
        if header_end < 0 or not body.strip():
            return np.empty(0, dtype=np.int64), np.empty(0)
        header = body[:header_end]
        if header != f"name,tags,time,{field}".encode():
            raise StoreRejected(f"InfluxDB answered the query {influxql!r} with {body[:300]!r}")
        rows = body[header_end + 1 :]
        n_rows = rows.count(b"\n") + (0 if rows.endswith(b"\n") or not rows else 1)
        text = rows.replace(f"{measurement},,".encode(), b"").replace(b"\n", b",").decode()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # numpy warns, then stops, at text that is no number
                numbers = np.fromstring(text, sep=",")
        except ValueError:
            numbers = np.empty(0)
        if numbers.size != 2 * n_rows:
            raise StoreRejected(f"InfluxDB's answer to {influxql!r} holds a value that is not a number (field {field!r})")
        return numbers[0::2].astype(np.int64), numbers[1::2]

    def times_where_true(self, measurement: str, field: str, tags: Mapping[str, str], start_s: int, end_s: int) -> np.ndarray:
        """Times (epoch seconds) in [start_s, end_s) where the boolean ``field`` of the points matching ``tags`` is true."""
        for name in (measurement, field, *tags):
            if not _PLAIN_NAME.match(name):
                raise ValueError(f"{name!r}: times_where_true takes plain measurement, field and tag names")
        where = "".join(f" AND {quote_identifier(key)}={quote_string(value)}" for key, value in sorted(tags.items()))
        rows = self.rows(
            f'SELECT "{field}" FROM "{measurement}" WHERE "{field}" = true AND time >= {int(start_s)}s AND time < {int(end_s)}s{where}'
        )
        return np.array([int(row["time"]) for row in rows], dtype=np.int64)

    def rows(self, influxql: str, *, epoch: str = "s") -> list[dict[str, Any]]:
        """Run InfluxQL and flatten every series into row dicts that include the series' tags."""
        flat: list[dict[str, Any]] = []
        for series in self.query(influxql, epoch=epoch):
            tags = series.get("tags", {})
            for values in series["values"]:
                flat.append({**tags, **dict(zip(series["columns"], values))})
        return flat
