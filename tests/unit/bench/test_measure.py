"""The benchmark's pure parts on numbers written by hand: the fit, the slope, the correctness check."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import polars as pl
import pytest

from bench.measure import compare, fingerprint, fit_linear, loglog_slope, median_stages


def test_fit_recovers_fixed_cost_and_cost_per_row() -> None:
    # t = 10 s + 2 µs per row, exactly
    fit = fit_linear([100_000, 1_000_000, 10_000_000], [10.2, 12.0, 30.0])
    assert fit.a == pytest.approx(10.0)
    assert fit.us_per_row == pytest.approx(2.0)
    assert fit.slope == pytest.approx(math.log(30.0 / 10.2) / math.log(100))  # ≈ 0.234: mostly fixed cost


def test_slope_is_one_for_pure_per_row_cost_and_zero_for_pure_fixed_cost() -> None:
    assert loglog_slope([1e5, 1e7], [0.3, 30.0]) == pytest.approx(1.0)
    assert loglog_slope([1e5, 1e7], [7.0, 7.0]) == pytest.approx(0.0)
    assert fit_linear([1e5], [4.0]).slope is None


def test_median_per_stage() -> None:
    runs = [{"land": 1.0, "silver": 9.0}, {"land": 3.0, "silver": 5.0}, {"land": 2.0, "silver": 7.0}]
    assert median_stages(runs) == {"land": 2.0, "silver": 7.0}


def _gold(vn_aqi: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "station_id": ["AQ-01-0001", "AQ-01-0002"],
            "date": [date(2026, 11, 26), date(2026, 11, 26)],
            "pm25_24h": [30.0, 41.5],
            "vn_aqi": [60, vn_aqi],
        }
    )


def test_fingerprints_agree_whatever_the_row_order_and_the_integer_width() -> None:
    cols = ("station_id", "date", "pm25_24h", "vn_aqi")
    a = fingerprint(_gold(83), cols)
    b = fingerprint(_gold(83).reverse().with_columns(pl.col("vn_aqi").cast(pl.Int64)), cols)
    assert a == b
    assert compare({"jobs": {"gold": a}, "lean": {"gold": b}}) == []


def test_one_changed_value_is_a_difference_and_named() -> None:
    cols = ("station_id", "date", "pm25_24h", "vn_aqi")
    problems = compare({"jobs": {"gold": fingerprint(_gold(83), cols)}, "lean": {"gold": fingerprint(_gold(84), cols)}})
    assert len(problems) == 2 and problems[0].startswith("gold.checksum: jobs ")
    assert problems[1].startswith("gold.columns: jobs vs lean differ on {'vn_aqi': (")  # the column is named


def test_quarantine_counts_by_reason_are_compared_reason_by_reason() -> None:
    q1 = pl.DataFrame(
        {"_source_line": [2, 3, 4], "reason_code": ["NEGATIVE_VALUE", "MALFORMED_LINE", "MALFORMED_LINE"]}
    )
    q2 = pl.DataFrame(
        {"_source_line": [2, 3, 4], "reason_code": ["NEGATIVE_VALUE", "MALFORMED_LINE", "INVALID_ENCODING"]}
    )
    cols = ("_source_line", "reason_code")
    problems = compare(
        {"jobs": {"q": fingerprint(q1, cols, "reason_code")}, "lean": {"q": fingerprint(q2, cols, "reason_code")}}
    )
    assert "q.by: jobs vs lean differ on {'INVALID_ENCODING': (0, 1), 'MALFORMED_LINE': (2, 1)}" in problems
    assert any(p.startswith("q.checksum") for p in problems)


def test_times_compare_as_instants_whatever_the_time_zone_label() -> None:
    utc = pl.DataFrame({"t": [datetime(2026, 11, 26, 1, tzinfo=UTC)]})
    naive = pl.DataFrame({"t": [datetime(2026, 11, 26, 1)]})  # Spark-written timestamps read as UTC
    assert fingerprint(utc, ("t",)) == fingerprint(naive, ("t",))


def test_a_table_only_one_implementation_wrote_is_a_difference() -> None:
    fp = fingerprint(_gold(1), ("vn_aqi",))
    assert compare({"jobs": {"gold": fp, "silver": fp}, "lean": {"gold": fp}}) == ["silver: only jobs has it"]


def test_the_readme_block_is_replaced_and_nothing_else() -> None:
    from bench.report import BEGIN, END, replace_in_readme

    text = f"intro\n{BEGIN}\nold table\n{END}\nafter\n"
    assert replace_in_readme(text, "| new |") == f"intro\n{BEGIN}\n| new |\n{END}\nafter\n"
    with pytest.raises(ValueError):
        replace_in_readme("no block", "| new |")


def _result(sizes: list[int]) -> dict[str, object]:
    median = {
        n: {
            "stages": {"silver": 1.0},
            "total": 2.0 * n / 1000,
            "rows_per_s": 500.0,
            "spark_jobs": {},
            "peak_rss_bytes": 2**30,
        }
        for n in sizes
    }
    fit = {"a_seconds": 1.5, "b_us_per_row": 20.0, "loglog_slope": 0.98}
    return {
        "sizes": sizes,
        "reps": 1,
        "cpus": 2,
        "load_before": [1.0],
        "median": {"lean": median},
        "fit": {"lean": fit},
        "correctness": {},
    }


def test_one_size_prints_no_fit_and_two_sizes_print_it() -> None:
    from bench.report import render_markdown

    one = render_markdown(_result([100_000]))
    assert "No fit: one size only" in one and "a (fixed s)" not in one
    two = render_markdown(_result([100_000, 1_000_000]))
    assert "No fit" not in two and "| 1.5 | 20.00 | 0.98 |" in two


def test_correctness_line_names_only_the_implementations_compared() -> None:
    from bench.report import render_markdown

    result = _result([100_000])
    checks = [
        {"fingerprints": {"lean": {}, "jobs": {}}, "differences": []},
        {"fingerprints": {"jobs": {}, "lean": {}}, "differences": ["x"]},
    ]
    result["correctness"] = {"100000": checks}
    text = render_markdown(result)
    assert "Correctness: 1 of 2 runs identical across jobs / lean (" in text
    assert "airflow" not in text.split("Correctness:")[1]
