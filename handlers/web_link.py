"""``/web``: a staff member gets a one-time link to the puskesmas web (valid 10 minutes, used once;
db.web_auth), opened in a browser on a laptop or a phone. Staff only; the link is audited, its token
is not (only its hash is stored)."""
from __future__ import annotations

from content.i18n import N_, _, n_
from db.web_auth import LINK_VALID, create_link, sign_in_url
from handlers.flow import END, STAFF, Ctx, Flow, Next
from handlers.kader import audit
from handlers.staff import STAFF_REFUSAL


async def enter(ctx: Ctx) -> Next:
    """Makes the link and tells it; the person is back at the menu."""
    token = await create_link(ctx.session, puskesmas_id=ctx.identity.puskesmas_id, identity_id=ctx.identity.id, now=ctx.now)
    audit(ctx, "web.link_created", "puskesmas", ctx.identity.puskesmas_id)
    minutes = int(LINK_VALID.total_seconds() // 60)
    ctx.note(n_("Buka tautan ini untuk masuk ke web puskesmas (berlaku {n} menit, sekali pakai):\n{url}",
                "Buka tautan ini untuk masuk ke web puskesmas (berlaku {n} menit, sekali pakai):\n{url}",
                minutes, url=sign_in_url(ctx.settings.web.base_url, token))
             + "\n" + _("Jangan teruskan tautan ini kepada orang lain."))
    return END


WEB = Flow(name="web", first="start", enter=enter, steps={}, commands=("web",), roles=STAFF, refusal=STAFF_REFUSAL,
           help_line=N_("Tautan masuk ke web puskesmas"))
