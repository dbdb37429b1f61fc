"""GS1 EPCIS 2.0 events read as the standard writes them: identifiers, lots, event ids, problems.

Pure Python, no Spark: the silver transform calls :func:`parse_event` once per event (a UDF), and
the unit tests call it on GS1's own example documents. Citations name sections of EPCIS 2.0 and
CBV 2.0 (GS1, 2022), the EPC Tag Data Standard and the GS1 Digital Link URI syntax, as
docs/domain.md lists them.

An event becomes a :class:`ParsedEvent`: its type, an identity (``eventID`` or a hash computed
here), the product identifiers of its "what" dimension (each normalised to GTIN-14 + lot +
serial, with the role it plays: object, child, input, output) and, if the event cannot be
placed, the first problem found (a quarantine reason code of ``traceability_event``).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import astuple, dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

SUPPORTED_TYPES = ("ObjectEvent", "AggregationEvent", "TransformationEvent")
"""EPCIS 2.0 "ObjectEvent", "AggregationEvent", "TransformationEvent". TransactionEvent and AssociationEvent are valid
EPCIS but say nothing about a product lot's own path here, so they are quarantined, not guessed."""
OTHER_TYPES = ("TransactionEvent", "AssociationEvent")

LOT_KEYS = ("cbvmda:lotNumber", "urn:epcglobal:cbv:mda:lotNumber")
"""``ilmd`` keys for the CBV master-data attribute lotNumber (CBV 2.0 master data attributes; the ``cbvmda`` prefix is
bound to ``urn:epcglobal:cbv:mda:`` by the EPCIS 2.0 JSON-LD context)."""

HASH_VERSION = "lakehouse-json-v1"
"""Marks an event id computed by :func:`event_hash` — not the CBV 2.0 event hash ("event hash ID" in CBV 2.0)."""

ROLES = ("object", "child", "input", "output")

# --- identifiers ---------------------------------------------------------------------------------


def gs1_check_digit(body: str) -> int:
    """GS1 mod-10 check digit of a digit string (weights 3, 1, 3 … from the right; GS1 General
    Specifications, check digit calculation), for a GTIN-14 body of 13 digits or any shorter key."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


@dataclass(frozen=True)
class Epc:
    """One product identifier: GTIN-14 and, when the identifier carries them, lot and serial.

    ``level`` is ``instance`` (SGTIN: one item), ``class`` (LGTIN or a GTIN with a lot, or a bare
    GTIN: a quantity of a class) or ``pattern`` (``urn:epc:idpat:sgtin:…*``: any item of a GTIN).
    """

    uri: str
    gtin: str
    lot: str | None = None
    serial: str | None = None
    level: str = "instance"


class EpcError(ValueError):
    """An identifier the standard rejects; ``reason`` is the quarantine code."""

    def __init__(self, reason: str, uri: str) -> None:
        super().__init__(f"{reason}: {uri}")
        self.reason = reason


_URN_GTIN = re.compile(r"^urn:epc:(id:sgtin|class:lgtin|idpat:sgtin):(\d+)\.(\d+)\.(.+)$")
_URN_OTHER = re.compile(r"^urn:epc:(id|class|idpat):[a-z0-9-]+:\S+$")
_DL_PRIMARY = re.compile(r"/(01|00|414|8003|8004|253|255|417|8006|8010|8017|8018)/([^/?#]+)((?:/[^/?#]+)*)$")
_DL_GTIN = re.compile(r"^\d{8}$|^\d{12,14}$")


def _urn_gtin(company: str, reference: str) -> str:
    """EPC Tag Data Standard, SGTIN / LGTIN: GTIN-14 = indicator (first digit of the item reference) +
    company prefix + the rest of the item reference + check digit (the URN carries no check digit)."""
    body = reference[0] + company + reference[1:]
    return body + str(gs1_check_digit(body))


def parse_epc(uri: str) -> Epc | None:
    """The product identifier in ``uri`` (EPC URN or GS1 Digital Link URI), ``None`` for a valid
    identifier that names no trade item (SSCC, SGLN, GRAI …), ``EpcError`` for a malformed one."""
    text = uri.strip()
    if text.startswith("urn:"):
        match = _URN_GTIN.match(text)
        if match is None:
            if _URN_OTHER.match(text):
                return None  # an SSCC (a pallet), an SGLN, a GRAI …: valid EPCs that are not products
            raise EpcError("INVALID_EPC", uri)
        scheme, company, reference, tail = match.groups()
        if len(company) + len(reference) != 13 or not 6 <= len(company) <= 12:
            raise EpcError("INVALID_EPC", uri)  # TDS: company prefix 6–12 digits, 13 together
        gtin = _urn_gtin(company, reference)
        if scheme == "idpat:sgtin":
            if tail != "*":
                raise EpcError("INVALID_EPC", uri)
            return Epc(uri, gtin, level="pattern")
        value = unquote(tail)
        if scheme == "class:lgtin":
            return Epc(uri, gtin, lot=value, level="class")
        return Epc(uri, gtin, serial=value, level="instance")
    if text.startswith(("https://", "http://")):
        return _parse_digital_link(uri, text)
    raise EpcError("INVALID_EPC", uri)


def _parse_digital_link(uri: str, text: str) -> Epc | None:
    """GS1 Digital Link URI syntax: any resolver host, an optional path prefix, then primary key and qualifiers as
    ``/AI/value`` pairs (01 GTIN, then 22 CPV, 10 lot, 21 serial); the query string holds data
    attributes, not identity. A GTIN-8/12/13/14 is padded to 14 digits and its check digit verified."""
    path = urlsplit(text).path.rstrip("/")
    match = _DL_PRIMARY.search(path)
    if match is None:
        raise EpcError("INVALID_EPC", uri)
    ai, value, rest = match.group(1), unquote(match.group(2)), match.group(3)  # leftmost: the primary key
    if ai != "01":
        return None  # SSCC (00), GLN (414), GRAI (8003) …: valid keys, not trade items
    if not _DL_GTIN.match(value):
        raise EpcError("INVALID_EPC", uri)
    gtin = value.zfill(14)
    if gs1_check_digit(gtin[:13]) != int(gtin[13]):
        raise EpcError("INVALID_CHECK_DIGIT", uri)
    parts = [p for p in rest.split("/") if p]
    if len(parts) % 2:
        raise EpcError("INVALID_EPC", uri)
    qualifiers = {parts[i]: unquote(parts[i + 1]) for i in range(0, len(parts), 2)}
    if set(qualifiers) - {"22", "10", "21"}:
        raise EpcError("INVALID_EPC", uri)
    lot, serial = qualifiers.get("10"), qualifiers.get("21")
    return Epc(uri, gtin, lot=lot, serial=serial, level="instance" if serial is not None else "class")


# --- events --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    """A product the event names, in the role it plays (EPCIS 2.0, the "What" dimension)."""

    role: str
    level: str
    epc: str
    gtin: str
    lot_number: str | None
    serial: str | None
    quantity: float | None = None
    uom: str | None = None


@dataclass(frozen=True)
class ParsedEvent:
    event_type: str | None
    event_id: str | None
    event_id_computed: bool
    parent_id: str | None
    products: tuple[Product, ...] = field(default_factory=tuple)
    problem: str | None = None


_LISTS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    # event type → (JSON key, role, is a quantity list)
    "ObjectEvent": (("epcList", "object", False), ("quantityList", "object", True)),
    "AggregationEvent": (("childEPCs", "child", False), ("childQuantityList", "child", True)),
    "TransformationEvent": (
        ("inputEPCList", "input", False),
        ("inputQuantityList", "input", True),
        ("outputEPCList", "output", False),
        ("outputQuantityList", "output", True),
    ),
}


def event_hash(event: dict[str, Any]) -> str:
    """A deterministic id for an event without ``eventID`` (EPCIS 2.0 "EPCISEvent" makes eventID optional).

    Canonical form: the event's JSON with ``eventID``, ``recordTime`` (set by the capturing
    repository) and ``@context`` removed, keys sorted at every level, no insignificant whitespace,
    UTF-8; SHA-256 of that, written as an RFC 6920 ``ni`` URI. Two copies of one event get one id;
    the same event written with other prefixes or list orders gets another. This is *not* the CBV
    2.0 event-hash algorithm ("event hash ID" in CBV 2.0), hence the ``ver`` marker.
    """
    canonical = {k: v for k, v in event.items() if k not in ("eventID", "recordTime", "@context")}
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"ni:///sha-256;{hashlib.sha256(text.encode('utf-8')).hexdigest()}?ver={HASH_VERSION}"


def _ilmd_lot(event: dict[str, Any]) -> str | None:
    ilmd = event.get("ilmd")
    if not isinstance(ilmd, dict):
        return None
    for key in LOT_KEYS:
        value = ilmd.get(key)
        if isinstance(value, str | int) and str(value).strip():
            return str(value).strip()
    return None


def _quantity(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def parse_event(raw: str | None) -> ParsedEvent:
    """Read one event (a JSON object) into a :class:`ParsedEvent`; never raises.

    Problems, first found wins (a reason code of ``traceability_event``): ``UNSUPPORTED_EVENT_TYPE``
    (TransactionEvent, AssociationEvent), ``UNKNOWN_EVENT_TYPE``, ``ERROR_DECLARATION`` ("ErrorDeclaration":
    the event restates an earlier one to declare it wrong; it is no new observation), ``INVALID_EPC`` /
    ``INVALID_CHECK_DIGIT`` (any identifier of the event), ``ILMD_WITHOUT_ADD`` (EPCIS 2.0 "ObjectEvent":
    ilmd only on an ObjectEvent with action ADD), ``MISSING_PARENT_ID`` ("AggregationEvent": AggregationEvent
    ADD / DELETE need parentID), ``MISSING_WHAT`` (no identifier at all: "ObjectEvent" asks for epcList
    or quantityList), ``NO_PRODUCT`` (identifiers, but none a trade item).
    """
    try:
        event = json.loads(raw) if raw else None
    except ValueError:
        event = None
    if not isinstance(event, dict):
        return ParsedEvent(None, None, False, None, problem="MALFORMED_LINE")
    event_type = event.get("type") if isinstance(event.get("type"), str) else None
    given_id = event.get("eventID")
    if isinstance(given_id, str) and given_id.strip():
        event_id, computed = given_id.strip(), False
    else:
        event_id, computed = event_hash(event), True
    parent = event.get("parentID") if isinstance(event.get("parentID"), str) else None

    def result(problem: str | None, products: tuple[Product, ...] = ()) -> ParsedEvent:
        return ParsedEvent(event_type, event_id, computed, parent, products, problem)

    if event_type in OTHER_TYPES:
        return result("UNSUPPORTED_EVENT_TYPE")
    if event_type not in SUPPORTED_TYPES:
        return result("UNKNOWN_EVENT_TYPE")
    if event.get("errorDeclaration"):
        return result("ERROR_DECLARATION")
    action = str(event.get("action") or "").strip().upper()
    lot_from_ilmd = _ilmd_lot(event)
    products: list[Product] = []
    named = 0
    try:
        if parent is not None:
            parse_epc(parent)  # validated; a parent is a container (SSCC), not one of the products
        for key, role, is_quantity in _LISTS[event_type]:
            entries = event.get(key)
            if not isinstance(entries, list):
                continue
            for entry in entries:
                uri = entry.get("epcClass") if is_quantity and isinstance(entry, dict) else entry
                if not isinstance(uri, str):
                    raise EpcError("INVALID_EPC", str(uri))
                named += 1
                epc = parse_epc(uri)
                if epc is None:
                    continue
                # ilmd describes the objects the event brings into being (EPCIS 2.0 "ILMD"): an ADD's objects,
                # a transformation's outputs; a lot written in the identifier itself wins
                inherits = role == "object" or role == "output"
                lot = epc.lot if epc.lot is not None else (lot_from_ilmd if inherits else None)
                products.append(
                    Product(
                        role,
                        epc.level,
                        epc.uri,
                        epc.gtin,
                        lot,
                        epc.serial,
                        _quantity(entry.get("quantity")) if is_quantity else None,
                        str(entry["uom"]) if is_quantity and entry.get("uom") is not None else None,
                    )
                )
    except EpcError as err:
        return result(err.reason)
    if event.get("ilmd") and event_type == "ObjectEvent" and action != "ADD":
        return result("ILMD_WITHOUT_ADD", tuple(products))
    if event_type == "AggregationEvent" and action in ("ADD", "DELETE") and parent is None:
        return result("MISSING_PARENT_ID", tuple(products))
    if named == 0:
        return result("MISSING_WHAT")
    if not products:
        return result("NO_PRODUCT")
    return result(None, tuple(products))


PRODUCTS_DDL = (
    "ARRAY<STRUCT<role: STRING, level: STRING, epc: STRING, gtin: STRING, lot_number: STRING, serial: STRING, "
    "quantity: DOUBLE, uom: STRING>>"
)
"""Spark type of :attr:`ParsedEvent.products` (silver's ``products`` column)."""
PARSED_DDL = (
    f"event_type STRING, event_id STRING, event_id_computed BOOLEAN, parent_id STRING, products {PRODUCTS_DDL}, "
    "problem STRING"
)


def parsed_row(raw: str | None) -> tuple[Any, ...]:
    """:func:`parse_event` as a tuple in :data:`PARSED_DDL` order (what the Spark UDF returns)."""
    p = parse_event(raw)
    return (
        p.event_type,
        p.event_id,
        p.event_id_computed,
        p.parent_id,
        [astuple(x) for x in p.products],
        p.problem,
    )
