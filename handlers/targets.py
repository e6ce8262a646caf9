"""``/sasaran``: a kader's list of who is due this month or late in their posyandu, grouped by
dusun and RT for planning home visits; long lists are paged."""
from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from sqlalchemy import select

from care.growth import GAIN_NOT_UP, GAIN_NOT_UP_TWICE, weight_gain_status
from care.schedule import DOSE_LABELS, SERVICE_LABELS
from care.stages import age_months
from content.i18n import _, format_date
from db.history import histories
from db.models import Family, Measurement, Person, Visit
from handlers.flow import END, Answer, Ctx, Flow, Invalid, Next, Question, Step
from handlers.kader import audit, is_kader
from reminders.planner import policy_from
from reminders.rules import member_items, member_of

PAGE = 12
NEAR_DUE_DAYS = 14


async def enter(ctx: Ctx) -> Next:
    """Only a kader has a target list."""
    if not is_kader(ctx):
        ctx.note(_("Daftar sasaran hanya untuk kader."))
        return END
    audit(ctx, "targets.viewed", "posyandu", ctx.identity.posyandu_id)
    ctx.data["page"] = 0
    return "page"


async def target_lines(ctx: Ctx) -> list[tuple[str, str]]:
    """(group, line) for every member with something due or late, sorted by dusun, RT and name."""
    today = ctx.today
    month_start = today.replace(day=1)
    families = {f.id: f for f in await ctx.session.scalars(
        select(Family).where(Family.posyandu_id == ctx.identity.posyandu_id, Family.registered_at.is_not(None)))}
    if not families:
        return []
    people = list(await ctx.session.scalars(select(Person).where(Person.family_id.in_(list(families))).order_by(Person.name)))
    ids = [p.id for p in people] or [0]
    records = await histories(ctx.session, [p.id for p in people])
    weights: dict[int, list] = defaultdict(list)
    for person_id, day, value in (await ctx.session.execute(
            select(Visit.person_id, Visit.visited_on, Measurement.value).join(Measurement, Measurement.visit_id == Visit.id)
            .where(Visit.person_id.in_(ids), Measurement.kind == "weight_kg").order_by(Visit.visited_on))).all():
        weights[person_id].append((day, value))
    policy = policy_from(ctx.settings)
    out = []
    for p in people:
        family = families[p.family_id]
        reasons = []
        member = member_of(p, records[p.id])
        for item in member_items(today, member, policy, ctx.schedule):
            code = item.subject.split(":")[0]
            label = _(DOSE_LABELS[code]) if item.kind == "dose" else _(SERVICE_LABELS.get(code, code))
            reasons.append(label + (" (" + _("terlambat") + ")" if item.overdue else ""))
        if p.birth_date and 0 <= age_months(p.birth_date, today) < 60:
            history = weights.get(p.id, [])
            if not any(day >= month_start for day, _v in history):
                reasons.append(_("belum ditimbang bulan ini"))
            last_month = month_start - timedelta(days=1)
            status = weight_gain_status(1 if p.sex == "M" else 2, p.birth_date, history, last_month) if history else None
            if status in (GAIN_NOT_UP, GAIN_NOT_UP_TWICE):
                reasons.append(_("{code} bulan lalu", code=status))
        if p.due_date and p.delivered_on is None and today <= p.due_date <= today + timedelta(days=NEAR_DUE_DAYS):
            reasons.append(_("perkiraan lahir {date}", date=format_date(p.due_date, "d MMM")))
        if reasons:
            group = _("{dusun}, RT {rt}", dusun=family.dusun or "-", rt=family.rt or "-")
            out.append((group, f"{p.name} ({family.code}): " + "; ".join(reasons)))
    return sorted(out)


async def ask_page(ctx: Ctx) -> Question:
    lines = await target_lines(ctx)
    if not lines:
        return Question(_("Tidak ada sasaran yang jatuh tempo bulan ini. Bagus!"), ((_("Selesai"), "done"),))
    pages = (len(lines) + PAGE - 1) // PAGE
    page = min(ctx.data.get("page", 0), pages - 1)
    text = [_("Sasaran {month} ({count} orang), halaman {page} dari {pages}:", month=format_date(ctx.today, "MMMM y"),
              count=len(lines), page=page + 1, pages=pages)]
    group = None
    for g, line in lines[page * PAGE:(page + 1) * PAGE]:
        if g != group:
            text.append("")
            text.append(f"[{g}]")
            group = g
        text.append("\u2022 " + line)
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


TARGETS = Flow(name="targets", first="page", enter=enter, steps={"page": Step(ask_page, on_page)})

