"""Publishing simulated readings over MQTT, paced against the wall clock.

Topics and payloads (docs/collecting.md#mqtt-topics-and-payloads): one reading goes to ``<prefix>/<building>/<device>`` as
``{"ts": <epoch s>, "<field>": <number>, ...}``; with gateway batches one message per building and
tick goes to ``<prefix>/<building>/_batch`` as ``{"readings": [{"device": "<id>", "ts": ..., ...}]}``.
MQTT v5, QoS 1, a persistent session (one hour), up to 1000 messages in flight.

Logins (:func:`facmon.settings.simulator_auth`): one client with one login (or anonymous), or, on a
broker with the ACL of :mod:`facmon.broker_auth`, one client per building connected as that building's
gateway, so the broker holds the simulator to what each gateway may publish. A publish the broker
refuses (PUBACK reason 0x87 Not authorized) is counted as refused, never as published.

Acknowledgements are counted from ``on_publish`` (the broker's PUBACK), not from
``MessageInfo.wait_for_publish``: paho marks a message published while disconnected with
``rc = MQTT_ERR_NO_CONN`` and ``wait_for_publish`` then raises even though paho keeps the message
and delivers it after reconnecting.
"""

from __future__ import annotations

import json
import os
import ssl
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from facmon.broker_auth import MqttAuth
from facmon.errors import ServiceUnavailable, ServiceUnreachable, TlsVerificationFailed
from facmon.simulators.clock import epoch_s, utc_datetime
from facmon.simulators.site import Reading, SiteSimulator

QOS = 1
MAX_INFLIGHT = 1000
MAX_UNACKED = 50_000  # stop producing while this many messages wait for the broker (it is down)
SESSION_EXPIRY_S = 3600
CONNECT_TIMEOUT_S = 10.0
DRAIN_TIMEOUT_S = 30.0  # how long to wait for the last PUBACKs before giving up on them
CHUNK_S = 3600  # simulated seconds generated per call to SiteSimulator.readings


class PublishError(ServiceUnavailable):
    """The broker cannot be reached or refused the connection."""


class BrokerUnreachable(PublishError, ServiceUnreachable):
    """Nothing answers at the broker's address."""


class BrokerTlsFailed(PublishError, TlsVerificationFailed):
    """The broker answers, but its certificate does not verify against the CA file."""


def _payload(reading: Reading) -> bytes:
    return json.dumps({"ts": reading.ts, **reading.fields}, separators=(",", ":")).encode()


def _batch_payload(readings: list[Reading]) -> bytes:
    body = {"readings": [{"device": r.device, "ts": r.ts, **r.fields} for r in readings]}
    return json.dumps(body, separators=(",", ":")).encode()


class _AckLedger:
    """Which published messages the broker acknowledged, counted per (measurement, building).

    ``on_publish`` runs in paho's network thread with paho's lock held, so it only appends to a
    deque; the publishing thread matches acknowledgements to messages when it sweeps."""

    def __init__(self) -> None:
        self.acks: deque[tuple[Any, bool]] = deque()
        self.waiting: dict[Any, Counter[tuple[str, str]]] = {}
        self.early: dict[Any, bool] = {}  # acknowledgements that arrived before their message was recorded
        self.acknowledged: Counter[tuple[str, str]] = Counter()
        self.refused = 0

    def on_publish(self, client: mqtt.Client, userdata: object, mid: Any, reason_code: object, properties: object) -> None:
        ok = not getattr(reason_code, "is_failure", False)
        self.acks.append((mid, ok))

    def on_publish_of(self, key: str) -> Callable[..., None]:
        """``on_publish`` for one of several clients: its mids become ``(key, mid)`` (mids are per client)."""

        def on_publish(client: mqtt.Client, userdata: object, mid: int, reason_code: object, properties: object) -> None:
            self.on_publish(client, userdata, (key, mid), reason_code, properties)

        return on_publish

    def record(self, mid: Any, counts: Counter[tuple[str, str]]) -> None:
        self.waiting[mid] = counts

    def sweep(self) -> None:
        while self.acks:
            mid, ok = self.acks.popleft()
            self._settle(mid, ok)
        for mid in [m for m in self.early if m in self.waiting]:
            self._settle(mid, self.early.pop(mid))

    def _settle(self, mid: Any, ok: bool) -> None:
        counts = self.waiting.pop(mid, None)
        if counts is None:
            self.early[mid] = ok
            return
        if ok:
            self.acknowledged.update(counts)
        else:
            self.refused += sum(counts.values())


def publish(
    sim: SiteSimulator,
    host: str,
    port: int,
    start: datetime,
    duration_s: float,
    speed: float,
    *,
    topic_prefix: str,
    gateway_batches: bool = False,
    stop: threading.Event | None = None,
    progress: Callable[[int], None] | None = None,
    auth: MqttAuth | Mapping[str, MqttAuth] | None = None,
) -> Counter[tuple[str, str]]:
    """Publish readings over MQTT v5, QoS 1, paced so that simulated time runs ``speed`` times
    faster than wall time from ``start`` (aware datetime) for ``duration_s`` wall seconds
    (``math.inf`` for ever) or until ``stop`` is set.

    Each tick is published when the wall clock reaches it (ticks lagging behind are sent at once,
    none are skipped). Returns readings published per (measurement, building), counting only
    messages the broker acknowledged; waits up to 30 s for outstanding PUBACKs before returning.
    paho reconnects with backoff (1-30 s) if the broker restarts; unacknowledged messages are
    resent. ``progress(n)`` is called after each tick with the readings handed to the broker so far.
    ``auth``: one login for everything, or a login per building code (one client each; see the module
    docstring); None publishes anonymously.
    Raises :class:`PublishError` if the broker cannot be reached or refuses a login at the start."""
    if speed <= 0:
        raise ValueError(f"speed must be > 0, got {speed}")
    stop = stop or threading.Event()
    ledger = _AckLedger()
    logins: dict[str | None, MqttAuth]
    if isinstance(auth, Mapping):
        logins = dict(auth)
    else:
        logins = {None: auth or MqttAuth()}
    clients = {key: _Connection(key, login, ledger) for key, login in logins.items()}
    client: Any = clients[None].client if None in clients else _Gateways(topic_prefix, {k: c.client for k, c in clients.items() if k})
    started: list[_Connection] = []
    try:
        for connection in clients.values():
            connection.connect(host, port)
            started.append(connection)
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        for connection in clients.values():
            connection.wait_connected(host, port, deadline)
        _publish_paced(sim, client, ledger, start, duration_s, speed, topic_prefix, gateway_batches, stop, progress)
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while True:
            ledger.sweep()
            if not ledger.waiting or time.monotonic() > deadline:
                break
            time.sleep(0.02)
    finally:
        for connection in started:
            connection.client.disconnect()
            connection.client.loop_stop()
    return ledger.acknowledged


class _Connection:
    """One MQTT client of the simulator (the only one, or one building's gateway)."""

    def __init__(self, key: str | None, login: MqttAuth, ledger: _AckLedger):
        self.key = key
        self.login = login
        self.connected = threading.Event()
        self.refused: list[str] = []
        suffix = f"-{key}" if key else ""
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"facmon-sim-{os.getpid()}-{uuid.uuid4().hex[:8]}{suffix}",
            protocol=mqtt.MQTTv5,
        )
        login.apply(client)
        client.max_inflight_messages_set(MAX_INFLIGHT)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = ledger.on_publish_of(key) if key else ledger.on_publish
        self.client = client

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object, reason_code: object, properties: object) -> None:
        if getattr(reason_code, "is_failure", False):
            self.refused.append(str(reason_code))
        else:
            self.connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: object, reason_code: object, properties: object) -> None:
        self.connected.clear()

    def connect(self, host: str, port: int) -> None:
        session = Properties(PacketTypes.CONNECT)
        session.SessionExpiryInterval = SESSION_EXPIRY_S
        try:
            self.client.connect(host, port, keepalive=30, clean_start=mqtt.MQTT_CLEAN_START_FIRST_ONLY, properties=session)
        except ssl.SSLError as exc:  # an OSError too, but the broker was reached: say what to check instead
            raise BrokerTlsFailed(
                f"TLS with the MQTT broker at {host}:{port} failed ({self.login.describe()}, CA file {self.login.tls_ca}): {exc}"
            ) from None
        except OSError as exc:
            raise BrokerUnreachable(f"MQTT broker at {host}:{port} cannot be reached ({self.login.describe()}): {exc}") from None
        self.client.loop_start()

    def wait_connected(self, host: str, port: int, deadline: float) -> None:
        while not self.connected.wait(0.1):
            if self.refused:
                raise PublishError(f"MQTT broker at {host}:{port} refused the connection ({self.login.describe()}): {self.refused[0]}")
            if time.monotonic() > deadline:
                raise PublishError(f"MQTT broker at {host}:{port} did not accept the connection within {CONNECT_TIMEOUT_S:.0f} s")


class _PublishedTo:
    __slots__ = ("mid",)

    def __init__(self, mid: tuple[str, int]):
        self.mid = mid


class _Gateways:
    """Several clients, one per building, that publish like one: each topic goes out through the client of
    the building it names; message ids become ``(building, mid)``."""

    def __init__(self, prefix: str, clients: dict[str, mqtt.Client]):
        self.levels = prefix.count("/") + 1
        self.clients = clients

    def publish(self, topic: str, payload: bytes, qos: int = 0) -> _PublishedTo:
        building = topic.split("/")[self.levels]
        client = self.clients.get(building)
        if client is None:
            raise PublishError(f"no gateway login for building {building} (topic {topic}); run `facmon mqtt credentials`")
        return _PublishedTo((building, client.publish(topic, payload, qos=qos).mid))


def _publish_paced(
    sim: SiteSimulator,
    client: mqtt.Client,
    ledger: _AckLedger,
    start: datetime,
    duration_s: float,
    speed: float,
    topic_prefix: str,
    gateway_batches: bool,
    stop: threading.Event,
    progress: Callable[[int], None] | None,
) -> None:
    start_s = epoch_s(start)
    end_s = start_s + duration_s * speed  # may be inf
    wall_start = time.monotonic()
    handed = 0
    chunk_start = start_s
    while chunk_start < end_s and not stop.is_set():
        chunk_end = min(chunk_start + CHUNK_S, end_s)
        chunk_end_s = int(chunk_end) if chunk_end == int(chunk_end) else int(chunk_end) + 1
        for tick in sim.readings(utc_datetime(chunk_start), utc_datetime(chunk_end_s)):
            if tick[0].ts >= end_s:
                sim.seek(utc_datetime(tick[0].ts))  # not published: a later run starts with it
                return
            due = wall_start + (tick[0].ts - start_s) / speed
            while not stop.is_set():
                ledger.sweep()
                wait_s = due - time.monotonic()
                if len(ledger.waiting) >= MAX_UNACKED:
                    wait_s = max(wait_s, 0.1)  # the broker is not keeping up or is away: hold back
                elif wait_s <= 0:
                    break
                stop.wait(min(wait_s, 0.5))
            if stop.is_set():
                sim.seek(utc_datetime(tick[0].ts))  # not published: a later run starts with it
                return
            handed += _send_tick(sim, client, ledger, tick, topic_prefix, gateway_batches)
            if progress is not None:
                progress(handed)
        chunk_start = chunk_end_s


def _send_tick(sim: SiteSimulator, client: mqtt.Client, ledger: _AckLedger, tick: list[Reading], prefix: str, batches: bool) -> int:
    if batches:
        per_building: dict[str, list[Reading]] = {}
        for reading in tick:
            per_building.setdefault(reading.building, []).append(reading)
        for building, readings in per_building.items():
            info = client.publish(f"{prefix}/{building}/_batch", _batch_payload(readings), qos=QOS)
            ledger.record(info.mid, Counter((sim.measurement_of(r), building) for r in readings))
    else:
        for reading in tick:
            info = client.publish(f"{prefix}/{reading.building}/{reading.device}", _payload(reading), qos=QOS)
            ledger.record(info.mid, Counter({(sim.measurement_of(reading), reading.building): 1}))
    return len(tick)
