"""SATUSEHAT's rules on top of FHIR's, checked before anything is sent or exported.

:func:`check` takes a resource as built by this package (a JSON dict already valid R4B) and the organization
id the credentials belong to, and returns its :class:`Problem` list (empty: it may be sent):

* the business identifier's system is ``http://sys-ids.kemkes.go.id/<resource>/{organization id}`` (the
  server refuses another organization's: RuleNumber 10117) and it has a value;
* every time is UTC (``Z`` or ``+00:00``); no date before 3 June 2014;
* the patient is ``Patient/<IHS number>`` or the NIK (nik / nik-ibu) identifier of 16 digits;
* Encounter: class, period, a ``Location/...``, the statuses arrived, in-progress and finished;
* Observation: status, a coded ``code``, an Encounter, a quantity in UCUM;
* Immunization: the KFA vaccine group and the CVX code, the KFA product unless recalled, ``reportOrigin``
  when not a primary record, lot number and expiry when a primary record, the reason, and for routine
  immunisation the routine timing.

Pure: a resource in, problems out. :mod:`satusehat.problems` words them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from content.satusehat import CVX, KFA
from satusehat.fhir import EARLIEST, identifier_system
from satusehat.immunization import REASON, ROUTINE, TIMING
from satusehat.patient import NIK_IBU_SYSTEM, NIK_SYSTEM

_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
_DATE_ONLY = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_DATE = re.compile(r"^(\d{4})(-(\d{2}))?(-(\d{2}))?")
_TIME_KEYS = ("start", "end", "effectiveDateTime", "occurrenceDateTime", "recorded", "issued", "expirationDate")
_NIK = re.compile(r"^\d{16}$")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing SATUSEHAT would refuse (or that stops a resource being built): a code, the resource type, its
    business identifier (or the row) and the code's parameters."""

    code: str
    resource: str
    where: str
    params: dict[str, Any] = field(default_factory=dict)


def _times(node: Any, path: str = ""):
    """(path, value) of every time-like value in a resource."""
    if isinstance(node, dict):
        for key, value in node.items():
            sub = f"{path}.{key}" if path else key
            if key in _TIME_KEYS and isinstance(value, str):
                yield sub, value
            else:
                yield from _times(value, sub)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _times(value, f"{path}[{i}]")


def _codings(concept: Any) -> list[dict[str, Any]]:
    return list((concept or {}).get("coding") or ())


def _has(codings: list[dict[str, Any]], system: str, pattern: str = r".+") -> bool:
    return any(c.get("system") == system and re.fullmatch(pattern, c.get("code") or "") for c in codings)


def _subject_problems(ref: Any, add) -> None:
    if not isinstance(ref, dict):
        add("missing", element="subject")
        return
    if re.fullmatch(r"Patient/[A-Za-z0-9.-]+", ref.get("reference") or ""):
        return
    ident = ref.get("identifier") or {}
    if ident.get("system") in (NIK_SYSTEM, NIK_IBU_SYSTEM) and _NIK.match(ident.get("value") or ""):
        return
    add("bad_patient")


def check(resource: dict[str, Any], organization_id: str) -> list[Problem]:
    """The problems SATUSEHAT would refuse ``resource`` for (see the module docstring)."""
    kind = resource.get("resourceType", "")
    idents = resource.get("identifier") or []
    where = next((i.get("value") for i in idents if i.get("value")), "") or kind
    problems: list[Problem] = []

    def add(code: str, **params: Any) -> None:
        problems.append(Problem(code, kind, where, params))

    wanted = identifier_system(kind, organization_id)
    if not idents or not any(i.get("value") for i in idents):
        add("no_identifier")
    elif not any(i.get("system") == wanted for i in idents):
        add("identifier_system", wanted=wanted, found=idents[0].get("system", ""))
    for path, value in _times(resource):
        if not _DATE_ONLY.match(value) and not _TIME.match(value):
            add("time_format", element=path, value=value)
        elif _TIME.match(value) and not value.endswith(("Z", "+00:00", "-00:00")):
            add("time_not_utc", element=path, value=value)
        found = _DATE.match(value)
        if found and path != "expirationDate":
            day = date(int(found.group(1)), int(found.group(3) or 12), int(found.group(5) or 28))
            if day < EARLIEST:
                add("date_too_early", element=path, value=value[:10])

    if kind == "Encounter":
        _subject_problems(resource.get("subject"), add)
        if not (resource.get("class") or {}).get("code"):
            add("missing", element="class")
        if not (resource.get("period") or {}).get("start"):
            add("missing", element="period.start")
        if not any((loc.get("location") or {}).get("reference", "").startswith("Location/")
                   for loc in resource.get("location") or ()):
            add("no_location")
        statuses = {s.get("status") for s in resource.get("statusHistory") or ()}
        missing = [s for s in ("arrived", "in-progress", "finished") if s not in statuses]
        if missing:
            add("status_history", missing=", ".join(missing))
    elif kind == "Observation":
        _subject_problems(resource.get("subject"), add)
        if not _codings(resource.get("code")):
            add("missing", element="code")
        if not resource.get("encounter"):
            add("missing", element="encounter")
        quantity = resource.get("valueQuantity") or {}
        if quantity.get("system") != "http://unitsofmeasure.org" or not quantity.get("code"):
            add("no_unit")
    elif kind == "Immunization":
        _subject_problems(resource.get("patient"), add)
        codes = _codings(resource.get("vaccineCode"))
        origin = {c.get("code") for c in _codings(resource.get("reportOrigin"))}
        if not _has(codes, KFA, r"VG\d+") or not _has(codes, CVX):
            add("no_vaccine_group")
        if "recall" not in origin and not _has(codes, KFA, r"93\d{6}"):
            add("no_kfa_product")
        if resource.get("primarySource") is False and not origin:
            add("no_report_origin")
        if resource.get("primarySource") is True and not (resource.get("lotNumber") and resource.get("expirationDate")):
            add("no_lot")
        reasons = [c for concept in resource.get("reasonCode") or () for c in _codings(concept)]
        reason = next((c.get("code") for c in reasons if c.get("system") == REASON), None)
        if reason is None:
            add("no_reason")
        elif reason in ROUTINE and not _has(reasons, TIMING):
            add("no_timing")
    return problems
