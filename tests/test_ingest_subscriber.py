"""The collector's own MQTT v5 subscriber (ingest/subscriber.py): packet reading, flow control, acks.

The protocol details are checked byte for byte against the MQTT 5.0 layout; the behaviour that
crosses a process boundary (backpressure, acknowledgements, refused logins) against real Mosquitto.
"""

from __future__ import annotations

import struct
import threading
import time
import uuid

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from facmon.broker_auth import MqttAuth
from facmon.errors import FacmonError
from facmon.ingest.subscriber import (
    READ_SIZE,
    Message,
    ProtocolError,
    Subscriber,
    connect_packet,
    parse_publish,
    puback_packets,
    split_packets,
)
from tests.test_ingest import purge_session, wait_for


def publish_packet(topic: str, payload: bytes, packet_id: int, properties: bytes = b"") -> bytes:
    """A QoS 1 PUBLISH as a broker sends it (MQTT 5.0 §3.3), built independently of the code under test."""
    raw_topic = topic.encode()
    props_length = bytes([len(properties)])  # < 128 here
    body = struct.pack(">H", len(raw_topic)) + raw_topic + struct.pack(">H", packet_id) + props_length + properties + payload
    length, encoded = len(body), bytearray()
    while True:
        byte, length = length % 128, length // 128
        encoded.append(byte | (0x80 if length else 0))
        if not length:
            break
    return bytes([0x32]) + bytes(encoded) + body


def read_all(stream: bytes, cut: int) -> list[Message]:
    """Feed ``stream`` in two reads split at ``cut`` and parse the packets as the network thread does."""
    messages, pending = [], b""
    for chunk in (stream[:cut], stream[cut:]):
        pending += chunk
        packets, used = split_packets(pending)
        messages += [parse_publish(first, data, start, end) for first, data, start, end in packets]
        pending = pending[used:]
    assert pending == b""
    return messages


def test_packets_split_across_reads_at_any_byte_are_read_whole_and_in_order():
    small = publish_packet("facmon/341122A001/E-MAIN", b'{"ts":1,"register":5}', 7)
    large = publish_packet("facmon/341122A001/_batch", b"x" * 300, 8)  # remaining length takes 2 bytes
    stream = small + large + small
    for cut in range(len(stream) + 1):
        messages = read_all(stream, cut)
        assert [(m.topic, m.packet_id, m.qos) for m in messages] == [
            (b"facmon/341122A001/E-MAIN", 7, 1),
            (b"facmon/341122A001/_batch", 8, 1),
            (b"facmon/341122A001/E-MAIN", 7, 1),
        ]
        assert messages[1].payload == b"x" * 300 and messages[0].payload == b'{"ts":1,"register":5}'


def test_publish_properties_are_skipped_and_the_payload_is_exact():
    # payload format indicator (0x01) and a user property (0x26) "k"="v"
    properties = b"\x01\x01" + b"\x26\x00\x01k\x00\x01v"
    packet = publish_packet("tele/plug/SENSOR", b'{"ENERGY":{}}', 65535, properties)
    ((first, data, start, end),) = split_packets(packet)[0]
    message = parse_publish(first, data, start, end)
    assert message == Message(b"tele/plug/SENSOR", b'{"ENERGY":{}}', 65535, 1)


def test_a_remaining_length_longer_than_four_bytes_is_a_protocol_error():
    with pytest.raises(ProtocolError):
        split_packets(b"\x30\xff\xff\xff\xff\x01")


def test_pubacks_are_four_bytes_each_with_the_packet_id_big_endian():
    assert puback_packets([1, 258, 65535]) == b"\x40\x02\x00\x01" + b"\x40\x02\x01\x02" + b"\x40\x02\xff\xff"


def test_connect_asks_to_resume_the_session_and_carries_expiry_and_receive_maximum():
    packet = connect_packet("facmon-ingest", keepalive_s=30, session_expiry_s=604800, receive_maximum=5000, username="u", password="p")
    assert packet[0] == 0x10
    body = packet[2:] if packet[1] < 0x80 else packet[3:]
    assert body[:7] == b"\x00\x04MQTT\x05"
    flags = body[7]
    assert flags & 0x02 == 0, "clean start must be off so that the broker keeps the session"
    assert flags & 0xC0 == 0xC0, "username and password flags"
    assert struct.unpack(">H", body[8:10])[0] == 30
    properties = body[11 : 11 + body[10]]
    assert properties == b"\x11" + struct.pack(">I", 604800) + b"\x21" + struct.pack(">H", 5000)
    assert body[11 + body[10] :] == b"\x00\x0dfacmon-ingest\x00\x01u\x00\x01p"


def test_acks_for_a_connection_that_is_gone_are_not_sent():
    subscriber = Subscriber(
        "127.0.0.1", 1, "never-started", [("facmon/#", 1)], on_messages=lambda g, m: None, on_subscribed=lambda g, c: None
    )
    try:
        assert subscriber.ack(generation=3, packet_ids=[1, 2]) == 0
    finally:
        subscriber.stop()


def publish_qos1(stack, topic: str, payloads: list[bytes]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(stack.host, stack.mqtt_port)
    client.loop_start()
    try:
        infos = [client.publish(topic, payload, qos=1) for payload in payloads]
        for info in infos:
            info.wait_for_publish(30)
    finally:
        client.disconnect()
        client.loop_stop()


class Recorder:
    """Collects what the subscriber delivers; acknowledges only when told to."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.delivered: list[tuple[int, Message]] = []
        self.subscribed = threading.Event()

    def on_messages(self, generation: int, messages: list[Message]) -> None:
        with self.lock:
            self.delivered.extend((generation, m) for m in messages)

    def on_subscribed(self, generation: int, codes: list[int]) -> None:
        assert all(code < 0x80 for code in codes)
        self.subscribed.set()

    def count(self) -> int:
        with self.lock:
            return len(self.delivered)


def test_the_subscriber_stops_reading_while_too_many_messages_are_unacknowledged_and_loses_nothing(stack):
    """A resumed session's backlog is not read into memory at once: with 50 messages unacknowledged
    the subscriber leaves the socket alone (TCP pushes back on the broker); each ack lets more in,
    and in the end every message arrives exactly once."""
    client_id = f"test-sub-{uuid.uuid4().hex[:8]}"
    topic = f"bench/{client_id}"
    payload_size = 4000
    total = 2000  # 8 MB: far more than one read (1 MB) and the socket buffers
    recorder = Recorder()
    subscriber = Subscriber(
        stack.host,
        stack.mqtt_port,
        client_id,
        [(topic, 1)],
        on_messages=recorder.on_messages,
        on_subscribed=recorder.on_subscribed,
        receive_maximum=65535,
        max_outstanding=50,
    )
    try:
        subscriber.start()
        assert recorder.subscribed.wait(10)
        subscriber.stop()  # the session (and its subscription) stays with the broker
        publish_qos1(stack, topic, [struct.pack(">I", i) + b"." * (payload_size - 4) for i in range(total)])

        recorder = Recorder()
        subscriber = Subscriber(
            stack.host,
            stack.mqtt_port,
            client_id,
            [(topic, 1)],
            on_messages=recorder.on_messages,
            on_subscribed=recorder.on_subscribed,
            receive_maximum=65535,
            max_outstanding=50,
        )
        subscriber.start()
        wait_for(lambda: recorder.count() >= 50, 10, "the first 50 messages")
        time.sleep(1.0)
        # one read may carry a few hundred messages beyond the limit, never the whole backlog
        assert recorder.count() <= 50 + READ_SIZE // payload_size + 1 < total

        acked = 0
        deadline = time.monotonic() + 60
        while acked < total and time.monotonic() < deadline:
            with recorder.lock:
                batch = recorder.delivered[acked:]
            if not batch:
                time.sleep(0.01)
                continue
            for generation, message in batch:
                subscriber.ack(generation, [message.packet_id])
            acked += len(batch)
        numbers = sorted(struct.unpack(">I", m.payload[:4])[0] for _, m in recorder.delivered)
        assert numbers == list(range(total))
    finally:
        subscriber.stop()
        purge_session(stack, client_id)


def test_a_missing_ca_file_is_an_error_naming_it_before_any_connection_is_tried(tmp_path):
    missing = tmp_path / "ca.crt"
    with pytest.raises(FacmonError, match=str(missing)):
        Subscriber(
            "127.0.0.1",
            1,
            "x",
            [("facmon/#", 1)],
            on_messages=lambda g, m: None,
            on_subscribed=lambda g, c: None,
            auth=MqttAuth(tls_ca=str(missing)),
        )
