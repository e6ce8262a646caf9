"""``/sasaran``: a kader's planned home-visit list for their posyandu, grouped by dusun and RT.

Each person on it is listed with why. The list and its rule are ``reminders.targets`` (the puskesmas
web shows the same list): :func:`target_lines` words it for the chat, :func:`reason_text` says each
reason. Long lists are paged; each view is audited.
"""
from __future__ import annotations

from datetime import date

from care.labels import DOSE_LABELS, SERVICE_LABELS
from content.i18n import N_, _, format_date
from db.models import Posyandu
from db.referrals import reason_label
from handlers.flow import END, KADER, Answer, Ctx, Flow, Invalid, Next, Question, Step
from handlers.kader import audit
from reminders.rules import policy_from
from reminders.targets import (  # the rule and its names live with the list (reminders.targets)
    BIRTH as BIRTH,
    DUE,
    GAIN,
    LATE,
    MISSED,
    OVERDUE,
    REFERRAL,
    REFERRAL_NOT_FOUND,
    REFERRED,
    UNWEIGHED,
    Facts as Facts,
    Reason,
    reasons as reasons,
    targets_of,
    tier as tier,
)

PAGE = 12
HOME_MARK = "\U0001f3e0"


def _short(day: date, today: date) -> str:
    return format_date(day, "d MMM" if day.year == today.year else "d MMM y")


def reason_text(reason: Reason, today: date) -> str:
    """A reason in words for the kader."""
    kind = reason.kind
    if kind == MISSED:
        return _("tidak datang ke posyandu {date}", date=_short(reason.on, today))
    if kind == REFERRAL:
        return _("dirujuk karena {reason} sejak {date}, belum ada kabar", date=_short(reason.on, today), reason=reason_label(reason.subject))
    if kind == REFERRAL_NOT_FOUND:
        return _("dirujuk karena {reason} sejak {date}, tidak ditemukan", date=_short(reason.on, today), reason=reason_label(reason.subject))
    if kind == REFERRED:
        return _("dirujuk karena {reason} sejak {date}", date=_short(reason.on, today), reason=reason_label(reason.subject))
    if kind in (OVERDUE, LATE, DUE):
        code = reason.subject
        label = _(DOSE_LABELS[code]) if code in DOSE_LABELS else _(SERVICE_LABELS.get(code, code))
        return label + (" \u2013 " + _("terlambat") if kind != DUE else "")
    if kind == UNWEIGHED:
        return _("belum ditimbang bulan ini")
    if kind == GAIN:
        return _("{code} bulan lalu", code=reason.subject)
    return _("perkiraan lahir {date}", date=format_date(reason.on, "d MMM"))


async def enter(ctx: Ctx) -> Next:
    """Only a kader has a target list (the engine lets only kaders in)."""
    audit(ctx, "targets.viewed", "posyandu", ctx.identity.posyandu_id)
    ctx.data["page"] = 0
    return "page"


def place_of(dusun: str | None, rt: str | None) -> str:
    """A dusun and RT in words (a group of the list)."""
    return _("{dusun}, RT {rt}", dusun=dusun or "-", rt=rt or "-")


def reasons_text(found, today: date) -> str:
    """A person's reasons in words, most pressing first."""
    return "; ".join(reason_text(r, today) for r in found)


async def target_lines(ctx: Ctx) -> list[tuple[str, bool, str]]:
    """(dusun/RT, needs a home visit, line) for every member of the kader's posyandu with a reason
    (``reminders.targets.targets_of``: grouped by dusun and RT, the most pressing first)."""
    posyandu = await ctx.session.get(Posyandu, ctx.identity.posyandu_id)
    found = await targets_of(ctx.session, [posyandu], ctx.today, policy_from(ctx.settings), ctx.schedule)
    return [(place_of(t.dusun, t.rt), t.home, f"{t.name} ({t.family_code}): " + reasons_text(t.reasons, ctx.today))
            for t in found]


async def ask_page(ctx: Ctx) -> Question:
    lines = await target_lines(ctx)
    if not lines:
        return Question(_("Tidak ada sasaran yang perlu dikunjungi atau sudah waktunya bulan ini. Bagus!"), ((_("Selesai"), "done"),))
    pages = (len(lines) + PAGE - 1) // PAGE
    page = min(ctx.data.get("page", 0), pages - 1)
    visits = sum(1 for _g, home, _l in lines if home)
    text = [_("Rencana kunjungan rumah {month}: {count} orang, {visits} perlu dikunjungi ({mark}), halaman {page} dari {pages}:",
              month=format_date(ctx.today, "MMMM y"), count=len(lines), visits=visits, mark=HOME_MARK,
              page=page + 1, pages=pages)]
    group = None
    for g, home, line in lines[page * PAGE:(page + 1) * PAGE]:
        if g != group:
            text.append("")
            text.append(f"[{g}]")
            group = g
        text.append((HOME_MARK if home else "\u2022") + " " + line)
    choices = []
    if page > 0:
        choices.append((_("Sebelumnya"), "prev"))
    if page + 1 < pages:
        choices.append((_("Berikutnya"), "next"))
    choices.append((_("Selesai"), "done"))
    return Question("\n".join(text), tuple(choices))


async def on_page(ctx: Ctx, answer: Answer) -> Next:
    """Stores the page to show; shows it next (or ends)."""
    if answer.choice == "done":
        return END
    if answer.choice not in ("next", "prev"):
        raise Invalid(_("Pilih Berikutnya, Sebelumnya, atau Selesai."))
    ctx.data["page"] = max(0, ctx.data.get("page", 0) + (1 if answer.choice == "next" else -1))
    return "page"


TARGETS = Flow(name="targets", first="page", enter=enter, steps={"page": Step(ask_page, on_page)},
               commands=("sasaran", "targets"), roles=KADER, refusal=N_("Daftar sasaran hanya untuk kader."), home=("page",),
               menu_label=N_("Sasaran bulan ini"), help_line=N_("Sasaran kunjungan rumah"))
