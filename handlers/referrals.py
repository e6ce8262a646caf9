"""Referrals: a flag found at a visit (or a birth) sends a person to the puskesmas, the family is
told where to go and why in plain words, and the referral stays open until its outcome is recorded.

:func:`open_referrals` is called by the flows that find a flag (``handlers.visit``, ``handlers.birth``).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from content.i18n import N_, _, use_locale
from db.models import Family, Identity, Outbox, Person, Posyandu, Puskesmas, Referral
from handlers.flow import Ctx, Flow
from handlers.kader import audit
from reminders.planner import zone_of

#: A referral still open after this many days goes on the kader's home-visit list.
FOLLOW_UP_DAYS = 7
#: How long the family's notice may wait in the outbox (quiet hours, a full queue).
NOTICE_DAYS = 3

#: reason -> (short label for kaders and staff, plain words for the family)
REASONS: dict[str, tuple[str, str]] = {
    "stunting": (N_("Stunting (pendek)"), N_("tinggi badannya kurang untuk umurnya (pendek)")),
    "wasting": (N_("Gizi kurang/buruk (wasting)"), N_("berat badannya kurang untuk tinggi badannya (gizi kurang)")),
    "underweight": (N_("Berat badan kurang"), N_("berat badannya kurang untuk umurnya")),
    "2T": (N_("2T (tidak naik dua kali)"), N_("berat badannya tidak naik dua bulan berturut-turut")),
    "kek": (N_("KEK (LILA < 23,5 cm)"), N_("lingkar lengan atasnya kecil, tanda kurang energi kronis (KEK)")),
    "hypertension": (N_("Tekanan darah tinggi"), N_("tekanan darahnya tinggi")),
    "skilas": (N_("SKILAS positif"), N_("ada hasil skrining lansia yang perlu diperiksa lebih lanjut")),
    "danger": (N_("Tanda bahaya"), N_("ada tanda bahaya yang perlu segera diperiksa")),
    "lbw": (N_("BBLR (berat lahir < 2.500 g)"), N_("berat lahirnya di bawah 2.500 gram (BBLR)")),
}
#: Reasons that cannot wait a week.
URGENT = frozenset({"danger"})

OPEN = "open"
OUTCOMES = ("came", "treated", "referred_on", "not_found")
#: Outcomes after which the referral needs nothing more (not_found still needs the kader).
CLOSED = frozenset({"came", "treated", "referred_on"})


def reason_label(reason: str) -> str:
    """The short label of a reason, translated."""
    return _(REASONS[reason][0]) if reason in REASONS else reason


async def open_referrals(ctx: Ctx, person: Person, reasons: Iterable[tuple[str, Mapping[str, Any] | None]], *,
                         visit_id: int | None = None) -> tuple[list[Referral], int]:
    """Opens a referral for each reason not already open for the person, and tells the family.

    Returns (the new referrals, how many family chats were told). A reason already open is not
    opened twice: the family was told then, and the kader follows it up.
    """
    family = await ctx.session.get(Family, person.family_id)
    open_now = set(await ctx.session.scalars(
        select(Referral.reason).where(Referral.person_id == person.id, Referral.status.in_((OPEN, "not_found")))))
    new: list[Referral] = []
    for reason, detail in reasons:
        if reason not in REASONS:
            raise ValueError(f"{reason}: not a referral reason")
        if reason in open_now:
            continue
        open_now.add(reason)
        referral = Referral(person_id=person.id, posyandu_id=family.posyandu_id, visit_id=visit_id, reason=reason,
                            detail=dict(detail) if detail else None, status=OPEN, opened_on=ctx.today,
                            created_by=ctx.identity.id, created_at=ctx.now)
        ctx.session.add(referral)
        new.append(referral)
    if not new:
        return [], 0
    await ctx.session.flush()
    for referral in new:
        audit(ctx, "referral.opened", "referral", referral.id, person=person.id, reason=referral.reason)
    told = await _tell_family(ctx, person, family, new)
    return new, told


def family_notice(person: Person, puskesmas: Puskesmas, referrals: list[Referral]) -> str:
    """The family's message, in the current language: who, where, why, and how soon."""
    why = "; ".join(_(REASONS[r.reason][1]) for r in referrals)
    if any(r.reason in URGENT for r in referrals):
        when = _("Mohon segera, hari ini juga.")
    else:
        when = _("Mohon datang dalam {days} hari.", days=FOLLOW_UP_DAYS)
    return _(
        "Hasil pemeriksaan {name} di posyandu: {why}.\n"
        "{name} perlu diperiksa di {puskesmas}. {when} Bawa Buku KIA. Kader posyandu akan menanyakan kabarnya.",
        name=person.name, why=why, puskesmas=puskesmas.name, when=when,
    )


async def _tell_family(ctx: Ctx, person: Person, family: Family, referrals: list[Referral]) -> int:
    """Queues the notice for each chat of the family that consented and can be reached; returns how many."""
    posyandu = await ctx.session.get(Posyandu, family.posyandu_id)
    puskesmas = await ctx.session.get(Puskesmas, posyandu.puskesmas_id)
    zone = zone_of(ctx.settings, puskesmas.code, puskesmas.timezone)
    rows = (await ctx.session.execute(select(Identity.id, Identity.channel, Identity.address, Identity.language).where(
        Identity.family_id == family.id, Identity.consent == "given", Identity.opted_out_at.is_(None),
        Identity.unreachable_at.is_(None), Identity.id != ctx.identity.id))).all()
    first = referrals[0].id
    for identity_id, channel, address, lang in rows:
        with use_locale(lang):
            text = family_notice(person, puskesmas, referrals)
        ctx.session.add(Outbox(
            key=f"referral:{first}:{identity_id}", identity_id=identity_id, channel=channel, address=address,
            kind="referral", body={"text": text, "lang": lang}, timezone=zone, state="pending", not_before=ctx.now,
            expires_at=ctx.now + timedelta(days=NOTICE_DAYS), attempts=0, created_at=ctx.now,
        ))
    return len(rows)


async def _enter(ctx: Ctx):
    """Scaffolding: the /rujukan steps are being written (issue [1/8])."""
    from handlers.flow import END

    ctx.note(_("Dibatalkan."))
    return END


REFERRALS = Flow(name="referrals", first="start", steps={}, enter=_enter)
