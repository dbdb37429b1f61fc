"""The side-by-side benchmark's table (Markdown, for the README) and chart (PNG), from its JSON only.

Why: figures in the README must come from a run, not be typed; ``python -m bench.report`` prints the
table of the last ``make bench`` (``.state/bench/side_by_side.json``).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

ORDER = ("airflow", "jobs", "lean", "floor")
LABELS = {
    "airflow": "pipeline through Airflow (dag.test)",
    "jobs": "pipeline jobs called directly",
    "lean": "lean polars + delta-rs (no gate)",
    "floor": "read floor (pyarrow reads the file)",
}


def _fmt_stages(stages: dict[str, float]) -> str:
    return ", ".join(f"{name} {secs:.1f}" for name, secs in stages.items())


def render_markdown(result: dict[str, Any]) -> str:
    """One row per implementation and size (median seconds per stage, total, rows/s, Spark jobs, peak
    memory), then one per implementation with the fit; the correctness verdict last."""
    lines = [
        f"Sizes {', '.join(f'{n:,}' for n in result['sizes'])} rows per day (≈ 80 % air readings), "
        f"{result['reps']} repetition(s), medians; {result.get('cpus')} CPUs, load "
        f"{result['load_before'][0]:.1f} before, {result.get('load_after', [0.0])[0]:.1f} after.",
    ]
    if "spark_start_seconds" in result:
        lines[0] += (
            f" Spark session start (once per process, not in the totals): {result['spark_start_seconds']:.1f} s."
        )
    lines += [
        "",
        "| implementation | rows | stages (s) | total (s) | rows/s | Spark jobs | peak memory (tree) |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for impl in ORDER:
        for n, m in result.get("median", {}).get(impl, {}).items():
            jobs = sum(m["spark_jobs"].values()) if m["spark_jobs"] else "—"
            rate = f"{m['rows_per_s']:,.0f}" if m["rows_per_s"] else "—"
            lines.append(
                f"| {LABELS[impl]} | {int(n):,} | {_fmt_stages(m['stages'])} | {m['total']:.1f} | {rate} | {jobs} | "
                f"{m['peak_rss_bytes'] / 2**30:.2f} GiB |"
            )
    sizes = set(result["sizes"])
    if len(sizes) < 2:  # a and b of one size would read as measured (a = 0, b = t / n): say there is no fit
        lines += ["", "No fit: one size only (t(n) = a + b·n needs at least two; `make bench` runs 1e5 and 1e6)."]
    else:
        lines += ["", "| implementation | a (fixed s) | b (µs per row) | log-log slope |", "|---|---:|---:|---:|"]
    for impl in ORDER if len(sizes) >= 2 else ():
        fit = result.get("fit", {}).get(impl)
        if fit:
            slope = "—" if fit["loglog_slope"] is None else f"{fit['loglog_slope']:.2f}"
            lines.append(f"| {LABELS[impl]} | {fit['a_seconds']:.1f} | {fit['b_us_per_row']:.2f} | {slope} |")
    checks = [c for by_size in result.get("correctness", {}).values() for c in by_size]
    differing = sum(1 for c in checks if c["differences"])
    compared = sorted({impl for c in checks for impl in c["fingerprints"]}, key=ORDER.index)
    lines += [
        "",
        f"Correctness: {len(checks) - differing} of {len(checks)} runs identical across "
        f"{' / '.join(compared) or 'nothing (one implementation)'} "
        "(silver rows, quarantine by reason, aqi_daily rows, per-table checksums).",
    ]
    return "\n".join(lines)


def chart(result: dict[str, Any], path: Path) -> None:
    """Total seconds against rows per implementation (log-log), with stacked stages at the largest size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    medians = result.get("median", {})
    for impl in ORDER:
        points = sorted((int(n), m["total"]) for n, m in medians.get(impl, {}).items())
        if points:
            left.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=LABELS[impl])
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("rows per day (generator)")
    left.set_ylabel("seconds (median)")
    left.set_title("air path: landing → silver → aqi_daily")
    left.legend(fontsize=8)
    largest = str(max(result["sizes"]))
    impls = [i for i in ORDER if largest in medians.get(i, {})]
    bottoms = [0.0] * len(impls)
    names = list(dict.fromkeys(s for i in impls for s in medians[i][largest]["stages"]))
    for name in names:
        heights = [medians[i][largest]["stages"].get(name, 0.0) for i in impls]
        right.bar(impls, heights, bottom=bottoms, label=name)
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    right.set_ylabel("seconds (median)")
    right.set_title(f"stages at {int(largest):,} rows")
    right.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


BEGIN, END = "<!-- side_by_side:begin (python -m bench.report --readme README.md) -->", "<!-- side_by_side:end -->"


def replace_in_readme(text: str, table: str) -> str:
    """The README with the text between the side-by-side markers replaced by ``table``."""
    head, sep, rest = text.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise ValueError(f"the README has no {BEGIN} … {END} block")
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    default = Path(os.environ.get("LAKEHOUSE_STATE_DIR", ".state")) / "bench" / "side_by_side.json"
    parser.add_argument("json", type=Path, nargs="?", default=default)
    parser.add_argument("--chart", type=Path, help="also (re)draw the chart to this PNG")
    parser.add_argument("--readme", type=Path, help="write the table into this README's side-by-side block")
    args = parser.parse_args()
    result = json.loads(args.json.read_text())
    if args.chart:
        chart(result, args.chart)
    table = render_markdown(result)
    if args.readme:
        args.readme.write_text(replace_in_readme(args.readme.read_text(), table))
    print(table)


if __name__ == "__main__":
    main()
