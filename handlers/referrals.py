"""Referrals: a flag found at a visit (or a birth) sends a person to the puskesmas, the family is
told where to go and why in plain words, and the referral stays open until its outcome is recorded.

:func:`open_referrals` is called by the flows that find a flag (``handlers.visit``, ``handlers.birth``);
``detail`` holds the values behind the flag, named as a visit names them (``weight_kg``, ``length_cm``
with ``measured`` "l"/"h", ``muac_cm``, ``sbp``/``dbp``, the z-scores ``wfa``/``lhfa``/``wflh``/``bfa``,
``birth_weight_g``, ``weeks``); :func:`detail_text` puts them into words.

``/rujukan`` (:data:`REFERRALS`) is the follow-up: puskesmas staff see the open referrals of their
puskesmas's posyandu, a kader those of their own posyandu, oldest first; they pick one, see its
details and record what happened (came, treated, referred on, not found) with an optional note. A
referral "not found" stays open for the kader's home visits (``/sasaran``) until another outcome.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from care.stages import age_months, days_since_delivery, is_pregnant
from config import zone_of
from content.i18n import N_, _, format_date, format_number, n_, use_locale
from db.models import Family, Identity, Outbox, Person, Posyandu, Puskesmas, Referral
from db.referrals import (
    CLOSED as CLOSED,
    FOLLOW_UP_DAYS as FOLLOW_UP_DAYS,
    FOLLOWED,
    MAX_NOTE,
    NOT_FOUND,
    OPEN,
    OUTCOME_LABELS,
    OUTCOMES,
    REASONS,
    URGENT,
    NoteTooLong,
    clean_note,
    count_followed as count_in,
    days_open as days_open,
    followed,
    of_posyandu,
    of_puskesmas,
    one_in,
    reason_label,
    record_outcome,
)
from handlers.describe import age_text, sex_label
from handlers.flow import END, KADER, STAFF, Answer, Ctx, Flow, Invalid, Next, Question, Step
from handlers.kader import audit, is_kader
from handlers.parsing import normalize
from handlers.staff import is_staff

#: How long the family's notice may wait in the outbox (quiet hours, a full queue).
NOTICE_DAYS = 3

#: Referrals on one page of /rujukan (with the three page buttons, a WhatsApp list holds ten rows).
PAGE = 7
#: Reasons whose family keeps a Buku KIA (mother and child); the others bring their insurance card.
KIA_REASONS = frozenset({"stunting", "wasting", "underweight", "2T", "kek", "lbw"})
#: Children up to this age (months) and mothers up to this many days after a birth use the Buku KIA.
KIA_CHILD_MONTHS = 72
KIA_POSTPARTUM_DAYS = 42


async def open_referrals(ctx: Ctx, person: Person, reasons: Iterable[tuple[str, Mapping[str, Any] | None]], *,
                         visit_id: int | None = None) -> tuple[list[Referral], int]:
    """Opens a referral for each reason not already open for the person, and tells the family.

    Returns (the new referrals, how many family chats were told). A reason already open is not
    opened twice: the family was told then, and the kader follows it up.
    """
    family = await ctx.session.get(Family, person.family_id)
    open_now = set(await ctx.session.scalars(
        select(Referral.reason).where(Referral.person_id == person.id, Referral.status.in_(FOLLOWED))))
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


def uses_kia(person: Person, referrals: Iterable[Referral], today: date) -> bool:
    """Whether the family should bring the Buku KIA: a mother's or a child's referral."""
    if any(r.reason in KIA_REASONS for r in referrals):
        return True
    if person.birth_date is not None and age_months(person.birth_date, today) < KIA_CHILD_MONTHS:
        return True
    if is_pregnant(person.hpht, today, person.delivered_on):
        return True
    since = days_since_delivery(person.delivered_on, today)
    return since is not None and since <= KIA_POSTPARTUM_DAYS


def family_notice(person: Person, puskesmas: Puskesmas, referrals: list[Referral], today: date) -> str:
    """The family's message, in the current language: who, why, where, how soon, and what to bring."""
    why = "; ".join(_(REASONS[r.reason][1]) for r in referrals)
    if any(r.reason in URGENT for r in referrals):
        when = _("Mohon segera, hari ini juga.")
    else:
        when = _("Mohon datang dalam {days} hari.", days=FOLLOW_UP_DAYS)
    if uses_kia(person, referrals, today):
        bring = _("Bawa Buku KIA dan kartu BPJS Kesehatan/KIS bila ada.")
    else:
        bring = _("Bawa kartu BPJS Kesehatan/KIS bila ada.")
    return _(
        "Bapak/Ibu, dari pemeriksaan {name}: {why}.\n"
        "{name} perlu diperiksa lebih lanjut di {puskesmas}. {when} {bring}\n"
        "Kader posyandu akan menanyakan kabarnya. Terima kasih.",
        name=person.name, why=why, puskesmas=puskesmas.name, when=when, bring=bring,
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
            text = family_notice(person, puskesmas, referrals, ctx.today)
        ctx.session.add(Outbox(
            key=f"referral:{first}:{identity_id}", identity_id=identity_id, channel=channel, address=address,
            kind="referral", body={"text": text, "lang": lang}, timezone=zone, state="pending", not_before=ctx.now,
            expires_at=ctx.now + timedelta(days=NOTICE_DAYS), attempts=0, created_at=ctx.now,
        ))
    return len(rows)


# -- the values behind a referral ---------------------------------------------------------------------

def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def detail_text(detail: Mapping[str, Any] | None) -> str:
    """The values behind a referral in words, e.g. ``BB 8,2 kg · TB/U -3,12``; empty when there are none.

    Known keys are written as a visit writes them; any other key is shown as it is, so that nothing
    recorded is hidden from staff.
    """
    if not detail:
        return ""
    d = dict(detail)
    lying = d.pop("measured", None) == "l"
    parts: list[str] = []
    if (v := _number(d.pop("weight_kg", None))) is not None:
        parts.append(_("BB {value} kg", value=format_number(v, 2)))
    if (v := _number(d.pop("length_cm", None))) is not None:
        parts.append(_("PB {value} cm", value=format_number(v, 1)) if lying else _("TB {value} cm", value=format_number(v, 1)))
    if (v := _number(d.pop("height_cm", None))) is not None:
        parts.append(_("TB {value} cm", value=format_number(v, 1)))
    if (v := _number(d.pop("head_cm", None))) is not None:
        parts.append(_("LK {value} cm", value=format_number(v, 1)))
    if (v := _number(d.pop("muac_cm", None))) is not None:
        parts.append(_("LILA {value} cm", value=format_number(v, 1)))
    sbp, dbp = _number(d.pop("sbp", None)), _number(d.pop("dbp", None))
    if sbp is not None and dbp is not None:
        parts.append(_("TD {sbp}/{dbp}", sbp=int(sbp), dbp=int(dbp)))
    names = {"wfa": _("BB/U"), "lhfa": _("PB/U") if lying else _("TB/U"), "wflh": _("BB/PB") if lying else _("BB/TB"),
             "bfa": _("IMT/U")}
    for key, name in names.items():
        if (v := _number(d.pop(key, None))) is not None:
            parts.append(f"{name} {format_number(v, 2, fixed=True)}")
    if (v := _number(d.pop("birth_weight_g", None))) is not None:
        parts.append(_("berat lahir {grams} g", grams=format_number(v, 0)))
    if (v := _number(d.pop("weeks", None))) is not None:
        parts.append(n_("{n} minggu", "{n} minggu", int(v)))
    if seen := d.pop("seen", None):  # a danger sign, as the kader wrote it
        parts.append(str(seen))
    for key, value in d.items():
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, list | tuple):
            value = ", ".join(str(x) for x in value)
        elif (n := _number(value)) is not None:
            value = format_number(n, 2)
        parts.append(f"{key} {value}")
    return " \u00b7 ".join(parts)


# -- /rujukan: the follow-up ---------------------------------------------------------------------------

def _scope(ctx: Ctx):
    """The condition that keeps a referral in the person's area, or None when they have no area."""
    if is_staff(ctx):
        return of_puskesmas(ctx.identity.puskesmas_id)
    if is_kader(ctx):
        return of_posyandu(ctx.identity.posyandu_id)
    return None


async def count_followed(ctx: Ctx) -> int:
    """How many referrals are followed in the person's area."""
    where = _scope(ctx)
    return 0 if where is None else await count_in(ctx.session, where)


async def followed_page(ctx: Ctx, page: int) -> list[tuple[Referral, Person, Family, Posyandu]]:
    """The followed referrals of the area on ``page`` (from 0), oldest first."""
    where = _scope(ctx)
    return [] if where is None else await followed(ctx.session, where, offset=page * PAGE, limit=PAGE)


async def _one(ctx: Ctx, referral_id: Any, *, lock: bool = False) -> tuple[Referral, Person, Family, Posyandu] | None:
    """A referral of the area by id (whatever its status), or None: no hint that another exists."""
    where = _scope(ctx)
    return None if where is None else await one_in(ctx.session, where, referral_id, lock=lock)


def _place(family: Family) -> str:
    return _("{dusun}, RT {rt}", dusun=family.dusun or "-", rt=family.rt or "-")


def referral_line(ctx: Ctx, referral: Referral, person: Person, family: Family, posyandu: Posyandu) -> str:
    """One referral in the list: who, family code, dusun/RT, why, the values, days open."""
    why = reason_label(referral.reason)
    values = detail_text(referral.detail)
    if values:
        why = f"{why}: {values}"
    parts = [f"{person.name} ({family.code}), {_place(family)}", why, _("dirujuk {days} lalu", days=n_("{n} hari", "{n} hari", days_open(referral, ctx.today)))]
    if is_staff(ctx):
        parts.insert(1, posyandu.name)
    if referral.status == NOT_FOUND:
        parts.append(_("tidak ditemukan"))
    return " \u00b7 ".join(parts)


async def enter(ctx: Ctx) -> Next:
    """Staff and kaders (the engine lets only them in) go to their list."""
    if is_staff(ctx):
        audit(ctx, "referrals.viewed", "puskesmas", ctx.identity.puskesmas_id)
    else:
        audit(ctx, "referrals.viewed", "posyandu", ctx.identity.posyandu_id)
    ctx.data["page"] = 0
    return "start"


async def ask_list(ctx: Ctx) -> Question:
    count = await count_followed(ctx)
    if count == 0:
        return Question(_("Tidak ada rujukan yang perlu ditindaklanjuti."), ((_("Selesai"), "done"),))
    pages = (count + PAGE - 1) // PAGE
    page = min(max(0, ctx.data.get("page", 0)), pages - 1)
    rows = await followed_page(ctx, page)
    lines = [_("Rujukan yang belum selesai ({count}, terlama dulu), halaman {page} dari {pages}:",
               count=count, page=page + 1, pages=pages), ""]
    choices = []
    for n, row in enumerate(rows, 1):
        lines.append(f"{n}. " + referral_line(ctx, *row))
        choices.append((f"{n}. {row[1].name}"[:20], f"r{row[0].id}"))
    lines += ["", _("Pilih nomor untuk melihat dan mencatat hasilnya.")]
    if page > 0:
        choices.append((_("Sebelumnya"), "prev"))
    if page + 1 < pages:
        choices.append((_("Berikutnya"), "next"))
    choices.append((_("Selesai"), "done"))
    return Question("\n".join(lines), tuple(choices))


async def _named(ctx: Ctx, text: str) -> str:
    """The choice of the one referral on the page whose person's name holds the typed words ("putu")."""
    words = normalize(text).split()
    if not words or sum(len(w) for w in words) < 3:
        return ""
    pages = max(1, (await count_followed(ctx) + PAGE - 1) // PAGE)
    rows = await followed_page(ctx, min(max(0, ctx.data.get("page", 0)), pages - 1))
    found = {row[0].id for row in rows
             if all(any(part.startswith(w) for part in normalize(row[1].name).split()) for w in words)}
    return f"r{found.pop()}" if len(found) == 1 else ""


async def on_list(ctx: Ctx, answer: Answer) -> Next:
    """Stores the referral picked (or the page); shows its details next."""
    if answer.choice == "done":
        return END
    if answer.choice in ("next", "prev"):
        ctx.data["page"] = max(0, ctx.data.get("page", 0) + (1 if answer.choice == "next" else -1))
        return "start"
    choice = answer.choice or await _named(ctx, answer.text)
    found = await _one(ctx, int(choice[1:])) if choice[:1] == "r" and choice[1:].isdecimal() else None
    if found is None:
        raise Invalid(_("Pilih nomor rujukan dari daftar, atau Selesai."))
    if found[0].status not in FOLLOWED:
        ctx.note(_("Hasil rujukan {name} sudah dicatat: {outcome}.", name=found[1].name,
                   outcome=_(OUTCOME_LABELS[found[0].status])))
        return "start"
    ctx.data["referral"] = found[0].id
    return "detail"


async def ask_detail(ctx: Ctx) -> Question:
    found = await _one(ctx, ctx.data.get("referral"))
    if found is None or found[0].status not in FOLLOWED:
        return Question(_("Rujukan ini sudah tidak ada di daftar."), ((_("Kembali"), "back"),))
    referral, person, family, posyandu = found
    facts = [sex_label(person.sex)]
    if person.birth_date:
        facts.append(age_text(person.birth_date, ctx.today, person.birth_precision))
    lines = [
        f"{person.name} ({', '.join(facts)})",
        _("Keluarga {family} ({code}), {place}, {posyandu}", family=family.name, code=family.code, place=_place(family),
          posyandu=posyandu.name),
        _("Alasan: {reason}", reason=reason_label(referral.reason)),
    ]
    values = detail_text(referral.detail)
    if values:
        lines.append(_("Hasil pemeriksaan: {values}", values=values))
    lines.append(_("Dirujuk: {date} ({days} lalu)", date=format_date(referral.opened_on, "short"),
                   days=n_("{n} hari", "{n} hari", days_open(referral, ctx.today))))
    if referral.status == NOT_FOUND:
        lines.append(_("Kabar terakhir: tidak ditemukan") + (f" ({referral.outcome_note})" if referral.outcome_note else ""))
    lines += ["", _("Bagaimana hasilnya?")]
    choices = tuple((_(OUTCOME_LABELS[o]), o) for o in OUTCOMES) + ((_("Kembali"), "back"),)
    return Question("\n".join(lines), choices)


async def on_detail(ctx: Ctx, answer: Answer) -> Next:
    """Stores the outcome picked; asks for a note next (or goes back to the list)."""
    if answer.choice == "back":
        return "start"
    if answer.choice not in OUTCOMES:
        raise Invalid(_("Pilih Datang, Ditangani, Dirujuk lanjut atau Tidak ditemukan."))
    found = await _one(ctx, ctx.data.get("referral"))
    if found is None or found[0].status not in FOLLOWED:
        ctx.note(_("Rujukan ini sudah tidak ada di daftar."))
        return "start"
    ctx.data["outcome"] = answer.choice
    return "note"


async def ask_note(ctx: Ctx) -> Question:
    return Question(
        _("{outcome}. Tambahkan catatan singkat (paling banyak {max} huruf), misalnya tempat atau tindakannya, "
          "atau pilih Tanpa catatan.", outcome=_(OUTCOME_LABELS.get(ctx.data.get("outcome"), OUTCOME_LABELS["came"])),
          max=MAX_NOTE),
        ((_("Tanpa catatan"), "none"),),
    )


async def on_note(ctx: Ctx, answer: Answer) -> Next:
    """Records the outcome and the note on the referral (audited); back to the list."""
    if answer.choice == "none":
        note = None
    else:
        try:
            note = clean_note(answer.text)
        except NoteTooLong as exc:
            raise Invalid(_("Catatan terlalu panjang ({count} huruf, paling banyak {max}).", count=exc.count, max=MAX_NOTE)) from None
        if note is None:
            raise Invalid(_("Tulis catatan singkat, atau pilih Tanpa catatan."))
    outcome = ctx.data.get("outcome")
    found = await _one(ctx, ctx.data.get("referral"), lock=True)
    ctx.data.pop("referral", None)
    ctx.data.pop("outcome", None)
    if outcome not in OUTCOMES or found is None:
        ctx.note(_("Rujukan ini sudah tidak ada di daftar."))
        return "start"
    referral, person = found[0], found[1]
    if referral.status not in FOLLOWED:
        ctx.note(_("Hasil rujukan {name} sudah dicatat: {outcome}.", name=person.name, outcome=_(OUTCOME_LABELS[referral.status])))
        return "start"
    audit(ctx, "referral.outcome", "referral", referral.id, **record_outcome(referral, outcome, note, ctx.identity.id, ctx.now, ctx.today))
    ctx.note(_("Tersimpan: {name}, {reason}: {outcome}.", name=person.name, reason=reason_label(referral.reason),
               outcome=_(OUTCOME_LABELS[outcome])))
    if outcome == NOT_FOUND:
        ctx.note(_("Rujukan ini tetap ada di daftar kunjungan rumah kader (/sasaran)."))
    return "start"


REFERRALS = Flow(
    name="referrals",
    first="start",
    enter=enter,
    commands=("rujukan", "referrals", "referral"),
    roles=KADER | STAFF,
    refusal=N_("Daftar rujukan hanya untuk kader dan petugas puskesmas."),
    home=("start",),
    menu_label=N_("Rujukan"),
    help_line={"kader": N_("Rujukan yang perlu ditindaklanjuti"), "staff": N_("Rujukan di wilayah puskesmas")},
    steps={
        "start": Step(ask_list, on_list),
        "detail": Step(ask_detail, on_detail),
        "note": Step(ask_note, on_note),
    },
)
