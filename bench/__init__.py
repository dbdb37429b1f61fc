"""Side-by-side benchmark of issue 16 (``make bench``): the pipeline through Airflow, its jobs called
directly, a lean polars + delta-rs baseline and the read floor, on the same seeded input, with one
correctness check. Never imported by the pipeline (an import-linter contract says so)."""
