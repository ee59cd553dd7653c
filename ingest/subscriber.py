"""A minimal MQTT v5 subscriber for the collector: QoS 1, persistent session, acknowledgements on demand.

Why not paho-mqtt here: paho spends about 65 µs of Python per received message (packet objects,
callbacks, its own locks), which capped one collector near 10,000 readings/s while the broker
delivers 50,000+ on this kind of machine (docs/benchmarks.md). This client parses every complete
packet of a 1 MB read in one pass (a few µs per PUBLISH) and hands the collector one list per read.
It implements only what a subscribing collector needs: CONNECT (username/password, clean start off,
session expiry, Receive Maximum), SUBSCRIBE, PUBLISH in (QoS 0 and 1), PUBACK out, PINGREQ,
DISCONNECT, reconnection with backoff and TLS. paho-mqtt stays the client of the simulator and tests.

Threads: one network thread owns the socket (all reads and writes: an SSL socket must not be used
from two threads at once). :meth:`Subscriber.ack` may be called from any thread: it queues the
PUBACKs and wakes the network thread through a socket pair.

Flow control: a message counts as outstanding from delivery until it is acknowledged. While
``max_outstanding`` messages are outstanding the network thread stops reading the socket, so TCP
pushes back on the broker. Mosquitto honours the Receive Maximum for live traffic but sends a queued
backlog without that limit; without this pause a collector resuming a large session would read the
whole backlog into memory.

Acknowledgements are tied to the connection a message arrived on (its *generation*): after a
reconnect the broker resends every unacknowledged message, and packet ids of the old connection
may already name other messages, so late acknowledgements for an old generation are dropped.
"""

from __future__ import annotations

import logging
import select
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from facmon.broker_auth import MqttAuth

log = logging.getLogger("facmon.ingest")

READ_SIZE = 1 << 20  # bytes per read; a read usually holds hundreds of small PUBLISH packets
RECONNECT_MIN_S = 1.0
RECONNECT_MAX_S = 30.0
CLOSE_TIMEOUT_S = 2.0  # waiting for the broker to close after our DISCONNECT

# Packet types (MQTT 5.0 §2.1.2)
_CONNACK, _PUBLISH, _PUBACK, _SUBACK, _PINGRESP, _DISCONNECT, _AUTH = 2, 3, 4, 9, 13, 14, 15
_PINGREQ = b"\xc0\x00"
_DISCONNECT_NORMAL = b"\xe0\x00"  # reason 0x00, no properties: the session is kept for its expiry interval
# reason 0x00 with Session Expiry Interval (0x11) = 0: the broker deletes the session, and with it the client's
# membership of a shared subscription group (MQTT 5, 3.14.2.2.2: allowed when CONNECT set a non-zero expiry)
_DISCONNECT_END_SESSION = b"\xe0\x07\x00\x05\x11\x00\x00\x00\x00"
_PUBACK_HEADER = 0x40020000  # PUBACK fixed header and remaining length 2, followed by the 16-bit packet id

# Reason codes a broker answers CONNECT and SUBSCRIBE with (MQTT 5.0 §3.2.2.2, §3.9.3), for log lines.
REASONS = {
    0x80: "Unspecified error",
    0x81: "Malformed Packet",
    0x82: "Protocol Error",
    0x83: "Implementation specific error",
    0x84: "Unsupported Protocol Version",
    0x85: "Client Identifier not valid",
    0x86: "Bad User Name or Password",
    0x87: "Not authorized",
    0x88: "Server unavailable",
    0x89: "Server busy",
    0x8A: "Banned",
    0x8B: "Server shutting down",
    0x8C: "Bad authentication method",
    0x8D: "Keep Alive timeout",
    0x8E: "Session taken over",
    0x8F: "Topic Filter invalid",
    0x91: "Packet Identifier in use",
    0x93: "Receive Maximum exceeded",
    0x95: "Packet too large",
    0x97: "Quota exceeded",
    0x99: "Payload format invalid",
    0x9A: "Retain not supported",
    0x9B: "QoS not supported",
    0x9C: "Use another server",
    0x9D: "Server moved",
    0x9E: "Shared Subscriptions not supported",
    0x9F: "Connection rate exceeded",
    0xA1: "Subscription Identifiers not supported",
    0xA2: "Wildcard Subscriptions not supported",
}


def reason_text(code: int) -> str:
    """A reason code as the MQTT 5.0 specification names it."""
    return f"{REASONS.get(code, 'reason')} (0x{code:02x})"


class ProtocolError(Exception):
    """The broker sent something this client cannot read; the connection is dropped and made again."""


@dataclass(slots=True)
class Message:
    """One received PUBLISH. ``topic`` is raw bytes (the collector decodes it and rejects invalid UTF-8);
    ``packet_id`` is 0 for QoS 0."""

    topic: bytes
    payload: bytes
    packet_id: int
    qos: int


MessagesCallback = Callable[[int, list[Message]], None]  # (generation, messages of one read)
SubscribedCallback = Callable[[int, list[int]], None]  # (generation, SUBACK reason code per filter)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _text(value: str) -> bytes:
    raw = value.encode("utf-8")
    return struct.pack(">H", len(raw)) + raw


def _packet(first_byte: int, body: bytes) -> bytes:
    return bytes([first_byte]) + _varint(len(body)) + body


def connect_packet(
    client_id: str, *, keepalive_s: int, session_expiry_s: int, receive_maximum: int, username: str | None, password: str | None
) -> bytes:
    """CONNECT (MQTT 5.0 §3.1) with Clean Start off, so the broker resumes the session."""
    flags = 0x00  # Clean Start off
    payload = _text(client_id)
    if username is not None:
        flags |= 0x80
        payload += _text(username)
        if password is not None:
            flags |= 0x40
            raw = password.encode("utf-8")
            payload += struct.pack(">H", len(raw)) + raw
    properties = b"\x11" + struct.pack(">I", session_expiry_s) + b"\x21" + struct.pack(">H", receive_maximum)
    variable = b"\x00\x04MQTT\x05" + bytes([flags]) + struct.pack(">H", keepalive_s) + _varint(len(properties)) + properties
    return _packet(0x10, variable + payload)


def subscribe_packet(packet_id: int, filters: Sequence[tuple[str, int]]) -> bytes:
    """SUBSCRIBE (MQTT 5.0 §3.8) of each (filter, maximum QoS)."""
    body = struct.pack(">H", packet_id) + b"\x00"
    for topic_filter, qos in filters:
        body += _text(topic_filter) + bytes([qos])
    return _packet(0x82, body)


def puback_packets(packet_ids: Sequence[int]) -> bytes:
    """PUBACKs (reason Success, which MQTT 5.0 lets us leave out) for the packet ids, as one write."""
    return struct.pack(f">{len(packet_ids)}I", *[_PUBACK_HEADER | pid for pid in packet_ids])


def _read_varint(data: bytes, index: int) -> tuple[int, int] | None:
    """(value, index after it), None if the buffer ends inside it; ProtocolError past 4 bytes."""
    value = shift = 0
    for position in range(index, min(index + 4, len(data))):
        byte = data[position]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position + 1
        shift += 7
    if len(data) - index >= 4:
        raise ProtocolError("a variable byte integer longer than 4 bytes")
    return None


def split_packets(data: bytes) -> tuple[list[tuple[int, bytes, int, int]], int]:
    """Complete packets at the start of ``data``: a list of (first byte, buffer, body start, body end)
    and the number of bytes they take; an incomplete packet at the end is left for the next read."""
    packets = []
    index, size = 0, len(data)
    while size - index >= 2:
        first = data[index]
        length_byte = data[index + 1]
        if length_byte < 0x80:  # the common case: a packet shorter than 128 bytes
            length, start = length_byte, index + 2
        else:
            decoded = _read_varint(data, index + 1)
            if decoded is None:
                break
            length, start = decoded
        end = start + length
        if end > size:
            break
        packets.append((first, data, start, end))
        index = end
    return packets, index


def parse_publish(first: int, data: bytes, start: int, end: int) -> Message:
    """A PUBLISH packet (MQTT 5.0 §3.3) of a buffer; properties are skipped (we allow no topic aliases)."""
    qos = (first >> 1) & 0x03
    if qos == 3 or end - start < 3:
        raise ProtocolError("a malformed PUBLISH packet")
    topic_end = start + 2 + ((data[start] << 8) | data[start + 1])
    index = topic_end
    packet_id = 0
    if qos:
        packet_id = (data[index] << 8) | data[index + 1]
        index += 2
    if index >= end:
        raise ProtocolError("a PUBLISH packet without properties")
    properties_length = data[index]
    if properties_length < 0x80:
        index += 1 + properties_length
    else:
        decoded = _read_varint(data, index)
        if decoded is None:
            raise ProtocolError("a PUBLISH packet with malformed properties")
        properties_length, index = decoded
        index += properties_length
    if index > end:
        raise ProtocolError("a PUBLISH packet shorter than its properties")
    return Message(bytes(data[start + 2 : topic_end]), bytes(data[index:end]), packet_id, qos)


class Subscriber:
    """Keeps one subscribing MQTT v5 connection up and hands received messages to a callback.

    ``on_messages(generation, messages)`` runs on the network thread once per read; it must be quick and
    must not raise (exceptions are logged, and the messages stay unacknowledged). ``on_subscribed`` gets
    the SUBACK reason codes, one per filter in order. Call :meth:`ack` with the generation the messages
    were delivered under.
    """

    def __init__(
        self,
        host: str,
        port: int,
        client_id: str,
        filters: Sequence[tuple[str, int]],
        *,
        on_messages: MessagesCallback,
        on_subscribed: SubscribedCallback,
        on_connection_lost: Callable[[str], None] | None = None,
        auth: MqttAuth | None = None,
        keepalive_s: int = 30,
        session_expiry_s: int = 7 * 24 * 3600,
        receive_maximum: int = 65535,
        max_outstanding: int | None = None,
    ):
        self.host = host
        self.port = port
        self.client_id = client_id
        self.filters = list(filters)
        self.auth = auth or MqttAuth()
        self.keepalive_s = keepalive_s
        self.session_expiry_s = session_expiry_s
        self.receive_maximum = receive_maximum
        self.max_outstanding = max_outstanding or receive_maximum
        self._on_messages = on_messages
        self._on_subscribed = on_subscribed
        self._on_connection_lost = on_connection_lost
        self._tls = self.auth.tls_context()  # checks the CA file now, so a bad path fails at start
        self._lock = threading.Lock()  # guards the generation, the queued acks and the outstanding count
        self._generation = 0
        self._acks: list[int] = []
        self._outstanding = 0
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._woken = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.end_session_on_close = False  # set before stop(): the last DISCONNECT deletes the broker's session

    # -- called from other threads ---------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"mqtt-{self.client_id}", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Send the queued acks, disconnect cleanly (the broker keeps the session) and end the thread."""
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._wake_r.close()
        self._wake_w.close()

    def ack(self, generation: int, packet_ids: Sequence[int]) -> int:
        """Queue PUBACKs for messages delivered under ``generation``; returns how many were queued
        (0 when the connection they arrived on is gone: the broker redelivers them)."""
        with self._lock:
            if generation != self._generation or not packet_ids:
                return 0
            self._acks.extend(packet_ids)
            self._outstanding -= len(packet_ids)
            wake = not self._woken
            self._woken = True
        if wake:
            self._wake()
        return len(packet_ids)

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\x00")
        except OSError:  # the pair is closed (stopping) or its buffer is full (a wake-up is pending anyway)
            pass

    # -- network thread --------------------------------------------------------------------------

    def _run(self) -> None:
        delay = RECONNECT_MIN_S
        while not self._stop.is_set():
            try:
                sock, generation, early = self._connect()
            except (OSError, ProtocolError, ConnectionRefused) as exc:
                if isinstance(exc, ssl.SSLCertVerificationError):
                    log.error(
                        "the MQTT broker at %s:%d presents a certificate that does not verify against CA file %s (%s); "
                        "retrying, but check FACMON_MQTT_TLS_CA",
                        self.host,
                        self.port,
                        self.auth.tls_ca,
                        exc.verify_message,
                    )
                elif isinstance(exc, ConnectionRefused):
                    log.error(
                        "broker %s:%d refused the connection of %s (%s): %s",
                        self.host,
                        self.port,
                        self.client_id,
                        self.auth.describe(),
                        exc,
                    )
                else:
                    log.warning("cannot connect to the MQTT broker at %s:%d (%s); retrying", self.host, self.port, exc)
                self._stop.wait(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)
                continue
            delay = RECONNECT_MIN_S
            try:
                reason = self._serve(sock, generation, early)
            except Exception as exc:  # OSError, ProtocolError, or a bug: drop the connection and make it again
                reason = f"{type(exc).__name__}: {exc}"
                if not isinstance(exc, (OSError, ProtocolError)):
                    log.exception("unexpected error on the MQTT connection")
            if self._stop.is_set():
                self._close(sock)
            else:
                sock.close()
            with self._lock:
                self._generation += 1  # acks for this connection's packet ids must not reach the next one
                self._acks.clear()
                self._outstanding = 0
            if self._stop.is_set():
                return
            if self._on_connection_lost is not None:
                self._on_connection_lost(reason)
            self._stop.wait(delay)

    def _connect(self) -> tuple[socket.socket, int, bytes]:
        """Connect, log in and subscribe; returns the socket, its generation and the bytes that came
        after CONNACK in the same read (a resumed session's queued messages follow it at once)."""
        sock = socket.create_connection((self.host, self.port), timeout=10)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self.host)
            sock.sendall(
                connect_packet(
                    self.client_id,
                    keepalive_s=self.keepalive_s,
                    session_expiry_s=self.session_expiry_s,
                    receive_maximum=self.receive_maximum,
                    username=self.auth.username,
                    password=self.auth.password,
                )
            )
            buffer = b""
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    raise ProtocolError("the broker closed the connection before CONNACK")
                buffer += chunk
                packets, _ = split_packets(buffer)
                if packets:
                    break
            first, data, start, end = packets[0]
            early = buffer[end:]
            if first >> 4 != _CONNACK or end - start < 2:
                raise ProtocolError(f"expected CONNACK, got packet type {first >> 4}")
            session_present, reason = data[start] & 0x01, data[start + 1]
            if reason >= 0x80:
                raise ConnectionRefused(reason_text(reason))
            sock.settimeout(None)
        except BaseException:
            sock.close()
            raise
        with self._lock:
            self._generation += 1
            self._outstanding = 0
            generation = self._generation
        log.info(
            "connected to %s://%s:%d as %s (session %s)",
            "mqtts" if self._tls else "mqtt",
            self.host,
            self.port,
            self.client_id,
            "resumed" if session_present else "new",
        )
        # The broker keeps the subscriptions in the session; subscribing again is harmless and covers a
        # session that expired or a broker that lost its state.
        sock.sendall(subscribe_packet(1, self.filters))
        return sock, generation, early

    def _serve(self, sock: socket.socket, generation: int, pending: bytes) -> str:
        """Read and dispatch until the connection ends or stop is asked; returns why it ended."""
        sock.setblocking(False)
        if pending:
            pending = self._dispatch(generation, pending)
        last_sent = last_heard = time.monotonic()
        ping_sent_at: float | None = None
        while True:
            with self._lock:
                reading = self._outstanding < self.max_outstanding
            readers = [self._wake_r, sock] if reading else [self._wake_r]
            wait = max(0.0, last_sent + self.keepalive_s / 2 - time.monotonic())
            if reading and self._tls is not None and sock.pending():  # type: ignore[attr-defined]
                wait = 0.0  # decrypted bytes wait inside the SSL object, where select cannot see them
            ready, _, _ = select.select(readers, [], [], wait)
            if self._wake_r in ready:
                self._drain_wake()
            last_sent = self._send_acks(sock, last_sent)
            if self._stop.is_set():  # after the acks: those queued before stop() are sent
                return "stopping"
            now = time.monotonic()
            if reading and (sock in ready or (self._tls is not None and sock.pending())):  # type: ignore[attr-defined]
                chunk = self._read(sock)
                if chunk == b"":
                    return "the broker closed the connection"
                if chunk:
                    last_heard = now
                    ping_sent_at = None
                    pending = self._dispatch(generation, pending + chunk if pending else chunk)
            if now - last_sent >= self.keepalive_s / 2:
                self._send(sock, _PINGREQ)
                last_sent = now
                if ping_sent_at is None:
                    ping_sent_at = now
            if reading and ping_sent_at is not None and now - max(ping_sent_at, last_heard) > self.keepalive_s:
                return f"no answer from the broker for {self.keepalive_s} s"

    def _read(self, sock: socket.socket) -> bytes | None:
        try:
            return sock.recv(READ_SIZE)
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return None

    def _send(self, sock: socket.socket, payload: bytes) -> None:
        """Write all of ``payload``; the socket is non-blocking, so wait for room when the kernel buffer is full."""
        view = memoryview(payload)
        while view:
            try:
                sent = sock.send(view)
            except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                select.select([], [sock], [], 1.0)
                continue
            view = view[sent:]

    def _send_acks(self, sock: socket.socket, last_sent: float) -> float:
        with self._lock:
            acks, self._acks = self._acks, []
            self._woken = False
        if not acks:
            return last_sent
        self._send(sock, puback_packets(acks))
        return time.monotonic()

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _dispatch(self, generation: int, data: bytes) -> bytes:
        """Handle every complete packet of ``data``; returns the incomplete rest."""
        packets, used = split_packets(data)
        messages: list[Message] = []
        for first, buffer, start, end in packets:
            kind = first >> 4
            if kind == _PUBLISH:
                messages.append(parse_publish(first, buffer, start, end))
            elif kind == _SUBACK:
                # packet id (2 bytes), properties, then one reason code per filter
                decoded = _read_varint(buffer, start + 2)
                if decoded is None:
                    raise ProtocolError("a malformed SUBACK packet")
                properties_length, index = decoded
                self._on_subscribed(generation, list(buffer[index + properties_length : end]))
            elif kind == _DISCONNECT:
                code = buffer[start] if end > start else 0
                raise ProtocolError(f"the broker disconnected us: {reason_text(code) if code else 'normal disconnection'}")
            elif kind in (_PINGRESP, _PUBACK, _AUTH):
                pass
            else:
                raise ProtocolError(f"unexpected packet type {kind}")
        if messages:
            counted = sum(1 for message in messages if message.qos)
            with self._lock:
                self._outstanding += counted
            try:
                self._on_messages(generation, messages)
            except Exception:  # never let a consumer bug stop the connection; the messages stay unacknowledged
                log.exception("unexpected error handling %d received message(s); they stay unacknowledged", len(messages))
        return data[used:]

    def _close(self, sock: socket.socket) -> None:
        """DISCONNECT, then wait for the broker to close: Mosquitto drops PUBACKs still unread when a
        client resets the connection, so a hard close could lose the last acknowledgements."""
        try:
            self._send(sock, _DISCONNECT_END_SESSION if self.end_session_on_close else _DISCONNECT_NORMAL)
            if self._tls is None:
                sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + CLOSE_TIMEOUT_S
            while time.monotonic() < deadline:
                ready, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
                if ready:
                    chunk = self._read(sock)
                    if chunk == b"":
                        break
        except (OSError, ValueError):
            pass
        finally:
            sock.close()


class ConnectionRefused(Exception):
    """The broker answered CONNECT with a failure reason code (wrong password, not authorised, ...)."""
