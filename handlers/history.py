"""Entering what was done before (the Buku KIA history): doses and services with a date, a month, or
"done, date not remembered" (care.history). Scaffolding: the steps are being written (issue [1/8])."""
from __future__ import annotations

from content.i18n import _
from handlers.flow import END, Ctx, Flow, Next


async def enter(ctx: Ctx) -> Next:
    """Not open yet."""
    ctx.note(_("Dibatalkan."))
    return END


HISTORY = Flow(name="history", first="start", steps={}, enter=enter, needs_family=True)
