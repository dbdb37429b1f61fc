"""EPCIS 2.0 as the standard writes it, tested on GS1's own example documents (tests/data/epcis/SOURCE.md).

Identifiers first (pure Python), then each example document through the silver transform and the
registry's row rules: exactly which events reach silver and which are quarantined, for what reason,
and the books balance (events in = silver + quarantined). Then gold's lineage and chain completeness
on a small processing chain worked out by hand.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.agriculture.datasets import TRACEABILITY_EVENT
from jobs.agriculture.epcis import Epc, EpcError, event_hash, gs1_check_digit, parse_epc, parse_event
from jobs.agriculture.transforms import traceability_completeness, traceability_lineage, traceability_to_silver
from jobs.interval import DataInterval
from jobs.silver import apply_row_rules, mark_exact_duplicates
from tests.unit.conftest import BATCH_ID, INGESTED_AT

DATA = Path(__file__).resolve().parents[2] / "data" / "epcis"
INTERVAL = DataInterval.for_local_day(date(2026, 11, 26))

# --- identifiers ---------------------------------------------------------------------------------


def test_check_digit() -> None:
    # GS1's example GTIN 10614141073464: body 1061414107346 → 4
    assert gs1_check_digit("1061414107346") == 4
    assert gs1_check_digit("0893500012345") == 4  # the fixture's GTIN-13 8935000123454 as GTIN-14


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        # EPC URNs: indicator digit moves to the front, check digit computed (Tag Data Standard)
        ("urn:epc:id:sgtin:0614141.107346.2017", Epc("", "10614141073464", None, "2017", "instance")),
        ("urn:epc:class:lgtin:4012345.012345.998877", Epc("", "04012345123456", "998877", None, "class")),
        ("urn:epc:idpat:sgtin:4012345.098765.*", Epc("", "04012345987652", None, None, "pattern")),
        ("urn:epc:id:sgtin:8935000.012345.A%2F1", Epc("", "08935000123454", None, "A/1", "instance")),
        # Digital Link: any host, a path prefix, GTIN-8/12/13/14 padded to 14, qualifiers 22/10/21
        ("https://id.gs1.org/01/70614141123451/21/2017", Epc("", "70614141123451", None, "2017", "instance")),
        ("https://id.gs1.org/01/04012345123456/10/998877", Epc("", "04012345123456", "998877", None, "class")),
        ("https://id.gs1.org/01/04012345987652", Epc("", "04012345987652", None, None, "class")),
        ("https://truyxuat.example.vn/dl/01/8935000123454/10/L%201?linkType=all", Epc("", "08935000123454", "L 1")),
        ("https://example.com/01/8935000123454/10/L1/21/7", Epc("", "08935000123454", "L1", "7", "instance")),
        ("https://example.com/01/96385074", Epc("", "00000096385074", None, None, "class")),  # GTIN-8
        ("https://example.com/01/614141123452", Epc("", "00614141123452", None, None, "class")),  # GTIN-12
    ],
)
def test_product_identifiers(uri: str, expected: Epc) -> None:
    got = parse_epc(uri)
    assert got is not None
    level = expected.level if expected.level != "instance" or expected.serial else "class"
    assert (got.gtin, got.lot, got.serial, got.level) == (expected.gtin, expected.lot, expected.serial, level)


@pytest.mark.parametrize(
    "uri",
    [
        "urn:epc:id:sscc:0614141.1234567890",
        "urn:epc:id:sgln:0614141.00777.0",
        "https://id.gs1.org/00/106141412345678908",
    ],
)
def test_identifiers_that_are_not_trade_items(uri: str) -> None:
    assert parse_epc(uri) is None


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("https://id.gs1.org/01/70614141123452/21/2017", "INVALID_CHECK_DIGIT"),  # last digit should be 1
        ("https://id.gs1.org/01/7061414112345/21/2017", "INVALID_CHECK_DIGIT"),  # 13 digits, read as a GTIN-13
        ("https://id.gs1.org/01/123/21/2017", "INVALID_EPC"),
        ("https://id.gs1.org/01/70614141123451/99/x", "INVALID_EPC"),  # 99 qualifies no GTIN
        ("urn:epc:id:sgtin:0614141.10734.2017", "INVALID_EPC"),  # 12 digits, not 13
        ("urn:epc:idpat:sgtin:4012345.098765.12", "INVALID_EPC"),
        ("0614141107346", "INVALID_EPC"),
    ],
)
def test_identifiers_the_standard_rejects(uri: str, reason: str) -> None:
    with pytest.raises(EpcError) as err:
        parse_epc(uri)
    assert err.value.reason == reason


def test_event_hash_is_canonical() -> None:
    event = {"type": "ObjectEvent", "action": "OBSERVE", "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"]}
    reordered = {"epcList": event["epcList"], "action": "OBSERVE", "type": "ObjectEvent", "recordTime": "x"}
    assert event_hash(event) == event_hash(reordered)  # key order and recordTime do not count
    assert event_hash(event) != event_hash(event | {"action": "ADD"})
    assert event_hash(event).endswith("?ver=lakehouse-json-v1")  # not the CBV 2.0 event hash
    parsed = parse_event(json.dumps(event))
    assert parsed.event_id == event_hash(event) and parsed.event_id_computed


def test_ilmd_lot_goes_to_the_objects_an_add_brings_into_being() -> None:
    add = {
        "type": "ObjectEvent",
        "action": "ADD",
        "epcList": ["urn:epc:id:sgtin:8935000.012345.1"],
        "quantityList": [{"epcClass": "urn:epc:class:lgtin:8935000.012345.OWN", "quantity": 2}],
        "ilmd": {"cbvmda:lotNumber": "L9"},
    }
    products = parse_event(json.dumps(add)).products
    assert [(p.serial, p.lot_number) for p in products] == [("1", "L9"), (None, "OWN")]  # the class's own lot wins
    assert parse_event(json.dumps(add | {"action": "OBSERVE"})).problem == "ILMD_WITHOUT_ADD"


# --- GS1's example documents through silver ------------------------------------------------------

# Every GTIN the documents name, registered as OCOP products so that only EPCIS rules decide
EXAMPLE_GTINS = (
    "10614141073464",
    "70614141123451",
    "04012345123456",
    "04012345987652",
    "04012345111224",
    "04000001654321",
    "04012345111118",
    "00614141777778",
    "04012345666663",
    "04012345778892",
)

EXPECTED: dict[str, dict[str, list[str | None]]] = {
    # document → event type → per event (document order): None = silver, else the quarantine reason
    "Example_9.6.1-ObjectEvent.jsonld": {"ObjectEvent": [None, None]},  # SGTINs, no lot: instance level
    "Example_9.6.1-ObjectEventWithDigitalLink.jsonld": {"ObjectEvent": [None, None]},
    "Example_9.6.2-ObjectEvent.jsonld": {"ObjectEvent": [None]},  # LGTIN in quantityList
    "Example_9.6.2-ObjectEventWithDigitalLink.jsonld": {"ObjectEvent": [None]},
    "Example_9.6.3-AggregationEvent.jsonld": {"AggregationEvent": [None]},
    "Example_9.6.3-AggregationEventWithDigitalLink.jsonld": {"AggregationEvent": [None]},
    "Example_9.6.4-TransformationEvent.jsonld": {"TransformationEvent": [None]},  # no action: none needed
    "Example_9.6.4-TransformationEventWithDigitalLink.jsonld": {"TransformationEvent": [None]},
    "Example-TransactionEvents-2020_07_03y.jsonld": {
        "TransactionEvent": ["UNSUPPORTED_EVENT_TYPE", "UNSUPPORTED_EVENT_TYPE"]
    },
    "AssociationEvent-a.jsonld": {"AssociationEvent": ["UNSUPPORTED_EVENT_TYPE"]},
    "Example_9.6.1-ObjectEvent-with-error-declaration.jsonld": {"ObjectEvent": ["ERROR_DECLARATION", None]},
}


def _events_of(name: str) -> list[dict[str, Any]]:
    return list(json.loads((DATA / name).read_text(encoding="utf-8"))["epcisBody"]["eventList"])


def _silver(spark: SparkSession, events: list[dict[str, Any]], gtins: tuple[str, ...] = EXAMPLE_GTINS) -> DataFrame:
    """The events as the document extractor lands them (one JSON line each) → bronze → typed → rules."""
    from jobs.bronze import parse_json_lines

    source = TRACEABILITY_EVENT.source
    assert source is not None
    lines = [(json.dumps(e, ensure_ascii=False), n) for n, e in enumerate(events, start=1)]
    bronze = mark_exact_duplicates(
        parse_json_lines(spark.createDataFrame(lines, "line STRING, line_no LONG"), source).select(
            "*",
            F.lit(BATCH_ID).alias("_batch_id"),
            F.lit("epcis.jsonl").alias("_source_file"),
            F.lit(INGESTED_AT).cast("timestamp").alias("_ingested_at"),
        )
    )
    registry = spark.createDataFrame(
        [(f"GS1-{g}", g, "01", INGESTED_AT) for g in gtins],
        "product_code STRING, gtin STRING, province_code STRING, _ingested_at TIMESTAMP",
    )
    typed = traceability_to_silver(bronze, {"ocop_product": registry}, interval=INTERVAL)
    return apply_row_rules(typed, TRACEABILITY_EVENT).orderBy("_source_line")


@pytest.mark.parametrize("document", sorted(EXPECTED))
def test_gs1_example_document(spark: SparkSession, document: str) -> None:
    events = _events_of(document)
    rows = _silver(spark, events).collect()
    got: dict[str, list[str | None]] = {}
    for row in rows:
        got.setdefault(row["event_type"], []).append(row["_reject_reason"])
    assert got == EXPECTED[document]
    # the books balance: every event is in silver or quarantined, once
    assert len(rows) == len(events) == sum(len(v) for v in EXPECTED[document].values())
    for row, event in zip(rows, events, strict=True):
        assert row["event_id"] == (event.get("eventID") or event_hash(event))
        assert row["event_id_computed"] is ("eventID" not in event)


def test_gs1_examples_read_the_same_as_urn_and_as_digital_link(spark: SparkSession) -> None:
    """9.6.3 in URN and Digital Link form name the same children; 9.6.4 the same inputs and outputs."""
    for urn, dl in (
        ("Example_9.6.3-AggregationEvent.jsonld", "Example_9.6.3-AggregationEventWithDigitalLink.jsonld"),
        ("Example_9.6.4-TransformationEvent.jsonld", "Example_9.6.4-TransformationEventWithDigitalLink.jsonld"),
    ):
        a, b = (
            [(p["role"], p["gtin"], p["lot_number"], p["serial"], p["quantity"]) for p in r["products"]]
            for r in (_silver(spark, _events_of(urn)).first(), _silver(spark, _events_of(dl)).first())
        )
        # GS1's DL variant of 9.6.3 writes the SGTIN children under another GTIN (70614141123451)
        if "9.6.3" in urn:
            a, b = a[2:], b[2:]
        assert a == b


def test_gs1_transformation_keeps_inputs_and_outputs(spark: SparkSession) -> None:
    row = _silver(spark, _events_of("Example_9.6.4-TransformationEvent.jsonld")).first()
    assert row is not None
    roles = [(p["role"], p["level"], p["gtin"], p["lot_number"], p["serial"]) for p in row["products"]]
    assert roles[:5] == [
        ("input", "instance", "04012345111224", None, "25"),
        ("input", "instance", "04000001654321", None, "99886655"),
        ("input", "class", "04012345111118", "4444", None),
        ("input", "class", "00614141777778", "987", None),
        ("input", "pattern", "04012345666663", None, None),
    ]
    assert [r[0] for r in roles[5:]] == ["output"] * 4
    # main product: an output (outputs before inputs), action NULL is allowed on a transformation
    assert (row["gtin"], row["action"], row["epc_count"], row["biz_step"]) == (
        "04012345778892",
        None,
        6,
        "commissioning",
    )


def test_gs1_examples_without_registered_products(spark: SparkSession) -> None:
    reasons = {
        r["_reject_reason"] for r in _silver(spark, _events_of("Example_9.6.2-ObjectEvent.jsonld"), ()).collect()
    }
    assert reasons == {"UNKNOWN_PRODUCT"}


def _base() -> dict[str, Any]:
    return _events_of("Example_9.6.1-ObjectEventWithDigitalLink.jsonld")[0]


MUTATIONS: list[tuple[str, dict[str, Any], str | None]] = [
    # GS1's 9.6.1 Digital Link event, changed one way each: the reason the standard gives
    ("check digit", {"epcList": ["https://id.gs1.org/01/70614141123452/21/2017"]}, "INVALID_CHECK_DIGIT"),
    ("not an EPC", {"epcList": ["GTIN 70614141123451"]}, "INVALID_EPC"),
    ("no eventTime", {"eventTime": None}, "MISSING_EVENT_TIME"),
    ("no offset", {"eventTimeZoneOffset": None}, "MISSING_EVENT_TIME"),
    ("bad action", {"action": "SHIP"}, "UNKNOWN_ACTION"),
    ("ilmd on OBSERVE", {"ilmd": {"cbvmda:lotNumber": "L1"}}, "ILMD_WITHOUT_ADD"),
    ("no what", {"epcList": None}, "MISSING_WHAT"),
    ("only a pallet", {"epcList": ["urn:epc:id:sscc:0614141.1234567890"]}, "NO_PRODUCT"),
    ("bare word bizStep", {"bizStep": "shipped"}, "UNKNOWN_BIZ_STEP"),
    ("extension bizStep URI", {"bizStep": "https://example.vn/bizstep/drying"}, None),
    ("CBV URI bizStep", {"bizStep": "https://ref.gs1.org/cbv/BizStep-shipping"}, None),
    ("no bizStep", {"bizStep": None}, None),
    ("no eventID", {"eventID": None}, None),
    ("unknown type", {"type": "SensorEvent"}, "UNKNOWN_EVENT_TYPE"),
    ("aggregation ADD without parent", {"type": "AggregationEvent", "action": "ADD"}, "MISSING_PARENT_ID"),
]


def test_events_the_standard_rejects(spark: SparkSession) -> None:
    events = []
    for _, change, _ in MUTATIONS:
        event = {k: v for k, v in (_base() | change).items() if v is not None}
        if event["type"] == "AggregationEvent":
            event["childEPCs"] = event.pop("epcList")
        events.append(event)
    rows = _silver(spark, events).collect()
    assert [(name, r["_reject_reason"]) for (name, _, _), r in zip(MUTATIONS, rows, strict=True)] == [
        (name, reason) for name, _, reason in MUTATIONS
    ]
    by_name = {name: r for (name, _, _), r in zip(MUTATIONS, rows, strict=True)}
    assert by_name["extension bizStep URI"]["biz_step"] == "https://example.vn/bizstep/drying"
    assert by_name["CBV URI bizStep"]["biz_step"] == "shipping"


# --- gold: a processing chain --------------------------------------------------------------------

CHERRY, ROASTED = "8935000100011", "8935000200018"  # GTIN-13s of two OCOP products (check digits by hand)


def _obj(eid: str, step: str, time: str, what: dict[str, Any], **over: Any) -> dict[str, Any]:
    return (
        {
            "type": "ObjectEvent",
            "eventID": eid,
            "eventTime": time,
            "eventTimeZoneOffset": "+07:00",
            "action": "ADD" if step == "commissioning" else "OBSERVE",
            "bizStep": step,
        }
        | what
        | over
    )


def test_lineage_and_chain_completeness(spark: SparkSession) -> None:
    """Coffee cherry lots C1 (commissioned, shipped: 2/4) and C2 (commissioned: 1/4) are roasted into
    lot R1 (a TransformationEvent with bizStep commissioning; the outputs are SGTINs, their lot in
    ilmd). An R1 bag is then shipped, named only by its SGTIN: the lot comes from its commissioning.
    R1 own: commissioning + shipping = 0.5; inputs C1 0.5, C2 0.25 and an SGTIN of unknown lot 0
    → mean 0.25; chain = min(0.5, 0.25) = 0.25."""
    assert gs1_check_digit("0" + CHERRY[:12]) == int(CHERRY[12]) and gs1_check_digit("0" + ROASTED[:12]) == int(
        ROASTED[12]
    )
    dl = "https://id.gs1.org/01/{}/10/{}"
    events = [
        _obj(
            "c1",
            "commissioning",
            "2026-11-20T07:00:00+07:00",
            {"quantityList": [{"epcClass": dl.format(CHERRY, "C1"), "quantity": 500, "uom": "KGM"}]},
        ),
        _obj(
            "c1s",
            "shipping",
            "2026-11-20T09:00:00+07:00",
            {"quantityList": [{"epcClass": dl.format(CHERRY, "C1"), "quantity": 500, "uom": "KGM"}]},
        ),
        _obj(
            "c2",
            "commissioning",
            "2026-11-21T07:00:00+07:00",
            {"quantityList": [{"epcClass": dl.format(CHERRY, "C2"), "quantity": 300, "uom": "KGM"}]},
        ),
        {
            "type": "TransformationEvent",
            "eventID": "roast",
            "eventTime": "2026-11-22T08:00:00+07:00",
            "eventTimeZoneOffset": "+07:00",
            "bizStep": "commissioning",
            "inputQuantityList": [
                {"epcClass": dl.format(CHERRY, "C1"), "quantity": 500, "uom": "KGM"},
                {"epcClass": dl.format(CHERRY, "C2"), "quantity": 300, "uom": "KGM"},
            ],
            "inputEPCList": ["urn:epc:id:sgtin:8935000.010001.77"],  # a cherry sack of no known lot
            "outputEPCList": [f"https://id.gs1.org/01/{ROASTED}/21/1", f"https://id.gs1.org/01/{ROASTED}/21/2"],
            "ilmd": {"cbvmda:lotNumber": "R1"},
        },
        _obj("r1s", "shipping", "2026-11-23T08:00:00+07:00", {"epcList": [f"https://id.gs1.org/01/{ROASTED}/21/1"]}),
    ]
    silver = _silver(spark, events, (CHERRY, ROASTED))
    assert [r["_reject_reason"] for r in silver.collect()] == [None] * 5
    good = silver.where("_reject_reason IS NULL")
    registry = spark.createDataFrame(
        [("CF-1", CHERRY, "66"), ("CF-2", ROASTED, "66")], "product_code STRING, gtin STRING, province_code STRING"
    )
    edges = traceability_lineage({"traceability_event": good}, []).collect()
    assert sorted(((e["input_lot_number"] or "?"), e["output_serial"], e["output_lot_number"]) for e in edges) == [
        ("?", "1", "R1"),  # the sack of unknown lot
        ("?", "2", "R1"),
        ("C1", "1", "R1"),
        ("C1", "2", "R1"),
        ("C2", "1", "R1"),
        ("C2", "2", "R1"),
    ]
    gold = {
        r["lot_number"]: r
        for r in traceability_completeness({"traceability_event": good, "ocop_product": registry}, []).collect()
    }
    assert sorted(gold) == ["C1", "C2", "R1"]
    c1, c2, r1 = gold["C1"], gold["C2"], gold["R1"]
    assert (c1["completeness"], c1["inputs"], c1["inputs_completeness"], c1["chain_completeness"]) == (
        0.5,
        0,
        None,
        0.5,
    )
    assert c2["completeness"] == 0.25
    assert (r1["product_code"], r1["gtin"], r1["has_commissioning"], r1["has_shipping"], r1["events"]) == (
        "CF-2",
        "0" + ROASTED,
        True,
        True,
        2,
    )
    assert (r1["completeness"], r1["inputs"], r1["inputs_traced"], r1["inputs_completeness"]) == (0.5, 3, 2, 0.25)
    assert r1["chain_completeness"] == 0.25
