"""First contact: greeting, consent (what is stored, why, who sees it), then language."""
from __future__ import annotations

from db.models import ConsentRecord
from content.i18n import _, set_language
from handlers.flow import END, Answer, Ctx, Flow, Goto, Invalid, Next, Question, Step
from handlers.language import LANGUAGE_NAMES, language_choices

CONSENT_VERSION = "2026-11"


async def ask_consent(ctx: Ctx) -> Question:
    others = [code for code in ctx.settings.locale.available if code != ctx.identity.language]
    return Question(
        _(
            "Halo! Saya asisten posyandu ILP dari puskesmas Anda.\n\n"
            "Agar bisa mengingatkan jadwal posyandu dan imunisasi, saya perlu menyimpan: nama, "
            "jenis kelamin, tanggal lahir dan kehamilan anggota keluarga, desa/dusun, dan nomor chat ini.\n"
            "Yang bisa melihat: kader posyandu dan petugas puskesmas wilayah Anda saja. "
            "Anda bisa berhenti (/berhenti) atau menghapus semua data (/hapus) kapan saja.\n\n"
            "Apakah Anda setuju?"
        ),
        (
            (_("Ya, saya setuju"), "yes"),
            (_("Tidak"), "no"),
            *((LANGUAGE_NAMES[code], f"lang_{code}") for code in others),
        ),
    )


async def on_consent(ctx: Ctx, answer: Answer) -> Next:
    """Stores the consent decision (or switches the text's language); asks the language next."""
    if answer.choice and answer.choice.startswith("lang_"):
        code = answer.choice[5:]
        if code not in LANGUAGE_NAMES or code not in ctx.settings.locale.available:
            raise Invalid(_("Mohon pilih: Ya, saya setuju, atau Tidak."))
        ctx.identity.language = code
        set_language(code)
        return "consent"
    if answer.choice not in ("yes", "no"):
        raise Invalid(_("Mohon pilih: Ya, saya setuju, atau Tidak."))
    decision = "given" if answer.choice == "yes" else "refused"
    ctx.identity.consent = decision
    ctx.identity.consent_version = CONSENT_VERSION
    ctx.identity.consent_at = ctx.now
    ctx.session.add(
        ConsentRecord(
            identity_id=ctx.identity.id, decision=decision, version=CONSENT_VERSION,
            language=ctx.identity.language, at=ctx.now,
        )
    )
    if decision == "refused":
        ctx.note(_("Baik. Kami tidak menyimpan data apa pun selain penolakan ini. Ketik /start kapan saja jika berubah pikiran."))
        return END
    return "language"


async def ask_language(ctx: Ctx) -> Question:
    return Question(_("Terima kasih! Pilih bahasa:"), language_choices(ctx.settings.locale.available))


async def on_language(ctx: Ctx, answer: Answer) -> Next:
    """Stores the language; registers the family next (or the menu if it is registered)."""
    if answer.choice not in LANGUAGE_NAMES or answer.choice not in ctx.settings.locale.available:
        raise Invalid(_("Mohon pilih salah satu bahasa."))
    ctx.identity.language = answer.choice
    set_language(answer.choice)
    if ctx.identity.family_id is not None:
        return END
    return Goto("register")


START = Flow(
    name="start",
    first="consent",
    steps={
        "consent": Step(ask_consent, on_consent),
        "language": Step(ask_language, on_language),
    },
)
