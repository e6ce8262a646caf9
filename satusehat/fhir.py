"""What every resource shares: the identifier systems, UTC times, the R4B validation.

Business identifiers: ``http://sys-ids.kemkes.go.id/<resource>/{organization id}`` (SATUSEHAT's resource
pages), the value a stable local id (``ilpbot-visit-12``), so that sending a resource again updates it.
Times are sent in UTC (``2024-03-05T02:10:00+00:00``); dates alone stay dates.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

SYS_IDS = "http://sys-ids.kemkes.go.id"
ORG_SYSTEM_OF = {"Encounter": "encounter", "Observation": "observation", "Immunization": "immunization"}
LOCAL_PREFIX = "ilpbot"
#: uuid5 namespace of the bundle entries' fullUrl (stable: the same resource has the same urn each export)
ENTRY_NAMESPACE = uuid.UUID("5b0d3a8e-5f0f-4e0a-9d8c-6a1f2c3b4d5e")
#: SATUSEHAT refuses dates before this day
EARLIEST = date(2014, 6, 3)


def identifier_system(resource_type: str, organization_id: str) -> str:
    """``http://sys-ids.kemkes.go.id/encounter/10000004`` for an Encounter of organization 10000004."""
    return f"{SYS_IDS}/{ORG_SYSTEM_OF[resource_type]}/{organization_id}"


def local_id(kind: str, row_id: int) -> str:
    """The stable local id of a row: ``ilpbot-visit-12``."""
    return f"{LOCAL_PREFIX}-{kind}-{row_id}"


def identifier(resource_type: str, organization_id: str, value: str) -> list[dict[str, str]]:
    return [{"system": identifier_system(resource_type, organization_id), "use": "official", "value": value}]


def utc(moment: datetime) -> str:
    """An aware datetime as SATUSEHAT wants it: UTC, whole seconds, ``+00:00``."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no zone")
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def entry_urn(resource_type: str, value: str) -> str:
    """The fullUrl of a resource in a bundle: a uuid derived from its business identifier."""
    return f"urn:uuid:{uuid.uuid5(ENTRY_NAMESPACE, f'{resource_type}|{value}')}"


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """``resource`` parsed by its R4B model (a ValidationError when FHIR refuses it), as JSON again."""
    model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return model.model_dump(mode="json", exclude_none=True)


def coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out
