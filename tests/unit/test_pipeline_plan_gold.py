"""Which gold days certified asset events lead to (``jobs.pipeline.plan_gold``), by hand-made events."""

from __future__ import annotations

from typing import Any

from jobs.pipeline import plan_gold

LAKE = "lakehouse"
D20 = ("2026-11-19T17:00:00+00:00", "2026-11-20T17:00:00+00:00")  # the Vietnamese day 20 Nov
D21 = ("2026-11-20T17:00:00+00:00", "2026-11-21T17:00:00+00:00")


def ev(dataset: str, interval: tuple[str, str], days: list[str], lake: str = LAKE) -> dict[str, Any]:
    return {
        "dataset": dataset,
        "lake": lake,
        "data_interval_start": interval[0],
        "data_interval_end": interval[1],
        "days": days,
    }


def test_days_of_an_interval_where_every_input_is_certified() -> None:
    new = [ev("air_quality_reading", D21, ["2026-11-20", "2026-11-21"]), ev("wastewater_reading", D21, ["2026-11-21"])]
    new.append(ev("wastewater_facility", D21, []))
    plan = plan_gold("exceedance", new, [], LAKE)
    assert plan["days"] == ["2026-11-20", "2026-11-21"]  # the late reading's day too
    assert plan["intervals"] == [list(D21)] and plan["waiting"] == []
    assert plan_gold("aqi_hourly", new, [], LAKE)["days"] == ["2026-11-20", "2026-11-21"]


def test_an_interval_with_an_uncertified_input_builds_nothing_and_says_what_is_missing() -> None:
    new = [ev("wastewater_reading", D21, ["2026-11-21"]), ev("wastewater_facility", D21, [])]
    plan = plan_gold("exceedance", new, [], LAKE)
    assert plan["days"] == [] and plan["intervals"] == []
    assert plan["waiting"] == [{"interval": list(D21), "missing": ["air_quality_reading"]}]
    assert plan_gold("aqi_hourly", new, [], LAKE)["days"] == []  # no air event at all: nothing wanted


def test_history_completes_an_interval_whose_inputs_were_certified_in_earlier_runs() -> None:
    late_fix = [ev("air_quality_reading", D21, ["2026-11-21"])]
    history = [ev("wastewater_reading", D21, ["2026-11-21"]), ev("wastewater_facility", D21, [])]
    assert plan_gold("exceedance", late_fix, history, LAKE)["days"] == ["2026-11-21"]


def test_a_manual_run_takes_the_latest_event_of_each_input() -> None:
    history = [  # newest first, as the DAG reads inlet events
        ev("air_quality_reading", D20, ["2026-11-20"]),
        ev("wastewater_reading", D21, ["2026-11-21"]),
        ev("wastewater_facility", D21, []),
        ev("wastewater_reading", D20, ["2026-11-20"]),
        ev("wastewater_facility", D20, []),
        ev("air_quality_reading", D21, ["2026-11-21"], lake="another-lake"),
    ]
    plan = plan_gold("exceedance", None, history, LAKE)
    # latest air batch is 20 Nov (21 Nov failed its gate here): 20 Nov is complete, 21 Nov waits
    assert plan["days"] == ["2026-11-20"]
    assert plan["waiting"] == [{"interval": list(D21), "missing": ["air_quality_reading"]}]


def test_events_of_another_lake_are_ignored() -> None:
    new = [ev("air_quality_reading", D21, ["2026-11-21"], lake="lakehouse-test-x")]
    assert plan_gold("aqi_hourly", new, [], LAKE)["days"] == []
    assert plan_gold("aqi_hourly", new, [], "lakehouse-test-x")["days"] == ["2026-11-21"]


def test_a_gold_table_built_only_from_gold_has_no_silver_days() -> None:
    new = [ev("air_quality_reading", D21, ["2026-11-21"])]
    assert plan_gold("aqi_province_daily", new, [], LAKE)["days"] == []  # it follows aqi_daily's result
    assert plan_gold("aqi_daily", new, [], LAKE)["days"] == []  # and aqi_daily follows aqi_hourly's


def test_a_table_of_episodes_rebuilds_the_certified_days_before() -> None:
    """alert rebuilds up to 7 days before a new day (an episode opened then may close now), but
    only days whose every input was certified: 20 Nov is, 19 Nov's air batch failed its gate."""
    d19 = ("2026-11-18T17:00:00+00:00", "2026-11-19T17:00:00+00:00")
    history = [
        ev("air_quality_reading", D20, ["2026-11-20"]),
        ev("wastewater_reading", D20, ["2026-11-20"]),
        ev("wastewater_facility", D20, []),
        ev("wastewater_reading", d19, ["2026-11-19"]),
        ev("wastewater_facility", d19, []),
    ]
    new = [
        ev("air_quality_reading", D21, ["2026-11-21"]),
        ev("wastewater_reading", D21, ["2026-11-21"]),
        ev("wastewater_facility", D21, []),
    ]
    assert plan_gold("alert", new, history, LAKE)["days"] == ["2026-11-20", "2026-11-21"]
    assert plan_gold("exceedance", new, history, LAKE)["days"] == ["2026-11-21"]
