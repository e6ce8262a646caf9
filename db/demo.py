"""Loads ``content/demo.yaml`` (puskesmas and posyandu) into an empty database."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import func, select

from content import CONTENT_DIR
from content.regions import region_name
from db.database import Database
from db.models import Posyandu, Puskesmas

DEMO_FILE = CONTENT_DIR / "demo.yaml"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _check_day(day: dict, where: str) -> dict:
    """A posyandu day rule, checked: ``{monthly_day: 1-28}`` or ``{nth, weekday}``."""
    if set(day) == {"monthly_day"} and 1 <= int(day["monthly_day"]) <= 28:
        return {"monthly_day": int(day["monthly_day"])}
    if set(day) == {"nth", "weekday"} and int(day["nth"]) in (1, 2, 3, 4, -1) and day["weekday"] in WEEKDAYS:
        return {"nth": int(day["nth"]), "weekday": day["weekday"]}
    raise ValueError(f"{where}: day must be {{monthly_day: 1-28}} or {{nth: 1-4|-1, weekday: monday..sunday}}")


async def load_demo(db: Database, path: Path = DEMO_FILE, *, only_if_empty: bool = True) -> int:
    """Inserts the demo puskesmas and posyandu; returns how many posyandu were added."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    now = datetime.now(UTC)
    added = 0
    async with db.write() as session:
        if only_if_empty and await session.scalar(select(func.count()).select_from(Puskesmas)):
            return 0
        for pk in data["puskesmas"]:
            ZoneInfo(pk["timezone"])
            puskesmas = Puskesmas(
                code=pk["code"], name=pk["name"], district_code=pk["district"],
                district_name=region_name(pk["district"]), timezone=pk["timezone"], created_at=now,
            )
            session.add(puskesmas)
            await session.flush()
            for py in pk["posyandu"]:
                session.add(
                    Posyandu(
                        puskesmas_id=puskesmas.id, code=py["code"], name=py["name"],
                        village_code=py["village"], village_name=region_name(py["village"]),
                        schedule=_check_day(py["day"], f"{pk['code']}/{py['code']}"), created_at=now,
                    )
                )
                added += 1
    return added
