"""What is due for one member, in words: the items ``/jadwal`` shows as due now and coming
(``handlers.care_views``) and those *Tandai sudah* can mark as done (``handlers.history``)."""
from __future__ import annotations

from datetime import date

from care.history import PersonHistory
from care.immunization import child_summary
from care.labels import DOSE_LABELS, SERVICE_LABELS
from care.services import OVERDUE, UPCOMING, services_due
from care.stages import age_months
from content.i18n import _, format_date
from db.models import Person
from handlers.flow import Ctx

HORIZON_DAYS = 60
#: Children up to this age (months) have an immunisation card.
IMMUNIZATION_AGE_MONTHS = 71


def short_date(day: date, today: date) -> str:
    """``5 Des`` this year, ``5 Des 2027`` otherwise."""
    return format_date(day, "d MMM" if day.year == today.year else "d MMM y")


def due_items(ctx: Ctx, person: Person, history: PersonHistory) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """One member's items as (code, label, window): those due or late now (what *Tandai sudah* can
    mark as done), and those whose window opens within the horizon."""
    now: list[tuple[str, str, str]] = []
    soon: list[tuple[str, str, str]] = []
    horizon = ctx.today.toordinal() + HORIZON_DAYS
    if person.birth_date and 0 <= age_months(person.birth_date, ctx.today) <= IMMUNIZATION_AGE_MONTHS:
        summary = child_summary(person.birth_date, history.given, ctx.today, je=ctx.settings.care.je,
                                schedule=ctx.schedule, approximate=history.approximate)
        for code, _state in summary.due:
            now.append((code, _(DOSE_LABELS[code]), ""))
        for code, _state in summary.invalid:
            now.append((code, _(DOSE_LABELS[code]), _("perlu diulang")))
        for code, _state in summary.catch_up:
            now.append((code, _(DOSE_LABELS[code]), _("terlambat, masih bisa dikejar")))
        for code, state in summary.next_upcoming:
            if state.earliest and state.earliest.toordinal() <= horizon:
                soon.append((code, _(DOSE_LABELS[code]), _("mulai {start}", start=short_date(state.earliest, ctx.today))))
    services = services_due(
        ctx.today, sex=person.sex, birth=person.birth_date, hpht=person.hpht, delivered_on=person.delivered_on,
        history=history.services, horizon_days=HORIZON_DAYS, schedule=ctx.schedule,
    )
    for service in services:
        label = _(SERVICE_LABELS.get(service.code, service.code))
        if service.state == OVERDUE:
            now.append((service.code, label, _("terlambat")))
        elif service.state == UPCOMING or (service.earliest and service.earliest > ctx.today):
            soon.append((service.code, label, _("mulai {start}", start=short_date(service.earliest, ctx.today))))
        else:
            now.append((service.code, label, ""))
    return now, soon
