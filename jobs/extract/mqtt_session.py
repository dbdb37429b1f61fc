"""The lander's durable MQTT v5 session for a drain: a TLS socket and the ``mqtt5`` codec, one thread.

Why not paho here: paho decodes every packet in Python (≈ 200 µs a message on this machine), so a
backlog drained at 4,700 messages/s. ``mqtt5`` (a sans-I/O MQTT v5 codec in Rust, from the
maintainer of aiomqtt) reads and writes the packets; this module only moves bytes and keeps the few
rules a drain needs:

* CONNECT (durable: ``clean_start`` false, a session expiry, a Receive Maximum) → CONNACK;
* SUBSCRIBE → SUBACK (a new session only); our own QoS-1 PUBLISH (the drain's marker) → its PUBACK;
* received QoS-1 PUBLISHes are acknowledged only when the caller says (after their segment is
  stored), all of a segment in one write;
* PINGREQ when nothing was sent for half the keep-alive; DISCONNECT at the end, then reading until the
  broker closes, so no unread input resets the connection (the broker would drop our last PUBACKs).

A lost connection raises :class:`SessionLost`: PUBACKs are per connection, so the drain ends and the
task retries; the broker redelivers whatever was not acknowledged. Registering a session and the
publishers stay on paho (few packets).
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterable

import mqtt5

RECV_BYTES = 1 << 20


class SessionLost(ConnectionError):
    """The broker closed the connection or it broke; nothing unacknowledged is lost (it is redelivered)."""


class Refused(ConnectionRefusedError):
    """The broker answered CONNECT with a failure reason code (a closed port is a plain ``OSError``)."""


class Session:
    """One connected session; see the module docstring."""

    def __init__(self, sock: ssl.SSLSocket, keepalive: int, where: str) -> None:
        self.sock, self.keepalive, self.where = sock, keepalive, where
        self.session_present = False
        self._buffer = bytearray()
        self._next_id = 0
        self._acked: set[int] = set()
        self._subscribed: dict[int, list[mqtt5.SubAckReasonCode]] = {}
        self._pending: list[mqtt5.PublishPacket] = []  # read while waiting for a SUBACK
        self._last_sent = time.monotonic()

    @classmethod
    def connect(
        cls,
        host: str,
        port: int,
        context: ssl.SSLContext,
        connect: mqtt5.ConnectPacket,
        timeout: float = 10.0,
    ) -> Session:
        """Open TLS to the broker and send ``connect``; returns once the CONNACK is read.

        Raises ``OSError`` (unreachable), ``TimeoutError`` (no CONNACK) or :class:`Refused` (the broker
        refused: its reason code is in the message).
        """
        where = f"{host}:{port}"
        raw = socket.create_connection((host, port), timeout=timeout)
        try:
            sock = context.wrap_socket(raw, server_hostname=host)
        except BaseException:
            raw.close()
            raise
        session = cls(sock, connect.keep_alive, where)
        try:
            session._send(connect.write())
            deadline = time.monotonic() + timeout
            while True:
                packet = session._read_one(deadline)
                if isinstance(packet, mqtt5.ConnAckPacket):
                    break
            if packet.reason_code != mqtt5.ConnAckReasonCode.SUCCESS:
                raise Refused(f"{packet.reason_code.name} ({int(packet.reason_code)})")
            session.session_present = packet.session_present
        except BaseException:
            sock.close()
            raise
        return session

    # --- sending ---------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as err:
            raise SessionLost(f"the connection to the MQTT broker at {self.where} broke while sending ({err})") from err
        self._last_sent = time.monotonic()

    def _packet_id(self) -> int:
        self._next_id = self._next_id % 65535 + 1
        return self._next_id

    def subscribe(self, topic_filter: str, timeout: float = 10.0) -> list[mqtt5.SubAckReasonCode]:
        """Subscribe at QoS 1 and wait for the SUBACK (messages arriving meanwhile are kept for ``receive``)."""
        packet_id = self._packet_id()
        self._send(
            mqtt5.SubscribePacket(packet_id, [mqtt5.TopicFilter(topic_filter, max_qos=mqtt5.QoS.AT_LEAST_ONCE)]).write()
        )
        deadline = time.monotonic() + timeout
        while packet_id not in self._subscribed:
            self._pending.extend(self._read(deadline))
        return self._subscribed.pop(packet_id)

    def publish(self, topic: str, payload: bytes) -> int:
        """Publish at QoS 1; returns the packet id (see :meth:`acked`)."""
        packet_id = self._packet_id()
        self._send(mqtt5.PublishPacket(topic, payload, qos=mqtt5.QoS.AT_LEAST_ONCE, packet_id=packet_id).write())
        return packet_id

    def acked(self, packet_id: int) -> bool:
        """The broker acknowledged our PUBLISH ``packet_id``."""
        return packet_id in self._acked

    def ack(self, packet_ids: Iterable[int]) -> None:
        """PUBACK the given received messages, in one write."""
        data = b"".join(mqtt5.PubAckPacket(i).write() for i in packet_ids)
        if data:
            self._send(data)

    # --- receiving -------------------------------------------------------------------------

    def receive(self, wait: float) -> list[mqtt5.PublishPacket]:
        """The PUBLISHes received within ``wait`` seconds (those already read first); keeps the session alive."""
        if self.keepalive and time.monotonic() - self._last_sent > self.keepalive / 2:
            self._send(mqtt5.PingReqPacket().write())
        out, self._pending = self._pending, []
        if out:
            return out + self._read(time.monotonic(), block=False)
        return self._read(time.monotonic() + wait)

    def _read(self, deadline: float, block: bool = True) -> list[mqtt5.PublishPacket]:
        """Read what arrives until ``deadline`` (at least one recv unless ``block`` is false); return its PUBLISHes."""
        self.sock.settimeout(max(deadline - time.monotonic(), 0.0) if block else 0.0)
        try:
            data = self.sock.recv(RECV_BYTES)
        except (TimeoutError, ssl.SSLWantReadError, BlockingIOError):
            return []
        except OSError as err:
            raise SessionLost(f"the connection to the MQTT broker at {self.where} broke ({err})") from err
        if not data:
            raise SessionLost(f"the MQTT broker at {self.where} closed the connection")
        self._buffer += data
        view = memoryview(self._buffer)
        published: list[mqtt5.PublishPacket] = []
        used = 0
        try:
            while used < len(view):
                try:
                    packet, size = mqtt5.read(view[used:])
                except IndexError:  # an incomplete packet: the rest comes with the next recv
                    break
                used += size
                if isinstance(packet, mqtt5.PublishPacket):
                    published.append(packet)
                else:
                    self._handle(packet)
        finally:
            view.release()
        del self._buffer[:used]
        return published

    def _read_one(self, deadline: float) -> mqtt5.Packet:
        """The next packet of any kind (for the CONNACK, before anything else can arrive)."""
        while True:
            if self._buffer:
                try:
                    packet, size = mqtt5.read(memoryview(self._buffer))
                except IndexError:
                    pass
                else:
                    del self._buffer[:size]
                    return packet
            if time.monotonic() > deadline:
                raise TimeoutError(f"the MQTT broker at {self.where} did not answer in time")
            self.sock.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                data = self.sock.recv(RECV_BYTES)
            except TimeoutError:
                continue
            if not data:
                raise SessionLost(f"the MQTT broker at {self.where} closed the connection")
            self._buffer += data

    def _handle(self, packet: mqtt5.Packet) -> None:
        if isinstance(packet, mqtt5.PubAckPacket):
            self._acked.add(packet.packet_id)
        elif isinstance(packet, mqtt5.SubAckPacket):
            self._subscribed[packet.packet_id] = list(packet.reason_codes)
        elif isinstance(packet, mqtt5.DisconnectPacket):
            raise SessionLost(
                f"the MQTT broker at {self.where} disconnected us: {packet.reason_code.name}"
                + (f" ({packet.reason_str})" if packet.reason_str else "")
            )
        # PINGRESP and anything else a subscriber may ignore.

    # --- closing ---------------------------------------------------------------------------

    def close(self, linger: float = 2.0) -> None:
        """DISCONNECT (the session stays for its expiry), read until the broker closes, close."""
        try:
            self.sock.sendall(mqtt5.DisconnectPacket().write())
            deadline = time.monotonic() + linger
            while time.monotonic() < deadline:
                self.sock.settimeout(max(deadline - time.monotonic(), 0.01))
                if not self.sock.recv(RECV_BYTES):
                    break
        except OSError:
            pass
        finally:
            self.sock.close()
