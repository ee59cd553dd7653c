"""The MQTT collector: subscribe, decode, validate, batch, write, and only then acknowledge.

Threads: the network thread of :class:`facmon.ingest.subscriber.Subscriber` runs the MQTT connection and
:meth:`Collector._on_messages`, which only decodes and validates the messages of one socket read (CPU,
no I/O) and queues the resulting lines. The thread that calls :meth:`Collector.run` is the writer: it
gathers queued messages into a batch, writes the batch when it holds ``batch_lines`` lines or its oldest
message is ``flush_interval_s`` old, and after the store accepted it acknowledges every message in the
batch, in the order they arrived.

Delivery guarantees (MQTT v5, QoS 1, persistent session with ``clean_start=False`` and a session
expiry interval): a message is acknowledged only after its readings and its rejections are stored.
While InfluxDB is unavailable the batch is kept and retried with backoff and nothing is
acknowledged: the broker stops sending once its in-flight window is full and queues the rest in the
session. A crash or restart loses nothing that was not acknowledged; the broker redelivers it and
the write is idempotent (same series and timestamp overwrite). Acknowledgements are tied to the
connection a message arrived on: after a reconnect the broker resends unacknowledged messages, and
acknowledgements for the old connection's packet ids are not sent (they could name other messages).

With a spool folder (``spool_dir``, see :mod:`facmon.ingest.spool`) a batch InfluxDB cannot take is
fsynced to disk and then acknowledged; the writer replays the spool oldest first, probing InfluxDB
with backoff, and while the spool holds anything new batches are appended behind it. When the spool
is full the writer holds the batch unacknowledged and takes nothing new: the broker stops at the
collector's Receive Maximum and keeps the rest of the backlog in the session.

What the store's failures mean (:func:`facmon.ingest.status.classify`: InfluxDB's disk full, the write
refused, InfluxDB unreachable, another server error) is tracked from every write's outcome and logged
once per change, not per batch; it is the ``store_error`` of ``ingest_stats`` and of the local status
file (``status_file``, :mod:`facmon.ingest.status`), which `facmon ingest status` reads while InfluxDB
takes no writes. ``ingest_stats`` points that cannot be written are kept in memory (at most
STATS_KEPT_MAX, thinned beyond) and written with the next one that can, so InfluxDB's history covers
the outage.

Scale-out (``shared_group``): the collector subscribes through ``$share/<group>/<filter>``. Mosquitto
2.0 hands each message of a shared subscription to one member session in turn, whether that member is
connected or not; an unacknowledged message stays in the session it was sent to and is redelivered
when that client id reconnects. So every collector of a group needs its own stable client id, and a
collector taken out of a group for good should be started once more to drain its session.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from facmon.broker_auth import DROPPED_TOPIC, MqttAuth
from facmon.errors import FacmonError
from facmon.ingest.decoders import Decoder, DecoderSet
from facmon.ingest.model import Reason, Rejection
from facmon.ingest.rejections import UniqueClock, payload_text, rejection_line
from facmon.ingest.sink import ReplayResult, Sink, SinkResult, SpoolingSink, StoreSink, is_reading
from facmon.ingest.spool import Spool, SpoolError, SpoolFull
from facmon.ingest.status import CollectorStatus, classify, write_status
from facmon.ingest.subscriber import Message, Subscriber, reason_text
from facmon.ingest.validation import Validator
from facmon.registry import Site
from facmon.schema.ingest import IngestStats, StoreProblem, ingest_stats_line
from facmon.stop import stop_on_signals
from facmon.store import MIN_REQUEST_TIMEOUT_S, InfluxStore, StoreRejected, StoreUnavailable

log = logging.getLogger("facmon.ingest")

SESSION_EXPIRY_S = 7 * 24 * 3600
KEEPALIVE_S = 30
BACKOFF_MIN_S = 0.5
FILL_PAUSE_S = 0.05  # how often the writer tops up a batch that is not yet due
BACKOFF_MAX_S = 5.0  # retrying a held batch: long pauses only delay recovery once InfluxDB is back
REPLAY_PROBE_MAX_S = 5.0  # longest pause between attempts to replay the spool while InfluxDB is away
REPLAY_SLICE_S = 1.0  # replay at most this long before looking at new messages again
SPOOL_RETRY_S = 1.0  # retry a batch the spool refused (full, disk error) this often: it costs no network
SPOOL_LOG_EVERY_S = 10.0  # repeat the "spool full" error this often while it lasts
DEFAULT_SPOOL_MAX_BYTES = 1024 * 1024 * 1024
# Unacknowledged messages the broker may send us. It bounds memory while a full spool holds batches
# (5,000 gateway batches of 50 readings is about 75 MB); bench/ingest.py drained faster with more.
DEFAULT_RECEIVE_MAXIMUM = 5000
# ingest_stats points kept while InfluxDB takes no writes (5.7 h at the default 10 s); beyond, every other
# one is dropped (the outage's first point stays), so a long outage is kept whole at a coarser step.
STATS_KEPT_MAX = 2048
GOODBYE_S = 10.0  # after the last write: send the last PUBACKs and DISCONNECT, then close the socket
SHUTDOWN_TIMEOUT_S = 30.0  # how long a stopping collector keeps trying to store what it holds


def stop_worst_case_s(store_timeout_s: float, shutdown_timeout_s: float = SHUTDOWN_TIMEOUT_S) -> float:
    """The longest a collector takes to stop after a stop request, s: the InfluxDB request under way when
    the request comes (up to the store's timeout; a spool replay slice adds at most REPLAY_SLICE_S before
    it), ``shutdown_timeout_s`` of attempts to store what is held (every request then ends by that
    deadline), two shortest requests past it (a held batch's rejection points, the final ingest_stats),
    and the MQTT goodbye. 72 s with the defaults (30 s timeouts), below systemd's 90 s TimeoutStopSec."""
    return store_timeout_s + REPLAY_SLICE_S + shutdown_timeout_s + 2 * MIN_REQUEST_TIMEOUT_S + GOODBYE_S


_BUILDING_TAG = re.compile(r",building=((?:[^,\\ ]|\\.)+)")


@dataclass
class Counters:
    """Cumulative counts since the collector started (a snapshot; see :attr:`Collector.counters`)."""

    received: int = 0  # MQTT messages received and handled
    written: int = 0  # readings (points of meter/ieq/equipment/weather) stored in InfluxDB (spooled ones once replayed)
    rejected: dict[str, int] = field(default_factory=dict)  # rejections stored in ingest_rejected, by reason
    write_errors: int = 0  # store writes that failed (unavailable, or refused as a whole)
    acked: int = 0  # PUBACKs sent
    spooled: int = 0  # readings in the local spool now, waiting for InfluxDB (a gauge)
    spool_bytes: int = 0  # size of the spool's files now, bytes
    spool_full: bool = False  # the spool refused the held batch (full or unwritable): nothing is being acknowledged
    unflushed: int = 0  # messages still held (not stored, not acknowledged) when run() returned
    newest_ts_ns: int = 0  # newest reading timestamp stored
    broker_dropped: int | None = None  # the broker's $SYS/broker/publish/messages/dropped, when it publishes it
    store_error: str = ""  # why writes to InfluxDB fail now (facmon.schema.ingest.StoreProblem), "" while they succeed
    store_error_detail: str = ""  # the last failed write's error
    store_error_since: float = 0.0  # epoch s when they started failing for that reason; 0.0 while they succeed

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


@dataclass(slots=True)
class _Inbound:
    """One received message, decoded and validated, waiting to be written and acknowledged."""

    mid: int
    qos: int
    generation: int  # connection the message arrived on
    topic: str
    payload: bytes  # for the store_rejected point, should InfluxDB refuse a reading
    lines: list[str]  # reading lines
    buildings: list[str]  # building of each reading line
    rejection_lines: list[str]
    reasons: list[str]  # reason of each rejection line
    newest_ts_ns: int


class _Batch:
    """Messages written together; ``origin[i]`` says where ``lines[i]`` came from: (message index, reason
    for a rejection point or None for a reading, building)."""

    def __init__(self) -> None:
        self.messages: list[_Inbound] = []
        self.lines: list[str] = []
        self.origin: list[tuple[int, str | None, str]] = []
        self.started = 0.0
        self.result: SinkResult | None = None
        self.extra: list[str] | None = None  # store_rejected points, built once
        self.extra_done = False
        self.attempts = 0
        self.error: Exception | None = None  # why the last attempt failed

    def add(self, item: _Inbound) -> None:
        if not self.messages:
            self.started = time.monotonic()
        index = len(self.messages)
        self.messages.append(item)
        self.lines.extend(item.lines)
        self.origin.extend((index, None, building) for building in item.buildings)
        self.lines.extend(item.rejection_lines)
        self.origin.extend((index, reason, "") for reason in item.reasons)

    def __bool__(self) -> bool:
        return bool(self.messages)


class Collector:
    """Subscribes to the site's topics and stores what arrives; see the module docstring."""

    def __init__(
        self,
        site: Site,
        store: InfluxStore,
        *,
        mqtt_host: str,
        mqtt_port: int,
        client_id: str = "facmon-ingest",
        batch_lines: int = 5000,
        flush_interval_s: float = 1.0,
        stats_interval_s: float = 10.0,
        shutdown_timeout_s: float = SHUTDOWN_TIMEOUT_S,
        receive_maximum: int = DEFAULT_RECEIVE_MAXIMUM,
        decoders: Sequence[Decoder] | None = None,
        sink: Sink | None = None,
        shared_group: str | None = None,
        spool_dir: Path | None = None,
        spool_max_bytes: int = DEFAULT_SPOOL_MAX_BYTES,
        auth: MqttAuth | None = None,
        login_expected: str | None = None,
        status_file: Path | None = None,
    ):
        """``login_expected``: why this broker should get a login (e.g. "FACMON_HOME/mqtt holds MQTT
        credentials"); when set and ``auth`` has no username, every connection logs a WARNING naming it.
        ``status_file``: where to keep the local status file (:mod:`facmon.ingest.status`), None for none."""
        if batch_lines < 1:
            raise ValueError("batch_lines must be at least 1")
        if not 1 <= receive_maximum <= 65535:
            raise ValueError("receive_maximum must be 1..65535 (MQTT v5)")
        if shared_group is not None and (not shared_group or any(ch in shared_group for ch in "/+#")):
            raise ValueError(f"shared group {shared_group!r} must be a non-empty name without '/', '+' or '#'")
        self.site = site
        self.store = store
        self.mqtt_host = mqtt_host
        self.mqtt_port = mqtt_port
        self.client_id = client_id
        self.batch_lines = batch_lines
        self.flush_interval_s = flush_interval_s
        self.stats_interval_s = stats_interval_s
        self.shutdown_timeout_s = shutdown_timeout_s
        self.receive_maximum = receive_maximum
        self.decoders = DecoderSet(decoders) if decoders else DecoderSet.for_site(site)
        self.shared_group = shared_group
        self.retire_on_stop = False  # `facmon ingest retire`: end the broker session at the stop (see _retire)
        self.retired = False
        self.spool: Spool | None = None
        if sink is None and spool_dir is not None:
            self.spool = Spool(Path(spool_dir), spool_max_bytes)
            try:
                self.spool.open()
            except OSError as exc:  # retried on the first batch that needs it; InfluxDB may never be away
                log.error("the spool folder %s cannot be used (%s): batches cannot be spooled until it can", spool_dir, exc)
            sink = SpoolingSink(StoreSink(store), self.spool, self._replay_rejection_line)
        self.sink: Sink = sink or StoreSink(store)
        store_sink = self.sink.store_sink if isinstance(self.sink, SpoolingSink) else self.sink
        if isinstance(store_sink, StoreSink) and store_sink.observer is None:
            store_sink.observer = self._store_outcome  # every write's outcome: the store's state
        self.status_file = status_file
        self.auth = auth or MqttAuth()  # login and TLS CA; the password never appears in a log line
        self.login_expected = login_expected
        self.validator = Validator(site)
        self._clock = UniqueClock()
        self._queue: queue.SimpleQueue[list[_Inbound]] = queue.SimpleQueue()  # the messages of one socket read
        self._carry: list[_Inbound] = []  # the rest of a read that did not fit the last batch (writer thread only)
        self._counters = Counters()
        self._counters_lock = threading.Lock()
        self._connected = threading.Event()
        self._closing = False
        self._closing_lock = threading.Lock()
        self._subscriber: Subscriber | None = None
        self._stats_failing = False
        self._stats_kept: list[str] = []  # ingest_stats points InfluxDB did not take yet, oldest first
        self._status_failing = False
        self._holding = False  # a batch is held (not stored, not spooled) and retried
        self._replay_backoff = 0.0
        self._spool_logged_at = -SPOOL_LOG_EVERY_S  # last "spool full" error, monotonic s
        self._refresh_spool_counters()

    # -- observability ---------------------------------------------------------------------------

    @property
    def counters(self) -> Counters:
        """A consistent snapshot of the counters; safe to read from any thread."""
        with self._counters_lock:
            return replace(self._counters, rejected=dict(self._counters.rejected))

    @property
    def connected(self) -> threading.Event:
        """Set while the collector is connected and the broker has confirmed its subscription."""
        return self._connected

    def topic_filters(self) -> list[str]:
        """What the collector subscribes to: the decoders' filters, through ``$share/<group>/`` when shared."""
        filters = list(self.decoders.topic_filters)
        if self.shared_group is None:
            return filters
        return [f"$share/{self.shared_group}/{topic_filter}" for topic_filter in filters]

    # -- MQTT ------------------------------------------------------------------------------------

    def _make_subscriber(self) -> Subscriber:
        """The MQTT connection, with the collector's login and, when a CA is given, TLS verifying the broker."""
        return Subscriber(
            self.mqtt_host,
            self.mqtt_port,
            self.client_id,
            [(topic_filter, 1) for topic_filter in self.topic_filters()] + [(DROPPED_TOPIC, 0)],
            on_messages=self._on_messages,
            on_subscribed=self._on_subscribed,
            on_connection_lost=self._on_connection_lost,
            auth=self.auth,
            keepalive_s=KEEPALIVE_S,
            session_expiry_s=SESSION_EXPIRY_S,
            receive_maximum=self.receive_maximum,
        )

    def _on_subscribed(self, generation: int, reason_codes: list[int]) -> None:
        # `connected` is set only once the broker has confirmed the subscription: a publisher that
        # waits for it can be sure that its messages are routed to this session.
        filters = self.topic_filters()
        refused = [f"{topic_filter} ({reason_text(code)})" for topic_filter, code in zip(filters, reason_codes) if code >= 0x80]
        if refused:
            log.error("the broker refused the subscription to %s", ", ".join(refused))
            return
        self._connected.set()
        log.info("subscribed to %s", ", ".join(filters))
        if self.auth.username is None and self.login_expected:
            log.warning(
                "connected anonymously to the MQTT broker %s:%d, although %s: anyone may publish into the site's topics; "
                "set FACMON_MQTT_USERNAME/PASSWORD or run the broker with authentication (`facmon stack up --auth`)",
                self.mqtt_host,
                self.mqtt_port,
                self.login_expected,
            )

    def _on_connection_lost(self, reason: str) -> None:
        self._connected.clear()
        if not self._closing:
            log.warning("lost the connection to the MQTT broker (%s); reconnecting, unacknowledged messages will be redelivered", reason)

    def _on_messages(self, generation: int, messages: list[Message]) -> None:
        """Decode and validate the messages of one read and queue them for the writer (network thread)."""
        delivery: list[_Inbound] = []
        for message in messages:
            try:
                item = self._inbound(message, generation)
            except Exception:  # never let one message stop the others; it stays unacknowledged
                log.exception("unexpected error handling a message (packet id %d); it stays unacknowledged", message.packet_id)
                continue
            if item is not None:
                delivery.append(item)
        if not delivery:
            return
        with self._closing_lock:
            if self._closing:
                return  # not acknowledged: the broker redelivers them to the next session
            self._queue.put(delivery)
        with self._counters_lock:
            self._counters.received += len(delivery)

    def _inbound(self, message: Message, generation: int) -> _Inbound | None:
        try:
            topic = message.topic.decode("utf-8")
        except UnicodeDecodeError:
            topic = message.topic.decode("utf-8", errors="replace")
        if topic == DROPPED_TOPIC:
            self._broker_dropped(message.payload)
            return None
        payload = message.payload
        rejections: list[Rejection] = []
        lines: list[str] = []
        buildings: list[str] = []
        newest = 0
        try:
            decoded = self.decoders.decode(topic, payload)
            rejections.extend(decoded.rejections)
            for reading in decoded.readings:
                reading_line, problems = self.validator.check(reading)
                rejections.extend(problems)
                if reading_line is not None:
                    lines.append(reading_line)
                    buildings.append(reading.building)
                    newest = max(newest, reading.ts_ns)
        except Exception as exc:  # a decoder bug must not lose the message: store it as a rejection
            log.exception("error decoding a message on %s", topic)
            lines, buildings, newest = [], [], 0
            rejections = [Rejection(Reason.INTERNAL_ERROR, "", f"collector error decoding this message: {type(exc).__name__}: {exc}")]
        shown = payload_text(payload) if rejections else ""
        return _Inbound(
            mid=message.packet_id,
            qos=message.qos,
            generation=generation,
            topic=topic,
            payload=payload,
            lines=lines,
            buildings=buildings,
            rejection_lines=[rejection_line(self.site, r, topic, shown, self._clock.next()) for r in rejections],
            reasons=[r.reason.value for r in rejections],
            newest_ts_ns=newest,
        )

    def _broker_dropped(self, payload: bytes) -> None:
        try:
            dropped = int(payload.decode().strip())
        except (ValueError, UnicodeDecodeError):
            return
        with self._counters_lock:
            before = self._counters.broker_dropped
            self._counters.broker_dropped = dropped
        if before is not None and dropped > before:
            log.warning(
                "the broker dropped %d message(s) since its last report (%s = %d): raise max_queued_messages / "
                "max_inflight_messages in mosquitto.conf",
                dropped - before,
                DROPPED_TOPIC,
                dropped,
            )

    # -- writing ---------------------------------------------------------------------------------

    def _fill(self, batch: _Batch, timeout: float) -> None:
        """Add queued messages to the batch: wait up to ``timeout`` for the first, then take what is there.

        A batch that already holds messages is topped up after a pause of at most FILL_PAUSE_S instead of
        blocking on the queue: blocking would wake this thread for every single message, and each wake-up
        costs the network thread a GIL hand-over (about 10% of the collector's CPU at 7,000 messages/s)."""
        if self._carry:
            delivery, self._carry = self._carry, []
        else:
            if batch and timeout > 0:
                time.sleep(min(timeout, FILL_PAUSE_S))
                timeout = 0
            try:
                delivery = self._queue.get(timeout=max(timeout, 0.0)) if timeout > 0 else self._queue.get_nowait()
            except queue.Empty:
                return
        while True:
            for i, item in enumerate(delivery):
                # A batch stops at batch_lines even inside one socket read (which may hold thousands of
                # messages): the rest waits for the next batch, so a write, and a spooled record, stay that small.
                if batch and len(batch.lines) + len(item.lines) + len(item.rejection_lines) > self.batch_lines:
                    self._carry = delivery[i:]
                    return
                batch.add(item)
            if len(batch.lines) >= self.batch_lines:
                return
            try:
                delivery = self._queue.get_nowait()
            except queue.Empty:
                return

    def _due(self, batch: _Batch) -> bool:
        # A batch holding half the Receive Maximum is due at once: the broker keeps sending the other half
        # while it is written, instead of stalling until the whole window is acknowledged.
        return bool(batch) and (
            len(batch.lines) >= self.batch_lines
            or bool(self._carry)  # the next message did not fit
            or len(batch.messages) >= max(1, self.receive_maximum // 2)
            or time.monotonic() - batch.started >= self.flush_interval_s
        )

    def _commit(self, batch: _Batch) -> bool:
        """Store the batch and acknowledge its messages; False when the store cannot take it now."""
        try:
            if batch.result is None:
                result = self.sink.write(batch.lines)
                own = [(i, msg) for i, msg in result.refused if batch.origin[i][1] is not None]
                if own:
                    raise StoreUnavailable(f"InfluxDB refused {len(own)} ingest_rejected point(s), e.g. {own[0][1]}")
                batch.result = result
            if batch.result.refused and batch.extra is None:
                batch.extra = [self._store_rejected_line(batch, index, message) for index, message in batch.result.refused]
            if batch.extra and not batch.extra_done:
                extra = self.sink.write(batch.extra)
                if extra.refused:
                    raise StoreUnavailable(f"InfluxDB refused {len(extra.refused)} ingest_rejected point(s), e.g. {extra.refused[0][1]}")
                batch.extra_done = True
        except Exception as exc:  # StoreUnavailable, or a bug: either way hold the batch, never crash
            batch.attempts += 1
            batch.error = exc
            self._holding = True
            with self._counters_lock:
                self._counters.write_errors += 1
            if isinstance(exc, SpoolError):
                self._spool_refused(batch, exc)
                return False
            # The store's state is logged once per change (_store_outcome); a held batch's retries are not.
            (log.warning if batch.attempts == 1 else log.debug)(
                "cannot store %d line(s) of %d message(s) (attempt %d): %s; holding them unacknowledged and retrying",
                len(batch.lines),
                len(batch.messages),
                batch.attempts,
                exc,
                exc_info=not isinstance(exc, StoreUnavailable),
            )
            return False
        self._holding = False
        if batch.attempts:
            log.info("stored the held batch after %d failed attempt(s)", batch.attempts)
        self._account(batch)
        self._ack(batch)
        if self._counters.spool_full:
            log.warning("the spool takes batches again: acknowledging resumes")
        self._refresh_spool_counters(full=False)
        return True

    def _spool_refused(self, batch: _Batch, exc: SpoolError) -> None:
        """InfluxDB and the spool both refused the batch: say so loudly (every SPOOL_LOG_EVERY_S), hold it."""
        self._refresh_spool_counters(full=True)
        now = time.monotonic()
        if now - self._spool_logged_at < SPOOL_LOG_EVERY_S:
            return
        self._spool_logged_at = now
        size_mb = self.spool.bytes / 1e6 if self.spool is not None else 0.0
        if isinstance(exc, SpoolFull):
            log.error(
                "spool full (%.1f MB): not acknowledging, the broker holds the backlog (%d message(s) held here); "
                "InfluxDB is still unavailable. Bring InfluxDB back or raise --spool-max-mb",
                size_mb,
                len(batch.messages),
            )
        else:
            log.error(
                "the spool cannot take the batch (%s): not acknowledging, the broker holds the backlog (%d message(s) held here)",
                exc,
                len(batch.messages),
            )

    def _retry_delay(self, batch: _Batch, backoff: float) -> float:
        """Seconds until the held batch is tried again."""
        return SPOOL_RETRY_S if isinstance(batch.error, SpoolError) else backoff

    # -- spool -----------------------------------------------------------------------------------

    def _refresh_spool_counters(self, full: bool | None = None) -> None:
        spool = self.spool
        with self._counters_lock:
            if spool is not None:
                self._counters.spooled = spool.readings
                self._counters.spool_bytes = spool.bytes
            if full is not None:
                self._counters.spool_full = full

    def _replay_rejection_line(self, refused: str, message: str) -> str:
        """The ``ingest_rejected`` point for a spooled reading that InfluxDB refuses on replay (the
        message it came from is long acknowledged: the point names the refused line instead)."""
        match = _BUILDING_TAG.search(refused.split(" ", 1)[0])
        building = match.group(1) if match else ""
        detail = f"InfluxDB refused the spooled point {refused[:300]!r}: {message}"
        log.warning("InfluxDB refused a spooled point: %s", message)
        return rejection_line(self.site, Rejection(Reason.STORE_REJECTED, building, detail), "", "", self._clock.next())

    def _replay(self) -> float:
        """Replay spooled batches for up to REPLAY_SLICE_S; returns when (monotonic s) to try again."""
        sink = self.sink
        if not isinstance(sink, SpoolingSink) or not sink.pending:
            return float("inf")
        until = time.monotonic() + REPLAY_SLICE_S
        replayed = 0
        while sink.pending and time.monotonic() < until:
            try:
                result = sink.replay()
            except Exception as exc:  # InfluxDB still away (or a bug): the batch stays first in the spool
                first = self._replay_backoff == 0
                self._replay_backoff = min(max(self._replay_backoff * 2, BACKOFF_MIN_S), REPLAY_PROBE_MAX_S)
                spool = sink.spool
                (log.warning if first else log.debug)(
                    "cannot replay the spool (%d reading(s), %.1f MB) yet: %s; probing again every %.0f s at most",
                    spool.readings,
                    spool.bytes / 1e6,
                    exc,
                    REPLAY_PROBE_MAX_S,
                    exc_info=not isinstance(exc, StoreUnavailable),
                )
                self._refresh_spool_counters()
                return time.monotonic() + self._replay_backoff
            if result is None:
                break
            replayed += 1
            self._account_replay(result)
        self._refresh_spool_counters()
        if replayed and self._replay_backoff:
            spool = sink.spool
            log.info("replaying the spool to InfluxDB: %d reading(s), %.1f MB to go", spool.readings, spool.bytes / 1e6)
        self._replay_backoff = 0.0
        if replayed and not sink.pending:
            log.info("the spool is drained: every spooled reading is in InfluxDB")
        return time.monotonic()

    def _account_replay(self, result: ReplayResult) -> None:
        refused_readings = sum(1 for text, _ in result.refused if is_reading(text))
        with self._counters_lock:
            counters = self._counters
            counters.written += result.readings
            if refused_readings:
                reason = Reason.STORE_REJECTED.value
                counters.rejected[reason] = counters.rejected.get(reason, 0) + refused_readings
            counters.newest_ts_ns = max(counters.newest_ts_ns, result.newest_ts_ns)

    def _store_rejected_line(self, batch: _Batch, index: int, message: str) -> str:
        message_index, _, building = batch.origin[index]
        inbound = batch.messages[message_index]
        refused = batch.lines[index]
        detail = f"InfluxDB refused the point {refused[:300]!r}: {message}"
        log.warning("InfluxDB refused a point from %s: %s", inbound.topic, message)
        return rejection_line(
            self.site, Rejection(Reason.STORE_REJECTED, building, detail), inbound.topic, payload_text(inbound.payload), self._clock.next()
        )

    def _account(self, batch: _Batch) -> None:
        assert batch.result is not None
        refused = {index for index, _ in batch.result.refused}
        spooled = batch.result.spooled > 0  # a spooled batch's readings count as written once replayed
        written = 0
        rejected: dict[str, int] = {}
        for index, (_, reason, _) in enumerate(batch.origin):
            if reason is None:
                if index not in refused and not spooled:
                    written += 1
            else:
                rejected[reason] = rejected.get(reason, 0) + 1
        if refused:
            rejected[Reason.STORE_REJECTED.value] = rejected.get(Reason.STORE_REJECTED.value, 0) + len(refused)
        newest = 0 if spooled else max((m.newest_ts_ns for m in batch.messages), default=0)
        with self._counters_lock:
            counters = self._counters
            counters.written += written
            for reason, count in rejected.items():
                counters.rejected[reason] = counters.rejected.get(reason, 0) + count
            counters.newest_ts_ns = max(counters.newest_ts_ns, newest)

    def _ack(self, batch: _Batch) -> None:
        subscriber = self._subscriber
        by_generation: dict[int, list[int]] = {}
        for message in batch.messages:
            if message.qos:
                by_generation.setdefault(message.generation, []).append(message.mid)
        acked = stale = 0
        for generation, packet_ids in by_generation.items():
            sent = subscriber.ack(generation, packet_ids) if subscriber is not None else 0
            acked += sent
            stale += len(packet_ids) - sent  # arrived on an earlier connection: the broker redelivers them
        with self._counters_lock:
            self._counters.acked += acked
        if stale:
            log.info("%d message(s) arrived before a reconnect and are not acknowledged; the broker redelivers them", stale)

    def stats_line(self) -> str:
        """The ``ingest_stats`` point for now (:class:`facmon.schema.ingest.IngestStats`): cumulative
        counts since start, the spool, the broker's drops and the lag behind the newest stored reading."""
        counters = self.counters
        now = time.time_ns()
        lag = max(0.0, (now - counters.newest_ts_ns) / 1e9) if counters.newest_ts_ns else 0.0
        stats = IngestStats(
            collector=self.client_id,
            time_ns=now,
            received=float(counters.received),
            written=float(counters.written),
            rejected=float(counters.rejected_total),
            spooled=float(counters.spooled),
            spool_bytes=float(counters.spool_bytes),
            spool_full=bool(counters.spool_full),
            lag_s=lag,
            broker_dropped=None if counters.broker_dropped is None else float(counters.broker_dropped),
            rejected_by_reason={reason: float(count) for reason, count in counters.rejected.items()},
            mqtt_login=self.auth.username is not None,
            mqtt_tls=bool(self.auth.tls_ca),
            store_error=counters.store_error,
        )
        return ingest_stats_line(stats)

    def _write_stats(self) -> None:
        """Write an ``ingest_stats`` point, with those kept since InfluxDB last took one."""
        try:
            self.store.write([*self._stats_kept, self.stats_line()])
        except Exception as exc:  # self-metrics are best effort: the next ones carry the same cumulative counts
            with self._counters_lock:
                self._counters.write_errors += 1
            refused_points = isinstance(exc, StoreRejected) and exc.status in (400, 413)
            if refused_points:  # about the points, not the store (a field type conflict): they never will be taken
                self._stats_kept.clear()
            else:
                self._store_outcome(exc)
                self._keep_stats(self.stats_line())  # made again: it carries the store's state this failure shows
            (log.debug if self._stats_failing else log.warning)(
                "cannot write ingest_stats: %s%s", exc, "" if refused_points else "; they are kept and written once InfluxDB takes them"
            )
            self._stats_failing = True
            return
        if self._stats_failing:
            log.info("ingest_stats are written again (with %d kept since InfluxDB last took one)", len(self._stats_kept))
        self._stats_failing = False
        self._stats_kept.clear()
        if not self._holding and not self._spool_pending():
            self._store_outcome(None)  # InfluxDB takes writes and nothing waits: also an idle collector sees it recover

    def _keep_stats(self, stats: str) -> None:
        self._stats_kept.append(stats)
        if len(self._stats_kept) > STATS_KEPT_MAX:
            del self._stats_kept[1::2]  # every other one: the first stays, the step doubles

    # -- the store's state -----------------------------------------------------------------------

    def _store_outcome(self, exc: BaseException | None) -> None:
        """The outcome of a write to InfluxDB (None: it took it). Logs and records the store's state when it changes."""
        problem = "" if exc is None else classify(exc).value
        now = time.time()
        with self._counters_lock:
            counters = self._counters
            before, since = counters.store_error, counters.store_error_since
            if exc is not None:
                counters.store_error_detail = str(exc).strip()
            if problem == before:
                return
            counters.store_error = problem
            counters.store_error_since = now if problem else 0.0
            if not problem:
                counters.store_error_detail = ""
        if problem:
            spool = self.spool
            if spool is not None:
                where = f"batches go to the spool {spool.folder} and are written once it takes them again"
            else:
                where = "the batch is held unacknowledged and retried, and the broker keeps the backlog"
            level = logging.WARNING if problem in (StoreProblem.UNREACHABLE, StoreProblem.SERVER_ERROR) else logging.ERROR
            hint = f" ({exc.hint})" if problem == StoreProblem.DISK_FULL and isinstance(exc, FacmonError) and exc.hint else ""
            log.log(level, "%s: %s; %s%s", StoreProblem(problem).text, str(exc).strip(), where, hint)
        else:
            log.info("InfluxDB takes writes again, after %.0f s of %s", now - since, StoreProblem(before).text)
        self._write_status()

    def _write_status(self, running: bool = True) -> None:
        """Replace the local status file (when the collector has one); a failure is logged, never raised."""
        if self.status_file is None:
            return
        counters = self.counters
        status = CollectorStatus(
            collector=self.client_id,
            pid=os.getpid(),
            running=running,
            updated_at=time.time(),
            influx_url=self.store.url,
            database=self.store.database,
            store_error=counters.store_error,
            store_error_detail=counters.store_error_detail,
            store_error_since=counters.store_error_since or None,
            spooled=counters.spooled,
            spool_bytes=counters.spool_bytes,
            spool_full=counters.spool_full,
            spool_folder=None if self.spool is None else str(self.spool.folder),
            received=counters.received,
            written=counters.written,
        )
        try:
            write_status(self.status_file, status)
        except OSError as exc:
            (log.debug if self._status_failing else log.warning)("cannot write the status file %s: %s", self.status_file, exc)
            self._status_failing = True
            return
        if self._status_failing:
            log.info("the status file %s is written again", self.status_file)
        self._status_failing = False

    # -- lifecycle -------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Collect until ``stop`` is set; then store and acknowledge what was received, write final
        stats and disconnect, within :func:`stop_worst_case_s`. Messages arriving after ``stop`` stay
        unacknowledged for the next session. ``stop`` may be a :class:`facmon.stop.StopRequest`, whose
        reason is logged."""
        subscriber = self._subscriber = self._make_subscriber()
        with self._closing_lock:
            self._closing = False
        subscriber.start()
        log.info(
            "collector %s starting: %s://%s:%d (%s) -> %r",
            self.client_id,
            "mqtts" if self.auth.tls_ca else "mqtt",
            self.mqtt_host,
            self.mqtt_port,
            self.auth.describe(),
            self.store,
        )
        batch = _Batch()
        backoff = BACKOFF_MIN_S
        retry_at = 0.0
        replay_at = 0.0  # when to replay the spool next, monotonic s (while it holds anything)
        next_stats = time.monotonic() + self.stats_interval_s
        self._write_status()
        try:
            while not stop.is_set():
                now = time.monotonic()
                if now >= next_stats:
                    self._write_stats()
                    self._write_status()
                    next_stats = now + self.stats_interval_s
                spooling = self._spool_pending()
                if spooling and now >= replay_at:  # the spool goes first, also while a batch is held
                    replay_at = self._replay()
                    now = time.monotonic()
                    spooling = self._spool_pending()
                if batch.attempts:  # a held batch: retry it before taking anything new
                    if now < retry_at:
                        stop.wait(max(0.0, min(retry_at, next_stats, replay_at if spooling else retry_at) - now))
                        continue
                    if self._commit(batch):
                        batch, backoff = _Batch(), BACKOFF_MIN_S
                    else:
                        backoff = min(backoff * 2, BACKOFF_MAX_S)
                        retry_at = time.monotonic() + self._retry_delay(batch, backoff)
                    continue
                wait = min(next_stats - now, 0.2)
                if spooling:
                    wait = min(wait, replay_at - now)
                if batch:
                    wait = min(wait, batch.started + self.flush_interval_s - now)
                self._fill(batch, wait)
                if self._due(batch):
                    if self._commit(batch):
                        batch = _Batch()
                    else:
                        retry_at = time.monotonic() + self._retry_delay(batch, backoff)
        finally:
            self._shutdown(batch, getattr(stop, "reason", None) or "stop requested")

    def _queued_messages(self) -> int:
        held, self._carry = len(self._carry), []
        while True:
            try:
                held += len(self._queue.get_nowait())
            except queue.Empty:
                return held

    def _spool_pending(self) -> bool:
        return isinstance(self.sink, SpoolingSink) and self.sink.pending

    def _retire(self, subscriber: Subscriber) -> None:
        """End the broker's session at this stop, so it routes no more of a shared stream to this client id; only
        when nothing is held or spooled (else the session is kept and the collector must run once more)."""
        with self._counters_lock:
            held = self._counters.unflushed
        spooled = 0 if self.spool is None else self.spool.readings
        if held == 0 and spooled == 0:
            subscriber.end_session_on_close = True
            self.retired = True
            log.info("collector %s retired: its broker session ends with this disconnect", self.client_id)
        else:
            log.error(
                "collector %s not retired: %d message(s) held and %d reading(s) spooled; its session is kept, run it again",
                self.client_id,
                held,
                spooled,
            )

    def _shutdown(self, batch: _Batch, reason: str) -> None:
        with self._closing_lock:
            self._closing = True
        log.info("%s: collector %s stores what is held, then stops", reason, self.client_id)
        deadline = time.monotonic() + self.shutdown_timeout_s
        try:
            with self.store.deadline(deadline):  # a slow InfluxDB cannot hold the stop beyond the deadline
                held = self._store_held(batch, deadline)
                with self._counters_lock:
                    self._counters.unflushed = held
                self._refresh_spool_counters()
                self._write_stats()
        finally:
            subscriber = self._subscriber
            if subscriber is not None:
                if self.retire_on_stop:
                    self._retire(subscriber)
                subscriber.stop(GOODBYE_S)
            self._connected.clear()
            if self.spool is not None:
                self.spool.close()
                if self.spool:
                    log.warning(
                        "%d reading(s) (%.1f MB) stay in the spool %s; the next start of %s replays them to InfluxDB",
                        self.spool.readings,
                        self.spool.bytes / 1e6,
                        self.spool.folder,
                        self.client_id,
                    )
            self._write_status(running=False)
            counters = self.counters
            log.info(
                "collector %s stopped: %d message(s) received, %d reading(s) stored, %d rejected, %d acknowledged",
                self.client_id,
                counters.received,
                counters.written,
                counters.rejected_total,
                counters.acked,
            )

    def _store_held(self, batch: _Batch, deadline: float) -> int:
        """Store and acknowledge what is held and queued, until done or ``deadline`` (monotonic s); returns
        how many messages are left unacknowledged for the broker to redeliver."""
        backoff = BACKOFF_MIN_S
        while True:
            if not batch.attempts:  # a held batch may be half written: never add to it
                self._fill(batch, 0)
            if not batch:
                return 0
            if self._commit(batch):
                batch, backoff = _Batch(), BACKOFF_MIN_S
                continue
            if time.monotonic() + backoff > deadline:
                held = len(batch.messages) + self._queued_messages()
                log.error(
                    "stopping with %d message(s) not stored and not acknowledged: the broker keeps them in the "
                    "session and redelivers them when the collector starts again",
                    held,
                )
                return held
            time.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_S)


def run_until_signalled(collector: Collector) -> int:
    """Run the collector until SIGTERM or SIGINT (see :mod:`facmon.stop`); exit code 0 when everything
    received was stored and acknowledged, 1 when messages were left for the broker to redeliver. Call
    from the main thread."""
    with stop_on_signals() as stop:
        collector.run(stop)
    return 0 if collector.counters.unflushed == 0 else 1
