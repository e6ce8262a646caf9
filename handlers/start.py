"""First contact: greeting and the family consent (what is stored, why, who sees it), then the language
only when it is not known yet; then the family's registration, or the family a ``/gabung`` code named.

The language is known, and not asked after the consent, when the person picked one on the consent screen,
reads the bot in another language than the default (their client's language, :func:`hinted_language`, or an
earlier ``/bahasa``), or already uses the bot as a kader or staff member.

A kader or staff member consented to their role at their join (``handlers.kader``); the family consent is
asked of them before they register a family of their own (:func:`family_consent_first`) or link to one
(``/gabung``). Saying no to it leaves their role as it is.
"""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from content.i18n import LANGUAGES, _
from db.models import ConsentRecord, Family
from handlers.flow import END, Answer, Ctx, Flow, Goto, Invalid, Next, Question, Step
from handlers.kader import has_family_consent
from handlers.link import start_link
from handlers.language import language_choices, switch_language

#: The version of the family consent text (a kader's or staff member's role consent: handlers.kader);
#: 2026-12: visit data goes to SATUSEHAT as the law requires.
CONSENT_VERSION = "2026-12"
#: Client language codes that name a catalogue by another code ("in": Indonesian in older systems).
_HINT_ALIASES = {"in": "id"}


def hinted_language(hint: str | None, available: tuple[str, ...]) -> str | None:
    """The available language a client's language code names (``en-US`` -> ``en``, ``id`` -> ``id``), if any:
    the language of a new chat (Telegram's ``language_code``, ``Incoming.language_hint``)."""
    if not hint:
        return None
    code = hint.strip().lower().replace("_", "-").split("-")[0]
    code = _HINT_ALIASES.get(code, code)
    return code if code in available else None


async def ask_consent(ctx: Ctx) -> Question:
    others = [code for code in ctx.settings.locale.available if code != ctx.identity.language]
    return Question(
        _(
            "Halo, Bapak/Ibu! Saya asisten posyandu ILP dari puskesmas setempat.\n\n"
            "Agar bisa mengingatkan jadwal posyandu dan imunisasi, saya perlu menyimpan: nama, "
            "jenis kelamin, tanggal lahir dan kehamilan anggota keluarga, desa/dusun, dan nomor chat ini.\n"
            "Yang bisa melihat: kader posyandu dan petugas puskesmas wilayah Bapak/Ibu saja. "
            "Bapak/Ibu bisa berhenti (/berhenti) atau menghapus semua data (/hapus) kapan saja.\n\n"
            "Data kunjungan, pengukuran, dan imunisasi yang dicatat untuk keluarga Bapak/Ibu juga dikirim ke "
            "SATUSEHAT, platform data kesehatan Kementerian Kesehatan, sebagaimana diwajibkan peraturan.\n\n"
            "Apakah Bapak/Ibu setuju?"
        ),
        (
            (_("Ya, saya setuju"), "yes"),
            (_("Tidak"), "no"),
            *((LANGUAGES[code], f"lang_{code}") for code in others),
        ),
    )


async def on_consent(ctx: Ctx, answer: Answer) -> Next:
    """Stores the family consent decision (or switches the text's language); asks the language next when it
    is not known yet, else goes on (:func:`after_consent`)."""
    if answer.choice and answer.choice.startswith("lang_"):
        code = answer.choice[5:]
        if code not in LANGUAGES or code not in ctx.settings.locale.available:
            raise Invalid(_("Mohon pilih: Ya, saya setuju, atau Tidak."))
        switch_language(ctx, code)
        ctx.data["language_chosen"] = True
        return "consent"
    if answer.choice not in ("yes", "no"):
        raise Invalid(_("Mohon pilih: Ya, saya setuju, atau Tidak."))
    decision = "given" if answer.choice == "yes" else "refused"
    in_role = ctx.identity.consent == "given"  # a kader or staff member (their role's consent) asked for a family
    ctx.session.add(
        ConsentRecord(
            identity_id=ctx.identity.id, decision=decision, version=CONSENT_VERSION,
            language=ctx.identity.language, at=ctx.now,
        )
    )
    if decision == "refused":
        if in_role:
            ctx.note(_("Baik. Tidak ada data keluarga yang disimpan; peran Bapak/Ibu tetap seperti sebelumnya."))
        else:
            ctx.identity.consent, ctx.identity.consent_version, ctx.identity.consent_at = decision, CONSENT_VERSION, ctx.now
            ctx.note(_("Baik. Kami tidak menyimpan data apa pun selain penolakan ini. Ketik /start kapan saja jika berubah pikiran."))
        return END
    ctx.identity.consent, ctx.identity.consent_version, ctx.identity.consent_at = decision, CONSENT_VERSION, ctx.now
    if in_role or ctx.data.get("language_chosen") or ctx.identity.language != ctx.settings.locale.default:
        ctx.note(_("Terima kasih! Bahasa bisa diganti kapan saja dengan /bahasa."))
        return await after_consent(ctx)
    return "language"


async def ask_language(ctx: Ctx) -> Question:
    return Question(_("Terima kasih! Pilih bahasa:"), language_choices(ctx.settings.locale.available))


async def on_language(ctx: Ctx, answer: Answer) -> Next:
    """Stores the language; goes on (:func:`after_consent`)."""
    if answer.choice not in LANGUAGES or answer.choice not in ctx.settings.locale.available:
        raise Invalid(_("Mohon pilih salah satu bahasa."))
    switch_language(ctx, answer.choice)
    return await after_consent(ctx)


async def after_consent(ctx: Ctx) -> Next:
    """After the family consent: the family a ``/gabung`` code named is asked for the link, or linked by the
    recorded phone (``handlers.link.start_link``; the menu next), a linked chat goes to the menu, anyone else
    registers their family."""
    code = ctx.data.get("family_code")
    if code and ctx.identity.family_id is None:
        family = (await ctx.session.scalars(select(Family).where(Family.code == code))).one_or_none()
        if family is not None:
            return await start_link(ctx, family)
        ctx.note(_("Kode keluarga itu tidak ditemukan. Periksa kode dari kader, misalnya: /gabung {code}", code="K-7QX2MA4KPZ"))
        return END
    if ctx.identity.family_id is not None:
        return END
    return Goto("register")


def family_consent_first(flow: Flow) -> Flow:
    """``flow`` (registering one's own family) asking the family consent first of a person who consented
    only to a role (a kader or staff member); the flow starts after a yes."""
    entered = flow.enter

    async def enter(ctx: Ctx) -> Next:
        if not has_family_consent(ctx.identity):
            ctx.note(_("Sebelum mendaftarkan keluarga Bapak/Ibu sendiri, saya perlu persetujuan untuk data keluarga."))
            return Goto("start")
        return await entered(ctx) if entered is not None else flow.first

    return replace(flow, enter=enter)


START = Flow(
    name="start",
    first="consent",
    steps={
        "consent": Step(ask_consent, on_consent),
        "language": Step(ask_language, on_language),
    },
)
