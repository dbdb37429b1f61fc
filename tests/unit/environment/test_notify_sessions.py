"""How a burst of notices is spread over SMTP sessions (``jobs.notify.sessions_for``): every notice in
exactly one session, an alert's ``opened`` and ``closed`` in the same one and in that order, a small
batch kept in one session (and so in event-time order), never more sessions than configured."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from jobs.notify import NOTICES_PER_SESSION, Notice, notices, sessions_for

T0 = datetime(2026, 11, 26, 7, tzinfo=UTC)


def _alerts(count: int, closed_every: int = 3) -> list[dict[str, object]]:
    """``count`` wastewater exceedances a second apart; every ``closed_every``-th closed an hour later."""
    rows: list[dict[str, object]] = []
    for i in range(count):
        opened = T0 + timedelta(seconds=i)
        rows.append(
            {
                "alert_id": f"{i:032x}",
                "date": date(2026, 11, 26),
                "kind": "exceedance",
                "medium": "wastewater",
                "entity_id": f"W{i}",
                "entity_name": None,
                "facility_id": f"F{i}",
                "province_code": "40",
                "parameter": "COD",
                "open_value": 140.0,
                "peak_value": 180.0,
                "limit_kind": "max",
                "limit_value": 135.0,
                "limit_source": "QCVN 40:2011/BTNMT",
                "opened_at": opened,
                "closed_at": opened + timedelta(hours=1) if i % closed_every == 0 else None,
            }
        )
    return rows


def _ids(shares: list[list[Notice]]) -> list[str]:
    return [n.notice_id for share in shares for n in share]


def test_a_burst_is_spread_over_the_configured_sessions_each_alert_in_one() -> None:
    todo = notices(_alerts(1000))
    assert len(todo) == 1000 + 334  # 334 of them closed (i = 0, 3, …, 999)
    shares = sessions_for(todo, limit=4)
    assert len(shares) == 4
    assert Counter(_ids(shares)) == Counter(n.notice_id for n in todo)  # each notice once
    assert all(200 < len(share) < 470 for share in shares)  # spread, not all in one
    where = {}
    for index, share in enumerate(shares):
        order = [n.notice_id for n in share]
        assert order == [n.notice_id for n in todo if n in share]  # event time within a session
        for n in share:
            where.setdefault(n.alert_id, set()).add(index)
    assert all(len(sessions) == 1 for sessions in where.values())  # an alert's notices in one session
    first = shares[where["0" * 32].pop()]
    ids = [n.notice_id for n in first]
    assert ids.index("0" * 32 + ".opened") < ids.index("0" * 32 + ".closed")


def test_a_few_notices_keep_one_session_and_their_order() -> None:
    todo = notices(_alerts(NOTICES_PER_SESSION + 10))
    shares = sessions_for(todo, limit=4)
    assert len(shares) == 1 and _ids(shares) == [n.notice_id for n in todo]
    assert sessions_for([], limit=4) == []


def test_sessions_never_exceed_the_limit() -> None:
    todo = notices(_alerts(600))
    assert len(sessions_for(todo, limit=1)) == 1
    assert len(sessions_for(todo, limit=2)) == 2
    assert len(sessions_for(todo, limit=32)) == len(todo) // NOTICES_PER_SESSION == 16  # 800 notices
