"""Growth charts: after a child's visit (kader) or with ``/grafik`` (family), a PNG of weight-for-age
and length/height-for-age against the WHO curves, with the child's own measurements."""
from __future__ import annotations

from sqlalchemy import select

from care.stages import age_months
from content.i18n import N_, _, current_language
from db.models import Measurement, Person, Visit
from db.queries import family_members
from handlers.flow import END, Answer, Ctx, Flow, Invalid, Next, Question, Step
from handlers.growth_chart import render_growth_chart

CHART_MONTHS = 60


async def chart_points(ctx: Ctx, person_id: int) -> list[tuple]:
    """(date, weight kg, length cm) of every visit of a child that measured either."""
    rows = await ctx.session.execute(
        select(Visit.visited_on, Measurement.kind, Measurement.value).join(Measurement, Measurement.visit_id == Visit.id)
        .where(Visit.person_id == person_id, Measurement.kind.in_(("weight_kg", "length_cm"))).order_by(Visit.visited_on)
    )
    by_day: dict = {}
    for day, kind, value in rows.all():
        weight, length = by_day.get(day, (None, None))
        by_day[day] = (value, length) if kind == "weight_kg" else (weight, value)
    return [(day, w, l) for day, (w, l) in sorted(by_day.items())]


async def say_chart(ctx: Ctx, person: Person) -> None:
    """Queues the child's chart as an image message (or says there is nothing to draw yet)."""
    points = await chart_points(ctx, person.id)
    if not points:
        ctx.note(_("Belum ada penimbangan atau pengukuran untuk {name}.", name=person.name))
        return
    png = render_growth_chart(1 if person.sex == "M" else 2, person.birth_date, points,
                              name=person.name, lang=current_language(), today=ctx.today)
    ctx.say(_("Grafik pertumbuhan {name}", name=person.name), image=png)


def _children(members: list[Person], ctx: Ctx) -> list[Person]:
    return [m for m in members if m.birth_date and 0 <= age_months(m.birth_date, ctx.today) < CHART_MONTHS]


async def enter(ctx: Ctx) -> Next:
    """A family with one young child sees the chart at once; with several, picks one."""
    children = _children(await family_members(ctx.session, ctx.identity.family_id), ctx)
    if not children:
        ctx.note(_("Grafik pertumbuhan tersedia untuk anak di bawah 5 tahun."))
        return END
    if len(children) == 1:
        await say_chart(ctx, children[0])
        return END
    return "child"


async def ask_child(ctx: Ctx) -> Question:
    children = _children(await family_members(ctx.session, ctx.identity.family_id), ctx)
    return Question(_("Grafik anak yang mana?"), tuple((c.name, str(c.id)) for c in children))


async def on_child(ctx: Ctx, answer: Answer) -> Next:
    """Shows the chosen child's chart; ends."""
    children = {c.id: c for c in _children(await family_members(ctx.session, ctx.identity.family_id), ctx)}
    if not (answer.choice and answer.choice.isdecimal() and int(answer.choice) in children):
        raise Invalid(_("Pilih nama anak dari daftar."))
    await say_chart(ctx, children[int(answer.choice)])
    return END


CHART = Flow(name="chart", first="child", enter=enter, needs_family=True, steps={"child": Step(ask_child, on_child)},
             commands=("grafik", "chart"), home=("child",), help_line=N_("Grafik pertumbuhan anak"))
