"""What a notice says for each kind of alert (jobs.notify.notices, pure): the device-error one names
the parameter and the value the device sent with its flag, and its regulation."""

from __future__ import annotations

from datetime import UTC, date, datetime

from jobs.notify import notices

DEVICE_ROW = {
    "alert_id": "d1",
    "kind": "device",
    "medium": "wastewater",
    "entity_id": "WW-40-0001-S1",
    "facility_id": "WW-40-0001",
    "entity_name": "Công ty Giấy Sông Lam",
    "province_code": "40",
    "parameter": "COD",
    "opened_at": datetime(2026, 11, 26, 3, tzinfo=UTC),
    "closed_at": datetime(2026, 11, 26, 5, tzinfo=UTC),
    "date": date(2026, 11, 26),
    "open_value": 900.0,
    "peak_value": 950.0,
    "limit_value": None,
    "limit_kind": None,
    "limit_source": "Circular 10/2021/TT-BTNMT: device status 'error' (báo lỗi thiết bị)",
    "last_seen_at": None,
}


def test_a_device_error_notice_names_parameter_value_and_regulation() -> None:
    opened, closed = notices([DEVICE_ROW])
    assert (opened.notice_id, closed.notice_id) == ("d1.opened", "d1.closed")
    assert opened.subject == "[MỞ] Thiết bị báo lỗi: Công ty Giấy Sông Lam (WW-40-0001-S1), Nghệ An, COD"
    body = opened.body.splitlines()
    assert "Chi tiết / detail: COD: thiết bị báo lỗi, giá trị gửi kèm 900" in body
    assert "Quy chuẩn / regulation: Circular 10/2021/TT-BTNMT: device status 'error' (báo lỗi thiết bị)" in body
    assert "Loại / kind: Thiết bị báo lỗi (device, wastewater)" in body
