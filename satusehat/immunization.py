"""A dose (a care record of a dose code) -> an Immunization.

Who reported it decides the rest (SATUSEHAT's Immunization page):

* given at a visit and recorded there by a kader or staff (``visit_id`` set, source kader/staff): a primary
  record (``primarySource`` true) of the visit's Encounter, at the posyandu's Location, at the visit's time;
  SATUSEHAT then needs the lot number and expiry (``detail`` ``lot`` / ``expiry``): without them
  :mod:`satusehat.rules` holds the dose back with its reason;
* history (the Buku KIA read out at registration, a register import, a family's own entry): ``primarySource``
  false and ``reportOrigin`` ``record`` (Written Record) when the day is known, ``recall`` (Parental Recall)
  when only the month is, or no date; no Encounter.

``vaccineCode``: the KFA product, the KFA vaccine group (VG) and the CVX code of ``content/satusehat``
(vaccines.csv); recalled history carries only the group and the CVX code. ``reasonCode``: the Kemenkes
immunisation reason and, for these routine doses, the routine timing: ``IM-Ideal`` when the dose was given
before its on-time window closed (content/care/immunization.yaml, by the child's age), else ``IM-Kejar``.
The timing needs the birth date and the dose's date: without them it is left out (and rules.py says so).
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from care.history import DAY, MONTH
from care.rules import ImmunizationSchedule
from content.satusehat import CVX, KFA, vaccines
from satusehat.encounter import period
from satusehat.facts import DoseFacts, Site, VisitFacts
from satusehat.fhir import coding, identifier, local_id, utc, validated

REASON = "http://terminology.kemkes.go.id/CodeSystem/immunization-reason"
TIMING = "http://terminology.kemkes.go.id/CodeSystem/immunization-routine-timing"
ORIGIN = "http://terminology.hl7.org/CodeSystem/immunization-origin"
REASON_DISPLAY = {
    "IM-Dasar": "Imunisasi Program Rutin Dasar",
    "IM-Baduta": "Imunisasi Program Rutin Lanjutan Bawah Dua Tahun",
}
#: the reasons of routine immunisation (IM-Rutin and below), which need the routine timing
ROUTINE = frozenset({"IM-Rutin", "IM-Dasar", "IM-Lanjutan", "IM-Baduta", "IM-SD", "IM-WUS"})
IDEAL, CATCH_UP = "IM-Ideal", "IM-Kejar"
TIMING_DISPLAY = {IDEAL: "Imunisasi Ideal", CATCH_UP: "Imunisasi Kejar"}
RECORD, RECALL = ("record", "Written Record"), ("recall", "Parental Recall")
PRIMARY_SOURCES = frozenset({"kader", "staff"})


class NoVaccine(ValueError):
    """The dose code has no row in content/satusehat/vaccines.csv."""


def business_id(record_id: int) -> str:
    return local_id("dose", record_id)


def is_primary(dose: DoseFacts) -> bool:
    """Given at the visit it was recorded at, by a kader or staff: a dose recorded at a visit with an earlier
    date (the Buku KIA's history typed in at the visit) is history, not primary."""
    return (dose.visit_id is not None and dose.source in PRIMARY_SOURCES
            and (dose.visited_on is None or dose.visited_on == dose.done_on))


def origin(dose: DoseFacts) -> tuple[str, str] | None:
    """The reportOrigin (code, display) of history; None for a primary record."""
    if is_primary(dose):
        return None
    return RECORD if dose.precision == DAY else RECALL


def timing(code: str, given_on: date, birth: date | None, schedule: ImmunizationSchedule) -> str | None:
    """IM-Ideal when ``given_on`` is before the dose's on-time window closes for a child born on ``birth``,
    IM-Kejar after; None when the birth date is unknown or the dose has no rule."""
    rule = schedule.by_code.get(code)
    if birth is None or rule is None:
        return None
    end = rule.on_time_end.after(birth)
    if rule.not_from is not None:
        end = min(end, rule.not_from.after(birth))
    return IDEAL if given_on < end else CATCH_UP


def dose_number(code: str) -> int:
    """The dose's number in its series: OPV3 -> 3; single doses and HB0 -> 1."""
    found = re.search(r"(\d+)$", code)
    return max(int(found.group(1)), 1) if found else 1


def occurrence(dose: DoseFacts, visit: VisitFacts | None) -> dict[str, str]:
    """occurrenceDateTime: the visit's time (UTC) for a primary record, the day or the month of history;
    occurrenceString for a dose whose date is not known."""
    if is_primary(dose) and visit is not None:
        return {"occurrenceDateTime": utc(period(visit)[0])}
    if dose.precision == DAY:
        return {"occurrenceDateTime": dose.done_on.isoformat()}
    if dose.precision == MONTH:
        return {"occurrenceDateTime": dose.done_on.strftime("%Y-%m")}
    return {"occurrenceString": "tanggal tidak diketahui"}


def immunization(dose: DoseFacts, subject: dict[str, Any], site: Site, schedule: ImmunizationSchedule, *,
                 birth: date | None, visit: VisitFacts | None = None,
                 encounter: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Immunization of ``dose`` (validated by the R4B model); NoVaccine when the code has no row."""
    row = vaccines().get(dose.code)
    if row is None:
        raise NoVaccine(dose.code)
    reported = origin(dose)
    codings = []
    if reported != RECALL and row.kfa_code:
        codings.append(coding(KFA, row.kfa_code, row.kfa_display))
    codings += [coding(KFA, row.vg_code, row.vg_display), coding(CVX, row.cvx_code, row.cvx_display)]
    reason = [coding(REASON, row.reason, REASON_DISPLAY.get(row.reason))]
    when = timing(dose.code, dose.done_on, birth, schedule) if dose.precision in (DAY, MONTH) else None
    if when is not None and row.reason in ROUTINE:
        reason.append(coding(TIMING, when, TIMING_DISPLAY[when]))
    resource: dict[str, Any] = {
        "resourceType": "Immunization",
        "identifier": identifier("Immunization", site.organization_id, business_id(dose.id)),
        "status": "completed",
        "vaccineCode": {"coding": codings},
        "patient": subject,
        **occurrence(dose, visit),
        "recorded": utc(dose.created_at),
        "primarySource": reported is None,
        "reasonCode": [{"coding": reason}],
        "protocolApplied": [{"doseNumberPositiveInt": dose_number(dose.code)}],
    }
    if reported is not None:
        resource["reportOrigin"] = {"coding": [coding(ORIGIN, *reported)]}
    else:
        if encounter is not None:
            resource["encounter"] = encounter
        location = site.location_of(visit.posyandu_code) if visit is not None else None
        if location:
            resource["location"] = {"reference": f"Location/{location}"}
    detail = dose.detail or {}
    if detail.get("lot"):
        resource["lotNumber"] = str(detail["lot"])
    if detail.get("expiry"):
        resource["expirationDate"] = str(detail["expiry"])
    return validated(resource)
