"""Alert notifications to the owner ministry: e-mail over SMTP and an HTTP webhook, each sent once.

Every alert episode (``gold.environment_alert``) gives an ``opened`` notice and, once it has a
``closed_at``, a ``closed`` notice. A notice a channel accepted (SMTP: the server's reply to the
message; webhook: a 2xx answer) is recorded in the lake at ``notifications/<channel>/<notice
id>.json`` by a conditional PUT, and a recorded notice is never sent again: rerunning or restarting
the notifier re-sends nothing. The record follows the acceptance within milliseconds; a crash
between the two would send that one message again, with the same ``Message-ID`` / ``Idempotency-Key``
(the notice id), so the receiver can drop it.

Each delivery is tried ``LAKEHOUSE_NOTIFY_ATTEMPTS`` times with backoff; a channel that still
fails stops the run with an error naming it, and what was delivered before stays recorded. A
channel with no address configured (``LAKEHOUSE_SMTP_HOST``/``LAKEHOUSE_ALERT_EMAIL_TO``,
``LAKEHOUSE_ALERT_WEBHOOK_URL``) is skipped and the report says so.
"""

from __future__ import annotations

import contextlib
import json
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from jobs.errors import UserFacingError
from jobs.extract.retry import backoff_delay
from jobs.provinces import PROVINCES_2025
from jobs.settings import Settings, get_settings

LEDGER_PREFIX = "notifications"
KIND_VI = {"exceedance": "Vượt quy chuẩn", "aqi": "Chất lượng không khí xấu", "silent": "Trạm ngừng truyền dữ liệu"}
EVENT_VI = {"opened": "MỞ", "closed": "ĐÓNG"}


@dataclass(frozen=True)
class Notice:
    """One message about one alert event; ``notice_id`` is the same on every run."""

    notice_id: str
    alert_id: str
    event: str  # opened | closed
    subject: str
    body: str
    payload: dict[str, Any]


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


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
            out.append((at, Notice(notice_id, str(row["alert_id"]), event, subject, body, payload | {"event": event})))
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
    """One SMTP session for a run's messages (a connection, TLS and login per message would bound a
    burst of alerts to a few per second); reopened when the server drops it."""

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
    return f"{LEDGER_PREFIX}/{channel}/{notice.notice_id}.json"


def deliver(alert_rows: Iterable[Mapping[str, Any]], settings: Settings | None = None) -> dict[str, Any]:
    """Send every notice no channel has accepted yet; returns counts per channel."""
    settings = settings or get_settings()
    channels: dict[str, Callable[[Notice, Settings], None]] = {}
    report: dict[str, Any] = {"skipped_channels": []}
    mailer = Mailer(settings)
    if settings.smtp_host and settings.alert_email_to:
        channels["email"] = mailer
    else:
        report["skipped_channels"].append("email (set LAKEHOUSE_SMTP_HOST and LAKEHOUSE_ALERT_EMAIL_TO)")
    if settings.alert_webhook_url:
        channels["webhook"] = post_webhook
    else:
        report["skipped_channels"].append("webhook (set LAKEHOUSE_ALERT_WEBHOOK_URL)")
    todo = notices(alert_rows)
    report["notices"] = len(todo)
    try:
        _deliver(todo, channels, report, settings)
    finally:
        mailer.close()
    return report


def _deliver(
    todo: list[Notice],
    channels: dict[str, Callable[[Notice, Settings], None]],
    report: dict[str, Any],
    settings: Settings,
) -> None:
    from jobs.storage import list_keys, put_if_absent

    for channel, send in channels.items():
        sent = already = 0
        recorded = set(list_keys(f"{LEDGER_PREFIX}/{channel}/", settings))  # one listing, not a request per notice
        for notice in todo:
            key = _ledger_key(channel, notice)
            if key in recorded:
                already += 1
                continue
            send(notice, settings)
            record = {
                "notice_id": notice.notice_id,
                "channel": channel,
                "accepted_at": datetime.now().astimezone().isoformat(),
            }
            put_if_absent(key, json.dumps(record).encode(), {"alert-id": notice.alert_id}, settings)
            sent += 1
        report[channel] = {"sent": sent, "already_sent": already}


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
