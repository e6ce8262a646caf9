"""The day it is now at a puskesmas (its time zone: the configuration's override, else the stored one), by
the app's clock: what ``ctx.today`` is in the chat, for the work pages."""
from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from config import zone_of
from db.models import Puskesmas
from web.context import CLOCK, SETTINGS, Staff


async def puskesmas_zone(request: web.Request, session: AsyncSession, puskesmas_id: int) -> ZoneInfo:
    puskesmas = await session.get(Puskesmas, puskesmas_id)
    return ZoneInfo(zone_of(request.app[SETTINGS], puskesmas.code, puskesmas.timezone))


async def local_today(request: web.Request, session: AsyncSession, puskesmas_id: int) -> date:
    """Today at the puskesmas."""
    return request.app[CLOCK]().astimezone(await puskesmas_zone(request, session, puskesmas_id)).date()


async def staff_today(request: web.Request, session: AsyncSession, staff: Staff) -> date:
    """Today at the staff member's puskesmas: by the code and zone read with the session (no query), else
    :func:`local_today`."""
    if staff.puskesmas_code is None or staff.timezone is None:
        return await local_today(request, session, staff.puskesmas_id)
    zone = ZoneInfo(zone_of(request.app[SETTINGS], staff.puskesmas_code, staff.timezone))
    return request.app[CLOCK]().astimezone(zone).date()
