"""Referential integrity against the province dimension in the lake (``silver.reference_province``).

Why: conforming a code with :mod:`jobs.provinces` proves it is in the library's list; a silver
table's province codes must also exist in the lake's own dimension, the table ministries join on
(docs/domain.md, "The four criteria": đúng = referential integrity with the province dimension).
Two ways to check it:

In a silver transform (row rule, the row is quarantined with a reason)::

    Dataset(..., inputs=("province", ...), row_rules=(...,
        RowRule("UNMAPPABLE_PROVINCE", "province_code IS NULL", C.CORRECT, "..."),
        RowRule("UNKNOWN_PROVINCE", "NOT _province_known", C.CORRECT,
                "The 2025 province code is not in silver.reference_province (referential integrity)."),
    ))
    # in the transform, after conforming with jobs.conform.province_code_2025:
    typed = with_province_known(typed, inputs["province"])

(``jobs.pipeline.refine_batch`` reads every name in ``inputs`` from the lake, so ``inputs["province"]``
is the silver dimension; the reference DAG must have certified it before a sector DAG runs.)

Outside Spark (a gate value set, a CLI check): :func:`province_codes` reads the codes from the
lake table with delta-rs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobs.errors import DataError
from jobs.registry import REGISTRY
from jobs.settings import Settings, get_settings
from jobs.storage import delta_table_or_none

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

PROVINCE = "province"
"""Registry name of the province dimension (``silver.reference_province``)."""


def with_province_known(
    df: DataFrame, provinces: DataFrame, column: str = "province_code", flag: str = "_province_known"
) -> DataFrame:
    """Add ``flag``: ``column`` is a code of a province valid today in the dimension (NULL code: false).

    ``provinces`` is the silver dimension (``inputs["province"]``); it is tiny, so it is broadcast.
    """
    from pyspark.sql import functions as F

    codes = provinces.where(F.col("valid_to").isNull()).select(F.col("province_code").alias("_dim_code")).distinct()
    joined = df.join(F.broadcast(codes), df[column] == codes["_dim_code"], "left")
    return joined.withColumn(flag, F.col("_dim_code").isNotNull()).drop("_dim_code")


def province_codes(settings: Settings | None = None) -> frozenset[str]:
    """The 2025 province codes in the lake's dimension (valid today), read with delta-rs (no Spark)."""
    settings = settings or get_settings()
    dataset = REGISTRY[PROVINCE]
    table = delta_table_or_none(settings, dataset.table_path)
    if table is None:
        raise DataError(
            f"{dataset.qualified_name} is not built in bucket {settings.bucket}: run the `reference` DAG "
            "(or jobs.pipeline.run_dataset for each reference dataset) before the sectors that check province "
            "codes against it."
        )
    rows = table.to_pyarrow_table(columns=["province_code", "valid_to"]).to_pylist()
    return frozenset(r["province_code"] for r in rows if r["valid_to"] is None and r["province_code"] is not None)
