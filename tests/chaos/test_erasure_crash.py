"""Scenario 8: erase a phone and a plate in every written form, killing ``lakehouse erase`` after
each step in turn; the rerun completes and no object of the bucket holds a trace.

Sources: the committed fixture, with the wastewater officer's phone written four ways (E.164,
``0…``, spaced, dotted; three extra facilities run by the same officer, one by someone else) and the
vehicle pings (the plate the devices send as ``29M-286.03``, ``29M28603`` and ``29m 286.03``; one
extra (0,0) ping of that vehicle so quarantine holds the plate too). At full scale the pings come
from the generator (``--rows 3000``). The environment facility and transport position pipelines
run on the real store, Spark and Delta.

Then ``python -m jobs.cli erase`` runs as a subprocess with ``LAKEHOUSE_CRASH_AT=erase.after_<step>``
(SIGKILL after that step), then once without the fault; one request names both subjects. At
full scale it is killed after each step in turn, at small scale once, after the link is deleted. After
each crash the intent is open and, until the ``restricted`` step, the link to the person is still
there. At the end every object of the bucket (landing files, Delta data files, ``_delta_log`` JSON
with its statistics, checkpoints, quality files) is read, Parquet decoded with pyarrow, and
searched for every raw form and, outside ``audit/``, the pseudonyms; the same scan before the
erasure must find them in landing, bronze, quarantine, silver and restricted, so it can fail.

Independence: the subject's forms come from the source files, pseudonyms from the standard
library's ``hmac``; rows are compared as JSON before and after (every other row unchanged).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import re
import subprocess
import sys
import time
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.scenario import REPO, ScenarioRow, scale
from tests.lakehouse_fixtures import FIXTURE_DAY, copy_fixture_sources, lake_bucket

pytestmark = [pytest.mark.integration, pytest.mark.timeout(3600)]

TEST_KEY = "chaos-erasure-pseudonym-key-0123456789abcdef"  # pragma: allowlist secret (a test key)
STEPS = ("intent", "landing", "bronze", "quarantine", "silver", "vacuum", "restricted", "audit")
# Both subjects (the phone and the plate) in one request. Full: killed after every step in turn
# (one bucket: each run resumes the last). Small: killed after the link is gone (the last step
# before the audit: the hardest to resume). Then rerun.
CRASHES = STEPS if scale() == "full" else ("restricted",)
FACILITIES = Path("environment/reference/wastewater_facilities.csv")
PINGS = Path(f"transport/vehicle_positions/positions_{FIXTURE_DAY:%Y%m%d}.jsonl")
DATASETS = ("wastewater_facility", "vehicle_position")


def _pseudonym(dataset: str, column: str, value: str) -> str:
    """The documented scheme (README, Personal data): HMAC-SHA256 under the key derived for the
    dataset's personal column from the keyring's master key."""
    derived = hmac.new(TEST_KEY.encode(), f"lakehouse-pseudonym/v1/{dataset}/{column}".encode(), hashlib.sha256)
    return hmac.new(derived.digest(), value.encode(), hashlib.sha256).hexdigest()


def _compact(text: str) -> str:
    return re.sub(r"[\s.\-]", "", text).upper()


def _prepare_sources(root: Path) -> dict[str, Any]:
    """Copy the fixture, write the subjects in every form the sources use; return what to look for."""
    sources = copy_fixture_sources(root / "sources")
    if scale() == "full":
        gen = root / "generated"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "sample_sources.transport.generate",
                "--out",
                str(gen),
                "--rows",
                "3000",
                "--no-progress",
            ],
            check=True,
            cwd=REPO,
            capture_output=True,
        )
        for suffix in ("", ".manifest.json"):
            (sources / f"{PINGS}{suffix}").write_bytes((gen / f"{PINGS}{suffix}").read_bytes())

    path = sources / FACILITIES
    with path.open(encoding="utf-8", newline="") as fh:
        facilities = list(csv.DictReader(fh))
    officer = facilities[0]
    digits = re.sub(r"\D", "", officer["contact_phone"])
    national = digits[2:] if digits.startswith("84") else digits.lstrip("0")
    phone_forms = [
        f"+84{national}",
        f"0{national}",
        f"0{national[:3]} {national[3:6]} {national[6:]}",
        f"0{national[:3]}.{national[3:6]}.{national[6:]}",
    ]
    rows = [dict(officer, contact_phone=phone_forms[0])]
    for i, form in enumerate(phone_forms[1:], start=2):
        rows.append(dict(officer, facility_id=f"WW-75-{i:04d}", facility_name=f"Cơ sở {i}", contact_phone=form))
    rows.append(dict(officer, facility_id="WW-75-0009", contact_name="Trần Thị Lan", contact_phone="0912 345 678"))
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(officer))
        writer.writeheader()
        writer.writerows(rows)
    (sources / f"{FACILITIES}.manifest.json").write_text(json.dumps({"rows": len(rows)}), encoding="utf-8")

    pings = sources / PINGS
    lines = pings.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    plate = _compact(first["plate"])
    zero = dict(first, lat=0.0, lon=0.0, recorded_at=f"{FIXTURE_DAY:%Y-%m-%d}T13:07:30+07:00")
    lines.append(json.dumps(zero, separators=(",", ":")))
    pings.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (sources / f"{PINGS}.manifest.json").write_text(json.dumps({"rows": len(lines)}), encoding="utf-8")
    plate_forms = sorted({json.loads(x)["plate"] for x in lines if _compact(json.loads(x)["plate"]) == plate})
    drivers = {json.loads(x)["driver_id"] for x in lines if _compact(json.loads(x)["plate"]) == plate}
    assert len(drivers) == 1
    (driver,) = drivers
    return {
        "sources": sources,
        "name": unicodedata.normalize("NFC", officer["contact_name"]),
        "national": national,
        "phone_forms": phone_forms,
        "plate": plate,
        "plate_forms": plate_forms,
        "driver": driver,
        "pseudonyms": {
            _pseudonym("wastewater_facility", "contact_phone", f"+84{national}"),
            _pseudonym("vehicle_position", "plate", plate),
            _pseudonym("vehicle_position", "driver_id", driver),
        },
        "records_in": len(rows) + len(lines),
        "exact_duplicates": len(lines) - len(set(lines)),
    }


class Traces:
    """Finds the subjects' raw forms (and pseudonyms) in text, independently of jobs.privacy."""

    def __init__(self, subjects: dict[str, Any]) -> None:
        self.s = subjects

    def __call__(self, text: str, pseudonyms: bool = True) -> set[str]:
        found = set()
        if self.s["name"] in unicodedata.normalize("NFC", text):
            found.add("name")
        if self.s["national"] in re.sub(r"[\s.\-()+]", "", text):
            found.add("phone")
        compact = _compact(text)
        if self.s["plate"] in compact:
            found.add("plate")
        if self.s["driver"] in compact:
            found.add("driver")
        if pseudonyms and any(p in text for p in self.s["pseudonyms"]):
            found.add("pseudonym")
        return found


def _objects(bucket: str) -> dict[str, bytes]:
    from jobs.storage import s3_client

    client = s3_client()
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            out[o["Key"]] = client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
    return out


def _object_text(key: str, body: bytes) -> str:
    """The raw bytes as text, plus, for Parquet (data files, checkpoints), every decoded value."""
    text = body.decode("utf-8", errors="replace")
    if key.endswith(".parquet"):
        import pyarrow.parquet as pq

        text += repr(pq.read_table(io.BytesIO(body)).to_pylist())
    return text


def scan(bucket: str, traces: Traces) -> tuple[int, dict[str, set[str]], dict[str, set[str]]]:
    """(objects read, {key: raw forms or pseudonyms found}, {Delta log key: pseudonyms only}).

    Raw forms count everywhere. Pseudonyms count outside ``audit/`` (the audit keeps them by
    design) and outside ``_delta_log/``: the min/max statistics of a pseudonym column stay in the
    log's older commits until Delta's log retention (30 days) cleans them; those are returned apart.
    """
    objects = _objects(bucket)
    hits, log_pseudonyms = {}, {}
    for key, body in objects.items():
        text = _object_text(key, body)
        found = traces(text, pseudonyms=not key.startswith("audit/") and "/_delta_log/" not in key)
        if found:
            hits[key] = found
        elif "/_delta_log/" in key and not key.startswith("audit/") and traces(text):
            log_pseudonyms[key] = traces(text)
    return len(objects), hits, log_pseudonyms


def tables(bucket: str) -> dict[str, list[str]]:
    """Every Delta table of the bucket (found by listing) → its rows as canonical JSON."""
    from deltalake import DeltaTable

    from jobs.settings import get_settings
    from jobs.storage import s3_client

    settings = get_settings()
    keys = []
    for page in s3_client().get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [o["Key"] for o in page.get("Contents", [])]
    out = {}
    for table in sorted({k.split("/_delta_log/")[0] for k in keys if "/_delta_log/" in k}):
        rows = DeltaTable(settings.s3_uri(table), storage_options=settings.delta_rs_storage_options())
        out[table] = [json.dumps(r, sort_keys=True, default=str) for r in rows.to_pyarrow_table().to_pylist()]
    return out


def erase(args: list[str], fault: str | None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("LAKEHOUSE_CRASH_AT", None)
    if fault:
        env["LAKEHOUSE_CRASH_AT"] = f"erase.after_{fault}"
    cmd = [sys.executable, "-m", "jobs.cli", "erase", *args, "--retention", "0", "--requested-by", "chaos"]
    return subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=900)


def _open_intents() -> list[str]:
    from deltalake import DeltaTable

    from jobs.settings import get_settings

    settings = get_settings()
    rows = DeltaTable(settings.s3_uri("audit/erasure_intent"), storage_options=settings.delta_rs_storage_options())
    intents = rows.to_pyarrow_table().to_pylist()
    done = {r["erasure_id"] for r in intents if r["status"] == "completed"}
    return sorted({r["erasure_id"] for r in intents if r["status"] == "started"} - done)


def test_erasure_crash(chaos_row: ScenarioRow, tmp_path: Path) -> None:
    from jobs.interval import DataInterval
    from jobs.pipeline import run_dataset

    keyring = ("LAKEHOUSE_PSEUDONYM_KEYS", "LAKEHOUSE_PSEUDONYM_KEY_ID")
    saved = {k: os.environ.get(k) for k in ("LAKEHOUSE_PSEUDONYM_KEY", "LAKEHOUSE_EXTRACT_FROM", *keyring)}
    os.environ.pop("LAKEHOUSE_PSEUDONYM_KEY", None)  # a keyring, as `make setup` writes it
    os.environ.update(
        LAKEHOUSE_PSEUDONYM_KEYS=f"c1:{TEST_KEY}", LAKEHOUSE_PSEUDONYM_KEY_ID="c1", LAKEHOUSE_EXTRACT_FROM="local"
    )
    subjects = _prepare_sources(tmp_path)
    traces = Traces(subjects)
    try:
        with lake_bucket("erasure", subjects["sources"], tmp_path / "gx") as bucket:
            start, end = DataInterval.for_local_day(FIXTURE_DAY).as_strings()
            started = time.monotonic()
            for name in DATASETS:
                run_dataset(name, start, end, run_id="chaos-erasure")
            print(f"pipelines: {time.monotonic() - started:.0f} s")
            _check(bucket, subjects, traces, chaos_row)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _check(bucket: str, subjects: dict[str, Any], traces: Traces, chaos_row: ScenarioRow) -> None:
    # Control: the same scan before the erasure finds the subjects in every layer that holds them.
    n_before, hits_before, _ = scan(bucket, traces)
    layers = {key.split("/")[0] for key in hits_before}
    assert {"landing", "bronze", "quarantine", "silver", "restricted"} <= layers, sorted(hits_before)
    landing_forms = "\n".join(
        body.decode("utf-8") for key, body in _objects(bucket).items() if key.startswith("landing/")
    )
    for form in [*subjects["phone_forms"], *subjects["plate_forms"]]:
        assert form in landing_forms, form  # every written form really landed
    assert len(subjects["plate_forms"]) >= 3
    before = tables(bucket)
    silver_rows = [r for t, rows in before.items() if t.startswith("silver/") for r in rows]
    for pseudonym in subjects["pseudonyms"]:  # the scan's pseudonyms are the ones silver really holds
        assert any(pseudonym in r for r in silver_rows), pseudonym
    mentions = {t: [r for r in rows if traces(r)] for t, rows in before.items()}
    others = {t: Counter(r for r in rows if not traces(r)) for t, rows in before.items()}

    plate_args = ["--subject", f"plate={subjects['plate_forms'][-1]}"]
    phone_args = ["--subject-phone", subjects["phone_forms"][3]]
    requests = [("plate+phone", plate_args + phone_args, {"plate", "phone"})]
    runs = []
    for label, args, kinds in requests:
        for step in CRASHES:
            started = time.monotonic()
            done = erase(args, step)
            runs.append(f"{label} killed after {step}: exit {done.returncode} ({time.monotonic() - started:.0f} s)")
            assert done.returncode == -9, (label, step, done.stdout[-2000:], done.stderr[-4000:])
            if step != "audit":
                assert len(_open_intents()) == 1, (label, step)
            if STEPS.index(step) < STEPS.index("restricted"):  # the link outlives every earlier step
                link = [r for t, rows in tables(bucket).items() if t.startswith("restricted/") for r in rows]
                assert all(any(kind in traces(r) for r in link) for kind in kinds), (label, step)
        started = time.monotonic()
        done = erase(args, None)
        runs.append(f"{label} rerun: exit {done.returncode} ({time.monotonic() - started:.0f} s)")
        assert done.returncode == 0, (label, done.stdout[-2000:], done.stderr[-4000:])
        assert ("resumed" in done.stdout) == (CRASHES[-1] != "audit"), done.stdout
        assert _open_intents() == []

    n_after, hits_after, log_pseudonyms = scan(bucket, traces)
    after = tables(bucket)
    lost = duplicated = 0
    for table, rows in before.items():
        now = Counter(after.get(table, []))
        lost += sum((others[table] - now).values())  # another subject's row changed or gone
        if not table.startswith("audit/"):
            duplicated += max(len(after.get(table, [])) - len(rows), 0)
        expected = len(rows) - (len(mentions[table]) if table.startswith("restricted/") else 0)
        if not table.startswith("audit/"):
            assert len(after.get(table, [])) == expected, table  # redacted in place; only the link deleted
    silver = sum(len(after[t]) for t in after if t.startswith("silver/") and t.split("/")[-1] in DATASETS)
    quarantined = sum(len(after[t]) for t in after if t.startswith("quarantine/") and t.split("/")[-1] in DATASETS)
    erased = sum(len(m) for t, m in mentions.items() if not t.startswith("audit/"))
    # Exact duplicate source lines are merged into one silver row by the dedup rule.
    chaos_row.count(
        records_in=subjects["records_in"],
        silver=silver,
        quarantined=quarantined,
        duplicated=duplicated,
        merged_duplicates=subjects["exact_duplicates"],
    )
    chaos_row.lost += lost
    chaos_row.detail = (
        f"phone in {len(subjects['phone_forms'])} forms, plate in {len(subjects['plate_forms'])}; "
        f"{erased} rows held a subject (redacted/deleted); crashes {', '.join(runs)}; "
        f"scan {n_before}→{n_after} objects: hits {len(hits_before)}→{len(hits_after)} "
        f"(+{len(log_pseudonyms)} Delta log files with a pseudonym in old statistics)"
    )
    assert hits_after == {}, hits_after
    assert chaos_row.lost == 0 and chaos_row.duplicated == 0, chaos_row
