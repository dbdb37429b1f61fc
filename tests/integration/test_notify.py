"""Alert notices through a real SMTP server (aiosmtpd, over TCP) and a real HTTP webhook, with the
ledger in the real store: each notice is delivered once, across reruns and a failed run."""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from jobs.errors import UserFacingError
from tests.lakehouse_fixtures import lake_bucket, write_registry_table

if TYPE_CHECKING:
    from jobs.settings import Settings

OPENED = datetime(2026, 11, 26, 2, tzinfo=UTC)
ALERTS = [
    {  # a closed exceedance: two notices
        "alert_id": "a" * 32,
        "kind": "exceedance",
        "medium": "wastewater",
        "entity_id": "W1",
        "facility_id": "F1",
        "entity_name": "Công ty Giấy Sông Lam",
        "province_code": "40",
        "parameter": "COD",
        "opened_at": OPENED,
        "closed_at": datetime(2026, 11, 26, 4, tzinfo=UTC),
        "status": "closed",
        "date": date(2026, 11, 26),
        "open_value": 140.0,
        "peak_value": 180.0,
        "limit_value": 135.0,
        "limit_kind": "max",
        "limit_source": "QCVN 40:2011/BTNMT",
        "readings_over": 2,
        "last_seen_at": None,
    },
    {  # an open silence: one notice, until it closes
        "alert_id": "b" * 32,
        "kind": "silent",
        "medium": "air",
        "entity_id": "A1",
        "facility_id": None,
        "entity_name": "Trạm Nguyễn Văn Cừ",
        "province_code": "01",
        "parameter": None,
        "opened_at": datetime(2026, 11, 26, 8, tzinfo=UTC),
        "closed_at": None,
        "status": "open",
        "date": date(2026, 11, 26),
        "open_value": None,
        "peak_value": None,
        "limit_value": 60.0,
        "limit_kind": "max",
        "limit_source": "reading_interval of the dataset registry (60 min)",
        "readings_over": None,
        "last_seen_at": datetime(2026, 11, 26, 7, tzinfo=UTC),
    },
]


class Mailbox:
    """aiosmtpd handler: keeps every accepted message; ``refuse`` answers 451 (try again later)."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.peers: list[tuple[str, int]] = []  # the client end of the SMTP session of each message
        self.refuse = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "451 Requested action aborted: local error in processing"
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        self.peers.append(tuple(session.peer))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    from aiosmtpd.controller import Controller

    box = Mailbox()
    with socket.socket() as probe:  # aiosmtpd's Controller needs a port number (it checks it by connecting)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture
def webhook() -> Iterator[tuple[list[dict[str, Any]], int]]:
    """A receiver that answers 503 to the first POST (a retry must follow), then 204."""
    received: list[dict[str, Any]] = []
    calls = {"n": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            calls["n"] += 1
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if calls["n"] == 1:
                self.send_response(503)
            else:
                received.append({"key": self.headers["Idempotency-Key"], "body": json.loads(body)})
                self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received, server.server_address[1]
    finally:
        server.shutdown()


def _channels(smtp_port: int, webhook_url: str, **more: Any) -> Settings:
    """This test bucket's settings with the local SMTP server (and the webhook, when given)."""
    from jobs.settings import get_settings

    return dataclasses.replace(
        get_settings(),
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        alert_email_to="canhbao@monre.gov.vn",
        alert_webhook_url=webhook_url,
        **more,
    )


def _write_alerts(rows: list[dict[str, Any]]) -> None:
    write_registry_table("alert", rows)


def test_each_notice_is_delivered_once_by_email_and_webhook(
    tmp_path: Path, smtp: tuple[Mailbox, int], webhook: tuple[list[dict[str, Any]], int]
) -> None:
    from jobs.notify import deliver, read_alerts
    from jobs.storage import list_keys

    box, smtp_port = smtp
    posts, web_port = webhook
    with lake_bucket("notify", tmp_path / "sources", tmp_path / "gx"):
        settings = _channels(smtp_port, f"http://127.0.0.1:{web_port}/alerts", notify_attempts=3)
        assert read_alerts(settings) == []  # no table yet: nothing to send
        _write_alerts(ALERTS)
        report = deliver(read_alerts(settings), settings)
        assert report == {
            "skipped_channels": [],
            "notices": 3,
            "email": {"sent": 3, "already_sent": 0},
            "webhook": {"sent": 3, "already_sent": 0},
        }
        expected_ids = ["a" * 32 + ".opened", "a" * 32 + ".closed", "b" * 32 + ".opened"]  # in event time
        assert [m["Message-ID"].split("@")[0].strip("<") for m in box.messages] == expected_ids
        first = box.messages[0]
        assert first["X-Alert-Id"] == "a" * 32 and first["To"] == "canhbao@monre.gov.vn"
        assert "Công ty Giấy Sông Lam (W1), Nghệ An" in first["Subject"] and "COD" in first["Subject"]
        body = first.get_content()
        assert "COD = 140 (đỉnh 180), giới hạn max 135" in body and "QCVN 40:2011/BTNMT" in body
        assert [p["key"] for p in posts] == expected_ids  # the 503 was retried, not lost
        assert posts[0]["body"]["province_code"] == "40" and posts[0]["body"]["event"] == "opened"

        ledger = sorted(list_keys("notifications/", settings))  # the alerts' day partitions the records
        assert ledger == sorted(
            f"notifications/{c}/2026-11-26/{i}.json" for c in ("email", "webhook") for i in expected_ids
        )

        # a rerun sends nothing
        again = deliver(read_alerts(settings), settings)
        assert again["email"] == again["webhook"] == {"sent": 0, "already_sent": 3}
        assert len(box.messages) == 3 and len(posts) == 3

        # the silence ends: only its 'closed' notice is new; the mail server refuses it first
        closed = [ALERTS[0], ALERTS[1] | {"closed_at": datetime(2026, 11, 26, 11, tzinfo=UTC), "status": "closed"}]
        _write_alerts(closed)
        box.refuse = True
        with pytest.raises(UserFacingError, match=r"SMTP 127\.0\.0\.1:\d+: not accepted after 2 attempts"):
            deliver(read_alerts(settings), dataclasses.replace(settings, notify_attempts=2))
        box.refuse = False
        resumed = deliver(read_alerts(settings), settings)
        assert resumed["email"] == resumed["webhook"] == {"sent": 1, "already_sent": 3}
        assert [m["Message-ID"].split("@")[0].strip("<") for m in box.messages][3:] == ["b" * 32 + ".closed"]
        assert [p["key"] for p in posts][3:] == ["b" * 32 + ".closed"]
        assert "2026-11-26 07:00 UTC" in box.messages[3].get_content()  # last seen


def test_a_channel_without_an_address_is_skipped_and_said(tmp_path: Path) -> None:
    from jobs.notify import deliver
    from jobs.settings import get_settings

    with lake_bucket("notify-off", tmp_path / "sources", tmp_path / "gx"):
        settings = dataclasses.replace(get_settings(), smtp_host="", alert_email_to="", alert_webhook_url="")
        report = deliver(ALERTS, settings)
    assert report == {
        "skipped_channels": [
            "email (set LAKEHOUSE_SMTP_HOST and LAKEHOUSE_ALERT_EMAIL_TO)",
            "webhook (set LAKEHOUSE_ALERT_WEBHOOK_URL)",
        ],
        "notices": 3,
    }


def test_a_burst_goes_over_several_sessions_each_notice_once_opened_before_closed(
    tmp_path: Path, smtp: tuple[Mailbox, int]
) -> None:
    """An hour in which 150 discharge points break their limit (60 of them back under it): 210 notices,
    spread over LAKEHOUSE_NOTIFY_SESSIONS = 4 SMTP sessions; each delivered once, an alert's ``closed``
    after its ``opened``; a rerun sends nothing."""
    from jobs.notify import deliver

    box, smtp_port = smtp
    burst = []
    for i in range(150):
        opened = OPENED + timedelta(seconds=i)
        closed = opened + timedelta(minutes=30) if i % 5 < 2 else None
        burst.append(ALERTS[0] | {"alert_id": f"{i:032x}", "opened_at": opened, "closed_at": closed})
    with lake_bucket("notify-burst", tmp_path / "sources", tmp_path / "gx"):
        settings = _channels(smtp_port, "", notify_sessions=4)
        report = deliver(burst, settings)
        again = deliver(burst, settings)
    assert report["email"] == {"sent": 210, "already_sent": 0}
    assert again["email"] == {"sent": 0, "already_sent": 210}
    received = [m["Message-ID"].split("@")[0].strip("<") for m in box.messages]
    assert len(received) == len(set(received)) == 210
    assert len(set(box.peers)) == 4  # four sessions
    for row in burst:
        if row["closed_at"] is not None:
            at_open, at_close = (received.index(f"{row['alert_id']}.{event}") for event in ("opened", "closed"))
            assert at_open < at_close
            assert box.peers[at_open] == box.peers[at_close]  # an alert's notices in one session
