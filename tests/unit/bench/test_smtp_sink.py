"""``make bench-live``'s SMTP sink runs in its own process: the notices' acceptance times from its file."""

from __future__ import annotations

import smtplib
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

from bench.channels import REPO, free_port, wait_listening
from bench.smtp_sink import accepted


def test_a_notice_is_timed_once_from_its_first_acceptance_and_a_torn_line_is_skipped(tmp_path: Path) -> None:
    record = tmp_path / "accepted.tsv"
    record.write_text("a1.opened\t10.5\na2.opened\t11.0\na1.opened\t12.0\na3.opened", encoding="utf-8")
    assert accepted(record) == {"a1.opened": 10.5, "a2.opened": 11.0}
    assert accepted(tmp_path / "none.tsv") == {}


def test_the_sink_records_each_message_id_with_the_machines_monotonic_clock(tmp_path: Path) -> None:
    port, record = free_port(), tmp_path / "accepted.tsv"
    proc = subprocess.Popen(  # nosec B603
        [sys.executable, "-m", "bench.smtp_sink", "--port", str(port), "--out", str(record)], cwd=REPO
    )
    try:
        wait_listening(port)
        before = time.monotonic()
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            for event in ("opened", "closed"):
                message = EmailMessage()
                message["From"], message["To"], message["Subject"] = "a@b.vn", "c@d.vn", event
                message["Message-ID"] = f"<abc123.{event}@lakehouse.local>"
                message.set_content("x")
                smtp.send_message(message)
        after = time.monotonic()
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
    seen = accepted(record)
    assert set(seen) == {"abc123.opened", "abc123.closed"}
    assert before <= seen["abc123.opened"] <= seen["abc123.closed"] <= after
