"""How people, stages and ages are put into words for the person reading."""
from __future__ import annotations

from datetime import date

from care.stages import Stage, age_parts, days_since_delivery, gestational_age, is_pregnant, stages_on
from content.i18n import N_, _, format_date, n_
from db.models import Person

STAGE_LABELS = {
    Stage.PREGNANT: N_("Ibu hamil"),
    Stage.POSTPARTUM: N_("Ibu nifas"),
    Stage.NEWBORN: N_("Bayi baru lahir"),
    Stage.INFANT: N_("Bayi"),
    Stage.TODDLER: N_("Balita"),
    Stage.PRESCHOOL: N_("Anak prasekolah"),
    Stage.SCHOOL: N_("Anak usia sekolah"),
    Stage.ADOLESCENT: N_("Remaja"),
    Stage.ADULT: N_("Usia dewasa"),
    Stage.ELDERLY: N_("Lansia"),
}


def sex_label(sex: str) -> str:
    """``Laki-laki`` / ``Perempuan`` in the current language."""
    return _("Laki-laki") if sex == "M" else _("Perempuan")


def age_text(birth: date, on: date, precision: str | None = None) -> str:
    """A short age: ``12 hari``, ``5 bulan``, ``2 tahun 3 bulan``, ``34 tahun``; ``±67 tahun`` when
    the birth date is only estimated (``precision``: Person.birth_precision, None for the day)."""
    age = age_parts(birth, on)
    if age.years == 0 and age.months == 0:
        text = n_("{n} hari", "{n} hari", age.days)
    elif age.years == 0:
        text = n_("{n} bulan", "{n} bulan", age.months)
    elif age.years < 5 and age.months:
        text = _("{years} thn {months} bln", years=age.years, months=age.months)
    else:
        text = n_("{n} tahun", "{n} tahun", age.years)
    return f"\u00b1{text}" if precision else text


def birth_text(birth: date, precision: str | None = None) -> str:
    """A birth date as well as it is known: ``12 Maret 1959``, ``±Maret 1960``, ``±1959``."""
    if precision == "month":
        return "\u00b1" + format_date(birth, "MMMM y")
    if precision in ("year", "age"):
        return "\u00b1" + format_date(birth, "y")
    return format_date(birth)


#: Stages left unsaid when a more telling one is shown: a newborn is an infant too, a pregnant woman
#: or a mother in nifas an adult too ("Ibu hamil 20 minggu", not "Ibu hamil 20 minggu, Usia dewasa").
#: A pregnant adolescent stays "Remaja": that says something.
IMPLIED_STAGES = {Stage.INFANT: (Stage.NEWBORN,), Stage.ADULT: (Stage.PREGNANT, Stage.POSTPARTUM)}


def shown_stages(stages: list[Stage]) -> list[Stage]:
    """``stages`` without those a shown one implies (:data:`IMPLIED_STAGES`)."""
    return [s for s in stages if not any(t in stages for t in IMPLIED_STAGES.get(s, ()))]


def stage_text(person: Person, on: date) -> str:
    """The person's stages, with the week of pregnancy or the day of nifas where it applies; a stage
    another implies is left out (:func:`shown_stages`)."""
    parts: list[str] = []
    for stage in shown_stages(stages_on(on, birth=person.birth_date, hpht=person.hpht, delivered_on=person.delivered_on)):
        label = _(STAGE_LABELS[stage])
        if stage is Stage.PREGNANT and person.hpht:
            weeks, _days = gestational_age(person.hpht, on)
            label = n_("{stage} {n} minggu", "{stage} {n} minggu", weeks, stage=label)
        elif stage is Stage.POSTPARTUM:
            label = _("{stage} hari ke-{day}", stage=label, day=days_since_delivery(person.delivered_on, on))
        parts.append(label)
    return ", ".join(parts) if parts else _("belum ada tahap")


def person_line(person: Person, on: date) -> str:
    """One line about a member: name, sex, age (``±`` when estimated) and stage(s)."""
    facts = [sex_label(person.sex)]
    if person.birth_date:
        facts.append(age_text(person.birth_date, on, person.birth_precision))
    line = _("{name} ({facts}): {stages}", name=person.name, facts=", ".join(facts), stages=stage_text(person, on))
    if person.due_date and is_pregnant(person.hpht, on, person.delivered_on):
        line += "\n   " + _("perkiraan lahir {date}", date=format_date(person.due_date))
    return line


WEEKDAYS = {
    "monday": N_("Senin"), "tuesday": N_("Selasa"), "wednesday": N_("Rabu"), "thursday": N_("Kamis"),
    "friday": N_("Jumat"), "saturday": N_("Sabtu"), "sunday": N_("Minggu"),
}
ORDINALS = {1: N_("pertama"), 2: N_("kedua"), 3: N_("ketiga"), 4: N_("keempat"), -1: N_("terakhir")}


def schedule_text(schedule: dict | None) -> str:
    """A posyandu's recurring day in words: ``setiap tanggal 12`` / ``setiap Selasa kedua``."""
    schedule = schedule or {}
    if "monthly_day" in schedule:
        return _("setiap tanggal {day}", day=schedule["monthly_day"])
    if "nth" in schedule and schedule.get("weekday") in WEEKDAYS:
        weekday = WEEKDAYS[schedule["weekday"]]
        ordinal = ORDINALS.get(int(schedule["nth"]), ORDINALS[1])
        return _("{weekday} {ordinal} setiap bulan", weekday=_(weekday), ordinal=_(ordinal))
    return _("belum ditentukan")


def session_text(session) -> str:
    """A posyandu session for people: ``Sabtu, 5 Desember 2026``, with why it moved if it did."""
    if session is None:
        return _("belum ditentukan")
    text = format_date(session.day, "day")
    if session.status == "holiday_moved":
        return _("{day} (dipindah karena {reason})", day=text, reason=session.reason or _("hari libur"))
    if session.status == "moved":
        return _("{day} (dipindah)", day=text)
    if session.status == "holiday_flagged":
        return _("{day} (hari libur {reason}: tanyakan kader)", day=text, reason=session.reason or "")
    return text
