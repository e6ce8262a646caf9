"""Patients: SATUSEHAT knows a person by the IHS number its master patient index gives; the bot knows the
NIK. A person is found by ``GET {base}/Patient?identifier=https://fhir.kemkes.go.id/id/nik|<NIK>``; a baby
without a NIK through the mother's (``.../id/nik-ibu|<mother's NIK>``, which may answer several children:
the one born on the baby's birth date is taken, and none when that is not exactly one).

Before the IHS number is known (the offline export), a resource names its patient by the NIK identifier, a
logical reference (``Reference.identifier``); a person without a valid NIK is not exported at all: the
export lists them (:func:`nik_problem`).
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any

NIK_SYSTEM = "https://fhir.kemkes.go.id/id/nik"
NIK_IBU_SYSTEM = "https://fhir.kemkes.go.id/id/nik-ibu"
IHS_SYSTEM = "https://fhir.kemkes.go.id/id/ihs-number"
_NIK = re.compile(r"^\d{16}$")


def nik_problem(nik: str | None) -> str | None:
    """None for a NIK SATUSEHAT can search by; else the problem code: ``no_nik`` or ``nik_not_16_digits``."""
    if not nik or not nik.strip():
        return "no_nik"
    return None if _NIK.match(nik.strip()) else "nik_not_16_digits"


def mother_nik(birth: date | None, women: list[tuple[str | None, date | None, date | None]]) -> str | None:
    """The NIK of a baby's mother among the family's women, (NIK, birth date, delivered on): the one whose
    delivery is the baby's birth date, else the only woman of 15 to 55 years at the birth with a valid NIK;
    None when that is not exactly one (a nik-ibu search is never guessed)."""
    if birth is None:
        return None
    valid = [(nik.strip(), born, delivered) for nik, born, delivered in women if nik and nik_problem(nik) is None]
    by_delivery = [nik for nik, _born, delivered in valid if delivered == birth]
    if len(by_delivery) == 1:
        return by_delivery[0]
    of_age = [nik for nik, born, _d in valid if born is not None and 15 <= (birth.year - born.year) <= 55]
    return of_age[0] if len(of_age) == 1 else None


def search_params(nik: str | None = None, *, mother_nik: str | None = None) -> dict[str, str]:
    """The query of the Patient search: by the person's NIK, else by the mother's (nik-ibu)."""
    if nik and nik_problem(nik) is None:
        return {"identifier": f"{NIK_SYSTEM}|{nik.strip()}"}
    if mother_nik and nik_problem(mother_nik) is None:
        return {"identifier": f"{NIK_IBU_SYSTEM}|{mother_nik.strip()}"}
    raise ValueError("a Patient search needs a 16-digit NIK of the person or of the mother")


def ihs_number(bundle: dict[str, Any], *, birth_date: date | None = None) -> str | None:
    """The IHS number (the Patient id) of a searchset: its one Patient, or with ``birth_date`` the one
    Patient born that day (a mother's search lists her children); None when there is not exactly one."""
    patients = [e.get("resource") or {} for e in bundle.get("entry") or ()]
    patients = [p for p in patients if p.get("resourceType") == "Patient" and p.get("id")]
    if birth_date is not None:
        patients = [p for p in patients if p.get("birthDate") == birth_date.isoformat()]
    return patients[0]["id"] if len(patients) == 1 else None


def reference(*, ihs: str | None = None, nik: str | None = None, name: str | None = None) -> dict[str, Any]:
    """The Reference to a patient: ``Patient/<IHS number>`` when known, else the NIK identifier."""
    if ihs:
        ref: dict[str, Any] = {"reference": f"Patient/{ihs}"}
    elif nik and nik_problem(nik) is None:
        ref = {"identifier": {"system": NIK_SYSTEM, "value": nik.strip()}}
    else:
        raise ValueError("a patient reference needs the IHS number or a 16-digit NIK")
    if name:
        ref["display"] = name
    return ref
