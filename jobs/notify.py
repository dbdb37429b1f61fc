"""Alert notifications to the owner ministry: e-mail over SMTP and an HTTP webhook, each sent once.

Every alert episode (``gold.environment_alert``) gives an ``opened`` notice and, once it has a
``closed_at``, a ``closed`` notice. A notice a channel accepted (SMTP: the server's reply to the
message; webhook: a 2xx answer) is recorded in the lake at ``notifications/<channel>/<alert
day>/<notice id>.json`` by a conditional PUT, and a recorded notice is never sent again: rerunning or
restarting the notifier re-sends nothing. A run lists the records of its alerts' days only (a
listing of every record ever kept grows with the years: 31,122 records took 5.4–5.9 s to list).

The record follows the acceptance within milliseconds; a crash between the two would send that
message again (one per session at most), with the same ``Message-ID`` / ``Idempotency-Key`` (the
notice id), so the receiver can drop it.

A burst (an hour in which a thousand discharge points break their limit) is spread over up to
``LAKEHOUSE_NOTIFY_SESSIONS`` SMTP sessions (webhook connections), an alert's notices always in one
of them, so its ``opened`` message goes before its ``closed`` one.

Each delivery is tried ``LAKEHOUSE_NOTIFY_ATTEMPTS`` times with backoff; a channel that still
fails stops the run with an error naming it, and what was delivered before stays recorded. A
channel with no address configured (``LAKEHOUSE_SMTP_HOST``/``LAKEHOUSE_ALERT_EMAIL_TO``,
``LAKEHOUSE_ALERT_WEBHOOK_URL``) is skipped and the report says so.
"""

from __future__ import annotations

import contextlib
import json
import logging
import smtplib
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from jobs.errors import UserFacingError
from jobs.extract.retry import backoff_delay
from jobs.provinces import PROVINCES_2025
from jobs.settings import Settings, get_settings

log = logging.getLogger(__name__)
LEDGER_PREFIX = "notifications"
KIND_VI = {
    "exceedance": "Vượt quy chuẩn",
    "aqi": "Chất lượng không khí xấu",
    "silent": "Trạm ngừng truyền dữ liệu",
    "device": "Thiết bị báo lỗi",
}
EVENT_VI = {"opened": "MỞ", "closed": "ĐÓNG"}
NOTICES_PER_SESSION = 50
"""A burst of notices gets another SMTP session (webhook connection) per this many, up to
``LAKEHOUSE_NOTIFY_SESSIONS``: a message and its ledger record take ≈ 7 ms one after the other on
an idle machine (11 ms with two busy loops beside it), so one session bounds a 1,000-alert hour to 7 s or
more before the last is sent."""


@dataclass(frozen=True)
class Notice:
    """One message about one alert event; ``notice_id`` is the same on every run."""

    notice_id: str
    alert_id: str
    day: str  # the alert's day (ISO): where the ledger keeps the notice's record
    event: str  # opened | closed
    subject: str
    body: str
    payload: dict[str, Any]


Sender = Callable[[Notice, Settings], None]
OpenSender = Callable[[], contextlib.AbstractContextManager[Sender]]
"""Opens one session of a channel (an SMTP connection; nothing for the webhook) for a share of notices."""


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _day(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def notices(alerts: Iterable[Mapping[str, Any]]) -> list[Notice]:
    """The notices the alert rows call for (pure): an ``opened`` one each, a ``closed`` one for those
    that closed; in order of event time."""
    out: list[tuple[datetime, Notice]] = []
    for row in alerts:
        province = PROVINCES_2025.get(str(row.get("province_code") or ""), "?")
        where = f"{row.get('entity_name') or row['entity_id']} ({row['entity_id']}), {province}"
        payload = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}
        for event, at in (("opened", row["opened_at"]), ("closed", row.get("closed_at"))):
            if at is None:
                continue
            what = KIND_VI.get(str(row["kind"]), str(row["kind"]))
            if row["kind"] == "silent":
                detail = f"im lặng từ {_text(row.get('last_seen_at'))} (giới hạn {_text(row['limit_value'])} phút)"
            elif row["kind"] == "device":
                detail = f"{row['parameter']}: thiết bị báo lỗi, giá trị gửi kèm {_text(row['open_value'])}"
            else:
                detail = (
                    f"{row['parameter']} = {_text(row['open_value'])} (đỉnh {_text(row['peak_value'])}), "
                    f"giới hạn {row['limit_kind']} {_text(row['limit_value'])}"
                )
            subject = f"[{EVENT_VI[event]}] {what}: {where}, {row.get('parameter') or 'truyền dữ liệu'}"
            body = "\n".join(
                [
                    f"Cảnh báo / alert: {row['alert_id']} ({event})",
                    f"Loại / kind: {what} ({row['kind']}, {row['medium']})",
                    f"Trạm / station: {where}; cơ sở / facility: {_text(row.get('facility_id'))}",
                    f"Tỉnh / province (2025): {row.get('province_code')} {province}",
                    f"Chi tiết / detail: {detail}",
                    f"Quy chuẩn / regulation: {row['limit_source']}",
                    f"Mở / opened: {_text(row['opened_at'])}; đóng / closed: {_text(row.get('closed_at'))}",
                ]
            )
            notice_id = f"{row['alert_id']}.{event}"
            out.append(
                (
                    at,
                    Notice(
                        notice_id,
                        str(row["alert_id"]),
                        _day(row["date"]),
                        event,
                        subject,
                        body,
                        payload | {"event": event},
                    ),
                )
            )
    return [n for _, n in sorted(out, key=lambda pair: (pair[0], pair[1].notice_id))]


def _attempts(what: str, send: Callable[[], None], attempts: int, transient: tuple[type[BaseException], ...]) -> None:
    for attempt in range(1, attempts + 1):
        try:
            send()
            return
        except transient as err:
            if attempt == attempts:
                raise UserFacingError(
                    f"{what}: not accepted after {attempts} attempts ({type(err).__name__}: {err}). Notices "
                    "delivered before it are recorded and will not be sent again; check the server and rerun."
                ) from err
            time.sleep(backoff_delay(attempt))


class Mailer:
    """One SMTP session for a share of a run's messages (a connection, TLS and login per message would
    bound a burst of alerts to a few per second); reopened when the server drops it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=30)
        if s.smtp_starttls:
            smtp.starttls()
        if s.smtp_user:
            smtp.login(s.smtp_user, s.smtp_password)
        return smtp

    def __call__(self, notice: Notice, settings: Settings) -> None:
        """One message to the configured recipients; its Message-ID is the notice id."""
        message = EmailMessage()
        message["From"] = settings.smtp_from
        message["To"] = settings.alert_email_to
        message["Subject"] = notice.subject
        message["Message-ID"] = f"<{notice.notice_id}@{settings.bucket}.lakehouse>"
        message["X-Alert-Id"] = notice.alert_id
        message.set_content(notice.body)

        def send() -> None:
            try:
                if self.smtp is None:
                    self.smtp = self._open()
                self.smtp.send_message(message)
            except (OSError, smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException):
                self.close()  # the next attempt starts a new session
                raise

        _attempts(
            f"SMTP {settings.smtp_host}:{settings.smtp_port}",
            send,
            settings.notify_attempts,
            (OSError, smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException),
        )

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self.smtp.quit()
            self.smtp = None


def post_webhook(notice: Notice, settings: Settings) -> None:
    """POST the alert as JSON; ``Idempotency-Key`` is the notice id."""
    if not settings.alert_webhook_url.startswith(("https://", "http://")):
        raise UserFacingError(f"LAKEHOUSE_ALERT_WEBHOOK_URL must be an http(s) URL, got {settings.alert_webhook_url!r}")
    body = json.dumps(notice.payload, ensure_ascii=False, default=str).encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": notice.notice_id}
    if settings.alert_webhook_token:
        headers["Authorization"] = f"Bearer {settings.alert_webhook_token}"

    def send() -> None:
        request = urllib.request.Request(settings.alert_webhook_url, data=body, headers=headers, method="POST")
        # the URL's scheme is checked above (http/https only)
        with urllib.request.urlopen(request, timeout=30) as response:  # nosec B310
            if not 200 <= response.status < 300:
                raise urllib.error.HTTPError(
                    settings.alert_webhook_url, response.status, "not 2xx", response.headers, None
                )

    _attempts(f"webhook {settings.alert_webhook_url}", send, settings.notify_attempts, (OSError,))


def _ledger_key(channel: str, notice: Notice) -> str:
    return f"{LEDGER_PREFIX}/{channel}/{notice.day}/{notice.notice_id}.json"


def deliver(alert_rows: Iterable[Mapping[str, Any]], settings: Settings | None = None) -> dict[str, Any]:
    """Send every notice no channel has accepted yet; returns counts per channel."""
    settings = settings or get_settings()
    channels: dict[str, OpenSender] = {}
    report: dict[str, Any] = {"skipped_channels": []}
    if settings.smtp_host and settings.alert_email_to:
        channels["email"] = lambda: Mailer(settings)
    else:
        report["skipped_channels"].append("email (set LAKEHOUSE_SMTP_HOST and LAKEHOUSE_ALERT_EMAIL_TO)")
    if settings.alert_webhook_url:
        channels["webhook"] = lambda: contextlib.nullcontext(post_webhook)
    else:
        report["skipped_channels"].append("webhook (set LAKEHOUSE_ALERT_WEBHOOK_URL)")
    todo = notices(alert_rows)
    report["notices"] = len(todo)
    _deliver(todo, channels, report, settings)
    return report


def sessions_for(owed: list[Notice], limit: int) -> list[list[Notice]]:
    """The notices each session sends, in event time (pure). A burst is spread over up to ``limit``
    sessions, ``NOTICES_PER_SESSION`` at least each (a few notices keep one session and their order);
    an alert's notices stay in one session, so its ``opened`` always goes before its ``closed``."""
    count = max(1, min(limit, len(owed) // NOTICES_PER_SESSION))
    shares: list[list[Notice]] = [[] for _ in range(count)]
    for notice in owed:
        shares[zlib.crc32(notice.alert_id.encode()) % count].append(notice)
    return [share for share in shares if share]


def _record(channel: str, notice: Notice, settings: Settings) -> None:
    from jobs.storage import put_if_absent

    accepted_at = datetime.now().astimezone().isoformat()
    entry = {"notice_id": notice.notice_id, "channel": channel, "accepted_at": accepted_at}
    put_if_absent(_ledger_key(channel, notice), json.dumps(entry).encode(), {"alert-id": notice.alert_id}, settings)


def _send_share(
    channel: str,
    open_sender: OpenSender,
    share: list[Notice],
    failed: threading.Event,
    settings: Settings,
) -> int:
    """One session's notices, each recorded the moment its channel accepted it; stops when another
    session gave up (the run fails, the rest waits for the next run)."""
    sent, sending, recording = 0, 0.0, 0.0
    with open_sender() as send:
        for notice in share:
            if failed.is_set():
                break
            try:
                t0 = time.perf_counter()
                send(notice, settings)
                t1 = time.perf_counter()
                _record(channel, notice, settings)
                sending, recording = sending + t1 - t0, recording + time.perf_counter() - t1
            except BaseException:
                failed.set()
                raise
            sent += 1
    log.info("%s: %d sent in one session: sending %.1f s, recording %.1f s", channel, sent, sending, recording)
    return sent


def _deliver(
    todo: list[Notice],
    channels: dict[str, OpenSender],
    report: dict[str, Any],
    settings: Settings,
) -> None:
    from jobs.storage import list_keys

    days = sorted({n.day for n in todo})
    for channel, open_sender in channels.items():
        recorded = {key for day in days for key in list_keys(f"{LEDGER_PREFIX}/{channel}/{day}/", settings)}
        owed = [n for n in todo if _ledger_key(channel, n) not in recorded]
        shares, failed, started = sessions_for(owed, settings.notify_sessions), threading.Event(), time.perf_counter()
        with ThreadPoolExecutor(max_workers=max(1, len(shares)), thread_name_prefix=f"notify-{channel}") as pool:
            futures = [pool.submit(_send_share, channel, open_sender, share, failed, settings) for share in shares]
        report[channel] = {"sent": sum(f.result() for f in futures), "already_sent": len(todo) - len(owed)}
        if owed:
            log.info(
                "%s: %d notices over %d sessions in %.1f s",
                channel,
                len(owed),
                len(shares),
                time.perf_counter() - started,
            )


def read_alerts(settings: Settings | None = None, dates: list[str] | None = None) -> list[dict[str, Any]]:
    """The alert rows of ``dates`` (ISO days; all when None), read with delta-rs (no JVM)."""
    from jobs.registry import REGISTRY
    from jobs.storage import delta_table_or_none

    settings = settings or get_settings()
    table = delta_table_or_none(settings, REGISTRY["alert"].table_path)
    if table is None:
        return []
    rows: list[dict[str, Any]] = table.to_pyarrow_table().to_pylist()
    if dates is not None:
        wanted = set(dates)
        rows = [r for r in rows if r["date"].isoformat() in wanted]
    return rows
