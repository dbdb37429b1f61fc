"""The library exports and the ``library`` channel adapter (pure Python: no Spark, no store)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from jobs.errors import DataError
from jobs.extract import library
from jobs.interval import DataInterval
from jobs.reference import exports
from jobs.registry import REGISTRY, Channel
from jobs.settings import Settings

INTERVAL = DataInterval.for_local_day(date(2026, 11, 26))


def test_provinces_2025_export_is_the_34_units_as_the_library_writes_them() -> None:
    table = exports.provinces_2025()
    assert (table.package, table.columns, table.stated_rows) == ("vietnam-provinces", exports.PROVINCE_COLUMNS, 34)
    assert len(table.rows) == 34
    by_code = {r[0]: r for r in table.rows}
    # The library writes codes as numbers (no zero padding) and city names with their prefix.
    assert by_code["1"] == ("1", "Thành phố Hà Nội", "thành phố trung ương", "ha_noi", "24")
    assert by_code["24"][1:3] == ("Bắc Ninh", "tỉnh")
    assert by_code["44"][1] == "Quảng Trị"


def test_legacy_export_is_the_63_units() -> None:
    table = exports.provinces_legacy()
    assert (table.package, table.stated_rows, len(table.rows)) == ("vietnamadminunits", 63, 63)
    by_code = {r[0]: r for r in table.rows}
    assert by_code["24"] == ("24", "Tỉnh Bắc Giang", "Bắc Giang")
    assert by_code["44"] == ("44", "Tỉnh Quảng Bình", "Quảng Bình")
    assert by_code["01"] == ("01", "Thành phố Hà Nội", "Hà Nội")


def test_mapping_export_covers_every_legacy_code() -> None:
    table = exports.province_mapping()
    pairs = {legacy: new for legacy, new in table.rows}
    assert len(pairs) == len(table.rows) == 63
    assert set(pairs) == {r[0] for r in exports.provinces_legacy().rows}
    assert len(set(pairs.values())) == 34
    # docs/domain.md, "Administrative units": 24←24,27; 44←44,45; 01 unchanged; 79←74,77,79.
    assert (pairs["24"], pairs["27"], pairs["44"], pairs["45"], pairs["01"]) == ("24", "24", "44", "44", "01")
    assert sorted(k for k, v in pairs.items() if v == "79") == ["74", "77", "79"]


def test_commune_export() -> None:
    table = exports.communes_2025()
    assert (table.stated_rows, len(table.rows)) == (3321, 3321)
    assert {r[2] for r in table.rows} == {"xã", "phường", "đặc khu"}
    assert len({r[4] for r in table.rows}) == 34


def test_library_channel_stages_the_csv_with_version_and_stated_count(tmp_path: Path) -> None:
    dataset = REGISTRY["province"]
    assert dataset.source is not None and dataset.source.channel == Channel.LIBRARY
    got = library.extract(dataset, INTERVAL, Settings(), tmp_path)
    lines = got.path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "code,name,division_type,codename,phone_code"
    assert lines[1] == "1,Thành phố Hà Nội,thành phố trung ương,ha_noi,24"
    assert len(lines) == 1 + 34
    assert (got.version, got.stated_rows, got.format) == ("vietnam-provinces==2025.10.1", 34, "csv")
    assert got.source_name == "library:vietnam-provinces==2025.10.1/Province.iter_all"
    assert [p.name for p in tmp_path.iterdir()] == ["province.csv"]  # no partial file left behind


def test_library_channel_quotes_fields_with_commas(tmp_path: Path) -> None:
    table = exports.LibraryTable("x", "t", ("a", "b"), (("1", "Bà Rịa, Vũng Tàu"),), 1)
    library.write_csv(table, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text(encoding="utf-8") == 'a,b\n1,"Bà Rịa, Vũng Tàu"\n'


def test_library_channel_refuses_an_export_whose_columns_drifted() -> None:
    dataset = REGISTRY["province"]
    assert dataset.source is not None
    drifted = replace(dataset, source=replace(dataset.source, columns=("code", "name")))
    with pytest.raises(DataError, match=r"update Source\.columns"):
        library.load_export(drifted)


def test_library_channel_needs_an_export_option() -> None:
    dataset = REGISTRY["province"]
    assert dataset.source is not None
    bare = replace(dataset, source=replace(dataset.source, options={}))
    with pytest.raises(DataError, match="module:function"):
        library.load_export(bare)


def test_library_version_of_a_missing_package_says_what_to_do() -> None:
    with pytest.raises(DataError, match="make venv"):
        library.library_version("no-such-library-xyz")
