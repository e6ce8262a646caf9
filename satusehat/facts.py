"""The plain data the resource builders take: what the database holds about a visit, a measurement and a
dose, with the settings they need (organization, Location ids). Read from rows by :mod:`satusehat.export`;
built directly in tests.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Site:
    """Where the data goes: the organization the credentials belong to and each posyandu's Location id."""

    organization_id: str
    locations: dict[str, str] = field(default_factory=dict)  # posyandu code -> Location id

    def location_of(self, posyandu_code: str) -> str | None:
        return self.locations.get(posyandu_code) or None


@dataclass(frozen=True, slots=True)
class PersonFacts:
    id: int
    name: str
    sex: str  # "M" | "F"
    birth_date: date | None
    nik: str | None


@dataclass(frozen=True, slots=True)
class VisitFacts:
    id: int
    person_id: int
    posyandu_code: str
    posyandu_name: str
    visited_on: date
    place: str  # posyandu | home
    created_at: datetime  # UTC, aware
    zone: str  # the puskesmas's time zone


@dataclass(frozen=True, slots=True)
class MeasureFacts:
    id: int
    visit_id: int
    kind: str
    value: float | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class DoseFacts:
    id: int
    person_id: int
    code: str
    done_on: date
    precision: str  # day | month | unknown
    source: str  # family | kader | staff | import
    visit_id: int | None
    created_at: datetime
    detail: dict[str, Any] | None = None
    #: the day of the visit it was recorded at (None: no visit, or not read)
    visited_on: date | None = None
