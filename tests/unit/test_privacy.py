"""Personal data: phone/name normalization, keyed pseudonyms, the keyring, raw-value patterns, registry rules.

The HMAC vectors were computed outside Python (``printf '+84912345678' | openssl dgst -sha256 -hmac
KEY``; the derived key's below) and are checked against the standard library too, so a change in
normalization, key derivation or hashing shows up here first.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import replace
from datetime import timedelta

import pytest
from pyspark.sql import SparkSession

from jobs import privacy, tables
from jobs.errors import UserFacingError
from jobs.registry import (
    REGISTRY,
    Classification,
    Field,
    Layer,
    PersonalData,
    PersonalKind,
    Registry,
)
from jobs.settings import MissingSettingError

KEY = b"test-pseudonym-key-0123456789abcdef"
PHONE_E164 = "+84912345678"
OPENSSL_HMAC = "8fdcb6dceaf4ca3c8374fbf79ccee8de73000925909de4be729308574be46aa5"
FORMS = ["0912 345 678", "+84912345678", "0912.345.678", "0912345678", "(+84) 912-345-678", "0084912345678"]


def test_hmac_matches_an_independently_computed_vector() -> None:
    assert hmac.new(KEY, PHONE_E164.encode(), hashlib.sha256).hexdigest() == OPENSSL_HMAC
    assert privacy.hmac_hex(PHONE_E164, KEY) == OPENSSL_HMAC
    for form in FORMS:
        assert privacy.pseudonymize(PersonalKind.PHONE, form, KEY) == OPENSSL_HMAC, form
    assert privacy.pseudonymize(PersonalKind.PHONE, "0912345679", KEY) != OPENSSL_HMAC
    assert privacy.pseudonymize(PersonalKind.PHONE, PHONE_E164, b"another-key-of-32-characters-long") != OPENSSL_HMAC


@pytest.mark.parametrize("form", FORMS)
def test_every_phone_form_normalizes_to_e164(form: str) -> None:
    assert privacy.normalize_phone(form) == PHONE_E164


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("024 3825 1234", "+842438251234"),  # Hà Nội landline: 10-digit national number
        ("84912345678", "+84912345678"),
        ("  +84 96 484 5753 ", "+84964845753"),
        ("0912", None),
        ("+1 650 253 0000", None),
        ("+840912345678", None),  # trunk 0 after the country code
        ("N/A", None),
        ("", None),
        (None, None),
    ],
)
def test_phone_normalization_edge_cases(raw: str | None, expected: str | None) -> None:
    assert privacy.normalize_phone(raw) == expected


def test_names_become_nfc_with_single_spaces() -> None:
    nfd = "Đỗ Quốc Sơn".replace("ố", "o\u0302\u0301").replace("ơ", "o\u031b")
    assert nfd != "Đỗ Quốc Sơn"
    assert privacy.normalize_name(f"  {nfd}\t ") == "Đỗ Quốc Sơn"
    assert privacy.normalize_name("   ") is None
    assert privacy.normalize_identifier("51g-123.45") == "51G12345"


KEY_ENVS = (privacy.PSEUDONYM_KEY_ENV, privacy.PSEUDONYM_KEYS_ENV, privacy.PSEUDONYM_KEY_ID_ENV)
# Computed outside Python: derived = `printf lakehouse-pseudonym/v1/wastewater_facility/contact_phone |
# openssl dgst -sha256 -mac HMAC -macopt key:KEY -binary`, then `printf +84912345678 | openssl dgst
# -sha256 -mac HMAC -macopt hexkey:<derived>`.
OPENSSL_DERIVED = "8b2fb55f7de05dacffb03cda28e34af94abfe8d7924db8be08f6b1bd9e55dc65"
OPENSSL_DERIVED_HMAC = "29ab4d00b35b405aa06f2babb14dc947a91b2ce5db96627a955bf11a4f1aea1a"


def _independent_pseudonym(master: bytes, dataset: str, column: str, value: str) -> str:
    """The documented derivation, written again here with hmac/hashlib only (not the code under test)."""
    derived = hmac.new(master, f"lakehouse-pseudonym/v1/{dataset}/{column}".encode(), hashlib.sha256).digest()
    return hmac.new(derived, value.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def keys_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in KEY_ENVS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_derived_key_matches_a_known_answer_vector(keys_env: pytest.MonkeyPatch) -> None:
    assert _independent_pseudonym(KEY, "wastewater_facility", "contact_phone", PHONE_E164) == OPENSSL_DERIVED_HMAC
    assert privacy.derive_key(KEY, "wastewater_facility", "contact_phone").hex() == OPENSSL_DERIVED
    keys_env.setenv(privacy.PSEUDONYM_KEYS_ENV, f"k1:{KEY.decode()}")
    keys_env.setenv(privacy.PSEUDONYM_KEY_ID_ENV, "k1")
    ring = privacy.keyring()
    key = ring.current("wastewater_facility", "contact_phone")
    for form in FORMS:
        assert privacy.pseudonymize(PersonalKind.PHONE, form, key) == OPENSSL_DERIVED_HMAC, form


def test_pseudonyms_differ_across_datasets_and_kinds(keys_env: pytest.MonkeyPatch) -> None:
    keys_env.setenv(privacy.PSEUDONYM_KEYS_ENV, f"k1:{KEY.decode()},k2:{'z' * 40}")
    keys_env.setenv(privacy.PSEUDONYM_KEY_ID_ENV, "k2")
    ring = privacy.keyring()
    assert ring.current_id == "k2" and sorted(ring.masters) == ["k1", "k2"]
    plate = "29A12345"
    pairs = [("vehicle_position", "plate"), ("vehicle_position", "driver_id"), ("other_dataset", "plate")]
    got = {pair: privacy.hmac_hex(plate, ring.key("k1", *pair)) for pair in pairs}
    for pair, value in got.items():
        assert value == _independent_pseudonym(KEY, *pair, plate), pair
    assert len(set(got.values())) == 3  # same value: another dataset or kind, another pseudonym
    # and another key id, another pseudonym
    assert privacy.hmac_hex(plate, ring.current("vehicle_position", "plate")) != got[("vehicle_position", "plate")]
    assert set(ring.all_keys("vehicle_position", "plate")) == {"k1", "k2"}


def test_legacy_single_key_keeps_the_pseudonyms_an_existing_lake_holds(keys_env: pytest.MonkeyPatch) -> None:
    """A secrets file from before keyrings (LAKEHOUSE_PSEUDONYM_KEY only): id `legacy`, HMAC under the key itself."""
    keys_env.setenv(privacy.PSEUDONYM_KEY_ENV, KEY.decode())
    ring = privacy.keyring()
    assert ring.current_id == privacy.LEGACY_KEY_ID
    assert privacy.hmac_hex(PHONE_E164, ring.current("wastewater_facility", "contact_phone")) == OPENSSL_HMAC
    keys_env.setenv(privacy.PSEUDONYM_KEYS_ENV, f"k2:{'z' * 40}")  # a new key added beside it: say which is current
    with pytest.raises(MissingSettingError, match=privacy.PSEUDONYM_KEY_ID_ENV):
        privacy.keyring()
    keys_env.setenv(privacy.PSEUDONYM_KEY_ID_ENV, "k2")
    ring = privacy.keyring()
    assert sorted(ring.masters) == ["k2", "legacy"] and ring.current_id == "k2"
    assert privacy.hmac_hex(PHONE_E164, ring.key("legacy", "wastewater_facility", "contact_phone")) == OPENSSL_HMAC


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "make setup"),
        ({privacy.PSEUDONYM_KEY_ENV: "short"}, "at least 32"),
        ({privacy.PSEUDONYM_KEYS_ENV: "k1:short", privacy.PSEUDONYM_KEY_ID_ENV: "k1"}, "at least 32"),
        ({privacy.PSEUDONYM_KEYS_ENV: "k1" + "x" * 40, privacy.PSEUDONYM_KEY_ID_ENV: "k1"}, "id:secret"),
        ({privacy.PSEUDONYM_KEYS_ENV: "K 1:" + "x" * 40, privacy.PSEUDONYM_KEY_ID_ENV: "K 1"}, "id:secret"),
        ({privacy.PSEUDONYM_KEYS_ENV: "legacy:" + "x" * 40, privacy.PSEUDONYM_KEY_ID_ENV: "legacy"}, "id:secret"),
        ({privacy.PSEUDONYM_KEYS_ENV: f"k1:{'x' * 40},k1:{'y' * 40}", privacy.PSEUDONYM_KEY_ID_ENV: "k1"}, "twice"),
        ({privacy.PSEUDONYM_KEYS_ENV: "k1:" + "x" * 40}, privacy.PSEUDONYM_KEY_ID_ENV),
        ({privacy.PSEUDONYM_KEYS_ENV: "k1:" + "x" * 40, privacy.PSEUDONYM_KEY_ID_ENV: "k9"}, "not in the keyring"),
    ],
)
def test_keyring_comes_from_the_environment_with_a_clear_error(
    keys_env: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        keys_env.setenv(name, value)
    with pytest.raises(MissingSettingError, match=message) as err:
        privacy.keyring()
    assert "x" * 32 not in str(err.value)  # a secret is never echoed


def test_key_id_fields_come_from_the_registry_beside_each_pseudonym() -> None:
    for ds in REGISTRY:
        pseudonyms = [f.name for f in ds.pseudonym_fields]
        key_ids = [f.name for f in ds.key_id_fields]
        assert key_ids == [f"{p}_key_id" for p in pseudonyms], ds.name
        for p in pseudonyms:  # right after its pseudonym, in every schema the registry derives
            names = ds.column_names
            assert names[names.index(p) + 1] == f"{p}_key_id"
            assert f"`{p}_key_id` STRING" in tables.silver_ddl(ds)
        if ds.personal is not None:
            assert [n for n, _ in tables.restricted_columns(ds) if n.endswith("_key_id")] == key_ids
        if ds.layer == Layer.GOLD:
            assert not pseudonyms and not key_ids
    assert REGISTRY["vehicle_position"].column_names[:4] == [
        "vehicle_id",
        "vehicle_id_key_id",
        "driver_key",
        "driver_key_key_id",
    ]
    again = replace(REGISTRY["wastewater_facility"], name="copy")  # no second key id column
    assert [f.name for f in again.key_id_fields] == ["contact_id_key_id"]


def test_a_hand_declared_key_id_column_is_refused() -> None:
    ds = REGISTRY["wastewater_facility"]
    own = Field("contact_id_key_id", "STRING", "x", "x")
    with pytest.raises(ValueError, match="added by the registry"):
        Registry().add(replace(ds, name="hand", fields=(*(f for f in ds.fields if f.key_id_of is None), own)))


@pytest.mark.parametrize("form", FORMS)
def test_phone_pattern_finds_every_form_inside_a_line(form: str) -> None:
    pattern = re.compile(privacy.phone_pattern(PHONE_E164))
    line = f"WW-75-0001,Công ty TNHH,KCN Amata,75,B,0.9,1.0,Đỗ Quốc Sơn,{form}"
    assert pattern.search(line)
    assert pattern.sub("", line) == "WW-75-0001,Công ty TNHH,KCN Amata,75,B,0.9,1.0,Đỗ Quốc Sơn,"


@pytest.mark.parametrize("other", ["0912345679", "10912345678", "09123456781", "+84 912 345 67"])
def test_phone_pattern_leaves_other_numbers_alone(other: str) -> None:
    assert not re.search(privacy.phone_pattern(PHONE_E164), f"x,{other},y")


def test_combined_pattern_matches_the_name_in_nfc_and_nfd() -> None:
    import unicodedata

    pattern = privacy.combined_pattern([(PersonalKind.NAME, "Đỗ Quốc Sơn"), (PersonalKind.PHONE, PHONE_E164)])
    assert pattern is not None
    line = f"a,{unicodedata.normalize('NFD', 'Đỗ Quốc Sơn')},0912.345.678,b"
    assert re.sub(pattern, "", line) == "a,,,b"
    assert re.sub(pattern, "", "a,Đỗ Quốc Sơn,+84912345678,b") == "a,,,b"
    assert re.sub(pattern, "", "a,Đỗ Quốc Sang,0987654321,b") == "a,Đỗ Quốc Sang,0987654321,b"
    assert privacy.combined_pattern([]) is None


def test_spark_and_python_agree_on_the_pattern(spark: SparkSession) -> None:
    """Landing is redacted in Python, Delta tables in Spark (Java regex): same pattern, same result."""
    from pyspark.sql import functions as F

    pattern = privacy.combined_pattern([(PersonalKind.NAME, "Đỗ Quốc Sơn"), (PersonalKind.PHONE, PHONE_E164)])
    assert pattern is not None
    lines = [f"a,Đỗ Quốc Sơn,{form},b" for form in FORMS] + ["a,Lê Văn An,0912345679,b"]
    df = spark.createDataFrame([(x,) for x in lines], "line STRING")
    got = [r[0] for r in df.select(F.regexp_replace("line", pattern, "")).collect()]
    assert got == [re.sub(pattern, "", x) for x in lines]
    assert got == ["a,,,b"] * len(FORMS) + ["a,Lê Văn An,0912345679,b"]


# Every way the transport devices write a plate (sample_sources/transport/generate.py: display,
# compact, lower_space) and the other real layouts (docs/domain.md: 1–2 series letters, 4–5 digits).
PLATE_FORMS = {
    "29A12345": ["29A-123.45", "29A12345", "29a 123.45", "29A 123 45", "29-A1-23.45"],
    "30LD12345": ["30LD-123.45", "30ld 123.45", "30LD12345"],
    "51F1234": ["51F-1234", "51f 1234", "51F1234"],
}


@pytest.mark.parametrize(("canonical", "form"), [(c, f) for c, forms in PLATE_FORMS.items() for f in forms])
def test_identifier_pattern_finds_every_written_plate(canonical: str, form: str) -> None:
    assert privacy.normalize_identifier(form) == canonical
    pattern = privacy.combined_pattern([(PersonalKind.IDENTIFIER, canonical)])
    assert pattern is not None
    line = f'{{"plate":"{form}","driver_id":"446725409279"}}'
    assert re.sub(pattern, "", line) == '{"plate":"","driver_id":"446725409279"}'


@pytest.mark.parametrize("other", ["29A-123.46", "129A-123.45", "29A-123.456", "29B-123.45", "x29A12345"])
def test_identifier_pattern_leaves_other_plates_alone(other: str) -> None:
    assert not re.search(privacy.identifier_pattern("29A12345"), f'{{"plate":"{other}"}}')


def test_spark_and_python_agree_on_the_plate_pattern(spark: SparkSession) -> None:
    from pyspark.sql import functions as F

    pattern = privacy.combined_pattern([(PersonalKind.IDENTIFIER, "29A12345")])
    assert pattern is not None
    lines = [f'{{"plate":"{form}"}}' for form in PLATE_FORMS["29A12345"]] + ['{"plate":"29A-123.46"}']
    df = spark.createDataFrame([(x,) for x in lines], "line STRING")
    got = [r[0] for r in df.select(F.regexp_replace("line", pattern, "")).collect()]
    assert got == [re.sub(pattern, "", x) for x in lines]
    assert got == ['{"plate":""}'] * len(PLATE_FORMS["29A12345"]) + ['{"plate":"29A-123.46"}']


def test_pseudonym_columns_in_spark_equal_the_python_hmac(spark: SparkSession) -> None:
    ds = REGISTRY["wastewater_facility"]
    bronze = spark.createDataFrame(
        [(2, "Đỗ Quốc Sơn", "0912 345 678"), (3, "Lê Văn An", "not a phone"), (4, None, None)],
        "_source_line LONG, contact_name STRING, contact_phone STRING",
    )
    ring = privacy.Keyring({"k1": KEY}, "k1")
    rows = {r["_source_line"]: r for r in privacy.personal_columns(bronze, ds, ring).collect()}
    assert rows[2]["contact_id"] == OPENSSL_DERIVED_HMAC and rows[2]["contact_id_key_id"] == "k1"
    assert rows[3]["contact_id_key_id"] is None  # no pseudonym, no key id
    assert rows[2]["_personal_contact_phone"] == PHONE_E164
    assert rows[2]["_personal_contact_name"] == "Đỗ Quốc Sơn"
    assert rows[3]["contact_id"] is None and rows[3]["_personal_contact_name"] == "Lê Văn An"
    assert rows[4]["contact_id"] is None and rows[4]["_personal_contact_name"] is None
    assert set(rows[2].asDict()) == {
        "_source_line",
        "contact_id",
        "contact_id_key_id",
        "_personal_contact_name",
        "_personal_contact_phone",
    }
    legacy = privacy.personal_columns(bronze, ds, privacy.Keyring({"legacy": KEY}, "legacy")).collect()
    assert {r["contact_id"] for r in legacy if r["_source_line"] == 2} == {OPENSSL_HMAC}


# ----------------------------------------------------------------------------------- registry rules


def test_the_facility_list_declares_its_personal_columns() -> None:
    ds = REGISTRY["wastewater_facility"]
    assert ds.personal is not None and ds.source is not None
    assert dict(ds.personal.columns) == {"contact_name": PersonalKind.NAME, "contact_phone": PersonalKind.PHONE}
    assert {"contact_name", "contact_phone"} <= set(ds.source.columns)
    assert [(f.name, f.pseudonym_of, f.classification) for f in ds.pseudonym_fields] == [
        ("contact_id", "contact_phone", Classification.PERSONAL)
    ]
    assert "contact_name" not in ds.column_names and "contact_phone" not in ds.column_names
    assert ds.restricted_table_path == "restricted/environment/wastewater_facility_contact"
    assert tables.restricted_columns(ds)[:4] == [
        ("facility_id", "STRING"),
        ("contact_id", "STRING"),
        ("contact_id_key_id", "STRING"),
        ("contact_name", "STRING"),
    ]


def test_no_gold_dataset_carries_personal_fields() -> None:
    for ds in REGISTRY.by_sector("environment", Layer.GOLD):
        assert all(f.classification != Classification.PERSONAL for f in ds.fields), ds.name


def test_registry_refuses_personal_fields_in_gold() -> None:
    gold = REGISTRY["aqi_daily"]
    leaked = replace(
        gold, fields=(*gold.fields, Field("officer", "STRING", "x", "x", classification=Classification.PERSONAL))
    )
    with pytest.raises(ValueError, match="gold tables never carry personal data"):
        Registry().add(leaked)


def test_registry_refuses_personal_values_in_a_quarantine_record() -> None:
    """A quarantined row's ``record`` is typed text that erasure does not redact."""
    ds = REGISTRY["wastewater_facility"]
    with pytest.raises(ValueError, match="quarantine_record may not keep personal data"):
        Registry().add(replace(ds, name="leaky", quarantine_record=("facility_id", "contact_id")))
    with pytest.raises(ValueError, match=r"quarantine_record names \['nope'\]"):
        Registry().add(replace(REGISTRY["air_quality_reading"], name="typo", quarantine_record=("nope",)))


def test_registry_refuses_inconsistent_personal_declarations() -> None:
    ds = REGISTRY["wastewater_facility"]
    base = [f for f in ds.fields if f.name != "contact_id" and f.key_id_of is None]
    cases = {
        "is not a personal column declared": replace(
            ds, fields=(*base, replace(ds.pseudonym_fields[0], pseudonym_of="contact_email"))
        ),
        "a pseudonym is PERSONAL": replace(
            ds, fields=(*base, replace(ds.pseudonym_fields[0], classification=Classification.PUBLIC))
        ),
        "raw personal source columns": replace(ds, fields=(*ds.fields, Field("contact_phone", "STRING", "x", "x"))),
        "must be columns of its source": replace(
            ds, personal=PersonalData("t", {"contact_name": PersonalKind.NAME, "email": PersonalKind.IDENTIFIER})
        ),
        "no pseudonym field": replace(ds, fields=tuple(base)),
    }
    for message, bad in cases.items():
        with pytest.raises(ValueError, match=message):
            Registry().add(bad)
    Registry().add(ds)  # the real entry passes


# ----------------------------------------------------------------------- erasure and open-data helpers


def test_erasure_subject_selectors() -> None:
    from jobs.erasure import Subject, _targets, subjects_for_kind

    assert Subject.parse("contact_phone = 0912 345 678") == Subject("contact_phone", "0912 345 678")
    with pytest.raises(UserFacingError, match="COLUMN=VALUE"):
        Subject.parse("0912345678")
    assert subjects_for_kind(PersonalKind.PHONE, "0912345678") == [Subject("contact_phone", "0912345678")]
    with pytest.raises(UserFacingError, match="contact_name, contact_phone"):
        _targets(Subject("facility_name", "x"))


def test_open_data_is_only_public_gold_and_daily() -> None:
    from jobs import opendata

    public = {d.name for d in opendata.public_gold()}
    environment = {n for n in public if REGISTRY[n].sector == "environment"}
    assert environment == {"aqi_hourly", "aqi_daily", "aqi_province_daily", "exceedance"}
    assert "crop_production" in public and "vehicle_activity_hourly" in public  # aggregates: no person in them
    with pytest.raises(UserFacingError, match="not a PUBLIC gold dataset"):
        opendata.public_gold(["wastewater_facility"])
    assert opendata.accrual_periodicity(REGISTRY["aqi_daily"]).endswith("/frequency/DAILY")
    weekly = replace(REGISTRY["wastewater_reading"], freshness_sla=timedelta(days=3), inputs=())
    assert opendata.accrual_periodicity(weekly).endswith("/WEEKLY")
