"""Access by ministry: who reads what, the IAM policy derived from it, and the denial messages.

Expected grants are written out by hand from the registry entries (jobs/environment/datasets.py):
wastewater_reading is INTERNAL to mae and granted to moh; wastewater_facility is PERSONAL: it carries a
PERSONAL field (contact_id), so only mae reads it and nobody its quarantine (raw lines with names and
phones); every other environment table is PUBLIC.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pytest

from jobs import access
from jobs.access import can_read, can_read_quarantine, explain_denied, ministry_for_code, policy_for, settings_for
from jobs.errors import UserFacingError
from jobs.registry import REGISTRY, Classification, Dataset, Field, Layer, Ministry, Registry

REPO = Path(__file__).resolve().parents[2]
M = Ministry
ALL = {"mae", "moc", "mps", "mof", "moh"}
TABLE_READERS = {
    "air_station": ALL,
    "wastewater_facility": {"mae"},
    "air_quality_reading": ALL,
    "wastewater_reading": {"mae", "moh"},
    "aqi_hourly": ALL,
    "aqi_daily": ALL,
    "aqi_province_daily": ALL,
    "exceedance": ALL,
    "alert": {"mae", "moh"},
}
PUBLIC_KEYS = [
    "gold/environment/aqi_daily",
    "gold/environment/aqi_hourly",
    "gold/environment/aqi_province_daily",
    "gold/environment/exceedance",
    "silver/environment/air_quality_reading",
    "silver/environment/air_station",
]
QUARANTINE_KEYS = [
    "quarantine/environment/air_quality_reading",
    "quarantine/environment/air_station",
    "quarantine/environment/wastewater_reading",
]
EXPECTED_PREFIXES = {
    "mae": sorted(
        [
            *PUBLIC_KEYS,
            *QUARANTINE_KEYS,
            "gold/environment/alert",
            "silver/environment/wastewater_facility",
            "silver/environment/wastewater_reading",
            "quality",
        ]
    ),
    "moh": sorted([*PUBLIC_KEYS, "gold/environment/alert", "silver/environment/wastewater_reading", "quality"]),
    "moc": sorted([*PUBLIC_KEYS, "quality"]),
    "mps": sorted([*PUBLIC_KEYS, "quality"]),
    "mof": sorted([*PUBLIC_KEYS, "quality"]),
}


def _environment(prefixes: list[str]) -> list[str]:
    """Only this sector's tables (other sectors' entries get their own expectations)."""
    return [p for p in prefixes if p == "quality" or p.split("/")[1] == "environment"]


def _dataset(**changes: object) -> Dataset:
    """A variant of the wastewater readings entry (a real INTERNAL silver dataset)."""
    return dataclasses.replace(REGISTRY["wastewater_reading"], **changes)  # type: ignore[arg-type]


def test_ministry_codes_are_short_ascii_and_unique() -> None:
    assert {m.code for m in Ministry} == ALL
    assert M.FINANCE.code == "mof" and M.FINANCE.value == "Bộ Tài chính"
    assert M.HEALTH.code == "moh" and M.CONSTRUCTION.code == "moc" and M.PUBLIC_SECURITY.code == "mps"
    assert ministry_for_code("MOC") is M.CONSTRUCTION
    assert ministry_for_code(None) is None


def test_unknown_ministry_code_lists_the_known_ones() -> None:
    with pytest.raises(UserFacingError) as err:
        ministry_for_code("mxd")
    assert "'mxd'" in str(err.value)
    for m in Ministry:
        assert f"{m.code} = {m.value}" in str(err.value)


@pytest.mark.parametrize("ministry", list(Ministry), ids=lambda m: m.code)
def test_can_read_matrix(ministry: Ministry) -> None:
    for name, readers in TABLE_READERS.items():
        assert can_read(REGISTRY[name], ministry) is (ministry.code in readers), name
        ds = REGISTRY[name]
        if ds.layer == Layer.SILVER:  # only the owner reads rejected rows, if they hold no personal data
            expected = ministry.code == "mae" and name != "wastewater_facility"
            assert can_read_quarantine(ds, ministry) is expected, name


def test_personal_sensitive_and_raw_layers_are_never_read_by_others() -> None:
    personal = _dataset(classification=Classification.PERSONAL, grants=())
    sensitive = _dataset(classification=Classification.SENSITIVE, grants=())
    assert can_read(personal, M.AGRICULTURE_ENVIRONMENT) and not can_read(personal, M.HEALTH)
    assert can_read(sensitive, M.AGRICULTURE_ENVIRONMENT) and not can_read(sensitive, M.PUBLIC_SECURITY)
    # A public table with a personal column is not handed to others either.
    with_id = _dataset(
        classification=Classification.PUBLIC,
        grants=(),
        fields=(
            *REGISTRY["wastewater_reading"].fields,
            Field("cccd", "STRING", "Số CCCD", "Citizen id", classification=Classification.PERSONAL),
        ),
    )
    assert not can_read(with_id, M.FINANCE)
    # The owner's quarantine holds raw lines: unreadable when the dataset has personal fields.
    assert not can_read_quarantine(with_id, M.AGRICULTURE_ENVIRONMENT)
    assert not can_read_quarantine(REGISTRY["aqi_daily"], M.AGRICULTURE_ENVIRONMENT)  # gold has none
    for layer in (Layer.LANDING, Layer.BRONZE):
        raw = _dataset(layer=layer, classification=Classification.PUBLIC, grants=())
        assert not any(can_read(raw, m) for m in Ministry), layer
    quality = _dataset(layer=Layer.QUALITY, classification=Classification.INTERNAL, grants=())
    assert all(can_read(quality, m) for m in Ministry)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"classification": Classification.PUBLIC, "grants": (M.HEALTH,)}, "is PUBLIC"),
        ({"classification": Classification.PERSONAL, "grants": (M.HEALTH,)}, "PERSONAL data, which may not be granted"),
        ({"classification": Classification.SENSITIVE, "grants": (M.HEALTH,)}, "SENSITIVE data"),
        (
            {
                "fields": (
                    *REGISTRY["wastewater_reading"].fields,
                    Field(
                        "owner_name", "STRING", "Tên chủ cơ sở", "Owner name", classification=Classification.PERSONAL
                    ),
                ),
            },
            "fields ['owner_name']",
        ),
        ({"grants": (M.AGRICULTURE_ENVIRONMENT,)}, "the owner mae reads its own data"),
        ({"grants": (M.HEALTH, M.HEALTH)}, "granted twice"),
    ],
)
def test_registry_refuses_pointless_or_forbidden_grants(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Registry().add(_dataset(**changes))


def test_registry_accepts_internal_grant() -> None:
    assert REGISTRY["wastewater_reading"].grants == (M.HEALTH,)
    Registry().add(_dataset(grants=(M.HEALTH, M.FINANCE)))


@pytest.mark.parametrize("ministry", list(Ministry), ids=lambda m: m.code)
def test_policy_resources_follow_the_registry(ministry: Ministry) -> None:
    policy = policy_for(ministry, "lake", "lake-open")
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    expected = EXPECTED_PREFIXES[ministry.code]
    got = by_sid["ReadGrantedTables"]
    assert got["Action"] == ["s3:GetObject"]
    assert _environment([r.removeprefix("arn:aws:s3:::lake/").removesuffix("/*") for r in got["Resource"]]) == expected
    listing = by_sid["ListInsideGrantedTables"]
    assert listing["Action"] == ["s3:ListBucket"] and listing["Resource"] == ["arn:aws:s3:::lake"]
    assert _environment([p.removesuffix("/*") for p in listing["Condition"]["StringLike"]["s3:prefix"]]) == expected
    assert by_sid["LocateBuckets"]["Resource"] == ["arn:aws:s3:::lake", "arn:aws:s3:::lake-open"]
    assert by_sid["ReadOpenData"]["Resource"] == ["arn:aws:s3:::lake-open", "arn:aws:s3:::lake-open/*"]
    # Nothing else: no write, no raw or personal prefix, no bucket-wide listing.
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert actions == {"s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"}
    resources = " ".join(r for s in policy["Statement"] for r in s["Resource"])
    for never in ("landing", "bronze", "restricted", "audit"):
        assert f"lake/{never}" not in resources
    assert "arn:aws:s3:::lake/*" not in resources.split()


def test_every_catalog_table_is_in_exactly_the_policies_of_its_readers() -> None:
    for table in access.catalog():
        for ministry in Ministry:
            resources = policy_for(ministry, "b", "o")["Statement"][0]["Resource"]
            assert (f"arn:aws:s3:::b/{table.key}/*" in resources) is (ministry in access.readers_of(table)), (
                table.name,
                ministry.code,
            )


def test_explain_denied_names_the_owner_and_the_missing_grant() -> None:
    assert explain_denied("silver.environment_wastewater_reading", M.CONSTRUCTION) == (
        "Bộ Xây dựng (moc) may not read silver.environment_wastewater_reading: it is INTERNAL to Bộ Nông nghiệp "
        "và Môi trường and not granted to moc (granted to: moh). Ask the owner to add Ministry.CONSTRUCTION to its "
        "grants in jobs/environment/datasets.py"
    )
    # The dataset name and the key name the same table.
    assert explain_denied("wastewater_reading", M.FINANCE) == explain_denied(
        "silver/environment/wastewater_reading/_delta_log/00000000000000000000.json", M.FINANCE
    )
    assert "Ministry.FINANCE" in explain_denied("wastewater_reading", M.FINANCE)


def test_explain_denied_other_cases() -> None:
    quarantine = explain_denied("quarantine.environment_wastewater_reading", M.HEALTH)
    assert "readable only by the owner, Bộ Nông nghiệp và Môi trường (mae)" in quarantine
    bronze = explain_denied("bronze/environment/wastewater_reading/part-0.parquet", M.AGRICULTURE_ENVIRONMENT)
    assert "bronze/ holds parsed source rows" in bronze and "Read silver.environment_wastewater_reading" in bronze
    facility = explain_denied("silver.environment_wastewater_facility", M.CONSTRUCTION)
    assert "personal or sensitive fields ['contact_id'] of Bộ Nông nghiệp và Môi trường (mae)" in facility
    assert "raw rejected lines" in explain_denied(
        "quarantine.environment_wastewater_facility", M.AGRICULTURE_ENVIRONMENT
    )
    assert "no ministry reads it" in explain_denied("restricted/environment/x", M.PUBLIC_SECURITY)
    assert "no ministry reads it" in explain_denied("audit/2026", M.PUBLIC_SECURITY)
    # Readable by the registry: the store's policy must be stale, and the message says how to fix it.
    assert "run `make store`" in explain_denied("gold.environment_aqi_daily", M.CONSTRUCTION).lower()
    assert "run `make store`" in explain_denied("quality.scores", M.FINANCE).lower()
    assert "ministry that may read it: mae, moh" in explain_denied("silver.environment_wastewater_reading", None)
    assert explain_denied("gold.nope", M.HEALTH).startswith("unknown table 'gold.nope'. Known tables: ")


def test_settings_for_uses_the_ministry_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    from jobs.settings import get_settings

    monkeypatch.setenv("LAKEHOUSE_MINISTRY_MOH_ACCESS_KEY", "ministry-moh")
    monkeypatch.setenv("LAKEHOUSE_MINISTRY_MOH_SECRET_KEY", "s3cret")
    moh = settings_for("moh")
    assert (moh.s3_access_key, moh.s3_secret_key) == ("ministry-moh", "s3cret")
    assert moh.bucket == get_settings().bucket and moh.s3_endpoint == get_settings().s3_endpoint
    assert settings_for(None) is get_settings()
    monkeypatch.delenv("LAKEHOUSE_MINISTRY_MPS_SECRET_KEY", raising=False)
    with pytest.raises(UserFacingError, match=r"LAKEHOUSE_MINISTRY_MPS_SECRET_KEY are not set.*Run `make store`"):
        settings_for("mps")


def test_gen_secrets_generates_every_ministry_identity() -> None:
    spec = importlib.util.spec_from_file_location("gen_secrets", REPO / "infra" / "gen_secrets.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for ministry in Ministry:
        access_name, secret_name = access.credential_env(ministry)
        user = module.GENERATED[access_name]()
        assert user == f"ministry-{ministry.code}"
        assert 3 <= len(user) + len("-abc123") <= 20  # MinIO user names; tests add a 7-char suffix
        assert len(module.GENERATED[secret_name]()) >= 30
