"""Coverage for staff: ``/laporan`` (a posyandu's month as a short text table and a bar chart) and
``/ekspor`` (the month's report and the visit register as CSV and XLSX).

Every dose and service is read from the one care record (db.history) as it stood at the month's
end (the iron tablets given in pregnancy from the detail of the TTD_HAMIL records); weighings and
lengths come with their values from the visits' measurements. The indicators themselves are defined
in care.coverage.
"""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import case, func, select

from care.coverage import (
    ANC_CODES,
    KF_CODES,
    KN_CODES,
    ChildRecord,
    NewbornRecord,
    NifasRecord,
    PersonRecord,
    PregnancyRecord,
    ReminderCounts,
    month_report,
    report_text_rows,
)
from care.history import DAY, TTD_HAMIL, PersonHistory, build, is_dose, label
from care.schedule import DOSE_LABELS
from care.stages import add_months
from content.i18n import N_, _, current_language, format_date
from db.history import histories, records_of_visit
from db.models import Family, Identity, Measurement, Outbox, Person, Posyandu, Visit
from handlers.flow import END, Answer, Ctx, Flow, Invalid, Next, Question, Step
from handlers.kader import audit
from handlers.staff import _own_posyandu, staff_only

LABELS = {
    "S": N_("S: balita terdaftar"), "K": N_("K: punya KMS"), "D": N_("D: ditimbang"), "N": N_("N: naik berat badannya"),
    "D/S": N_("D/S"), "N/D": N_("N/D"), "N/S": N_("N/S"), "T": N_("T: tidak naik"), "2T": N_("2T"), "O": N_("O: tidak ditimbang bulan lalu"),
    "B": N_("B: baru"), "IDL": N_("Imunisasi dasar lengkap"), "K1": N_("ANC K1"), "K4": N_("ANC K4"), "K6": N_("ANC K6"),
    "TTD_HAMIL": N_("Ibu hamil mendapat TTD"), "TTD_HAMIL_TABLETS": N_("Tablet TTD ibu hamil (butir)"),
    "KF1": N_("KF1"), "KF_COMPLETE": N_("KF lengkap"),
    "KN1": N_("KN1"), "KN_COMPLETE": N_("KN lengkap"), "STUNTED": N_("Pendek (stunting)"), "SEVERELY_STUNTED": N_("Sangat pendek"),
    "WASTED": N_("Gizi kurang (wasting)"), "SEVERELY_WASTED": N_("Gizi buruk"),
    "OBAT_CACING": N_("Obat cacing (12-59 bulan)"), "TTD_REMAJA": N_("Remaja putri mendapat TTD (12-18 tahun)"),
    "SKRINING_PTM": N_("Skrining PTM 12 bulan terakhir (15-59 tahun)"), "SKILAS": N_("SKILAS 12 bulan terakhir (60+ tahun)"),
    "REMINDERS_SENT": N_("Pengingat terkirim"), "REMINDERS_DELIVERED": N_("Pengingat diterima"),
}
#: Rows named by the record's own label (care.schedule.SERVICE_LABELS): VITA_BIRU, VITA_MERAH, SDIDTK.
SERVICE_ROWS = ("VITA_BIRU", "VITA_MERAH", "SDIDTK")


async def build_report(ctx: Ctx, posyandu: Posyandu, year: int, month: int):
    """The coverage report of one posyandu for a month, from its families' records as they stood at the month's end."""
    start = date(year, month, 1)
    end = add_months(start, 1) - timedelta(days=1)
    people = list(await ctx.session.scalars(select(Person).join(Family).where(
        Family.posyandu_id == posyandu.id, Family.registered_at.is_not(None))))
    ids = [p.id for p in people] or [0]
    weights, lengths = defaultdict(list), defaultdict(list)
    for person_id, day, kind, value, detail in (await ctx.session.execute(
            select(Visit.person_id, Visit.visited_on, Measurement.kind, Measurement.value, Measurement.detail)
            .join(Measurement, Measurement.visit_id == Visit.id)
            .where(Visit.person_id.in_(ids), Visit.visited_on <= end))).all():
        if kind == "weight_kg":
            weights[person_id].append((day, value))
        elif kind == "length_cm":
            lengths[person_id].append((day, value, detail or "l"))
    records = await histories(ctx.session, [p.id for p in people])
    stood = {p.id: build(r for r in records[p.id].records if r.on <= end) for p in people}  # the record at the month's end
    children, pregnancies, newborns, mothers, persons = [], [], [], [], []
    for p in people:
        history = stood[p.id]
        sex = 1 if p.sex == "M" else 2
        if p.birth_date and p.birth_date <= end:
            persons.append(PersonRecord(p.id, sex, p.birth_date, history.records))
            if (end - p.birth_date).days < 6 * 366:
                children.append(ChildRecord(p.id, sex, p.birth_date, tuple(sorted(weights[p.id])),
                                            tuple(sorted(lengths[p.id])), history.given, history.approximate))
            if (end - p.birth_date).days <= 60:
                exact, approximate = _visits(history, KN_CODES, p.birth_date)
                newborns.append(NewbornRecord(p.id, p.birth_date, exact, approximate))
        if p.hpht and p.hpht <= end:
            last = p.delivered_on or end
            ours = [r for r in history.records if p.hpht <= r.on <= last]
            contacts = sorted({r.on for r in ours if r.code in ANC_CODES})
            numbered = tuple((r.on, int(r.code[3:])) for r in ours if r.code in ANC_CODES and r.code != "ANC")
            iron = tuple((r.on, _count((r.detail or {}).get("tablets"))) for r in ours if r.code == TTD_HAMIL and r.precision == DAY)
            pregnancies.append(PregnancyRecord(p.id, p.hpht, p.delivered_on, tuple(contacts), numbered, iron))
        if p.delivered_on and p.delivered_on <= end and (end - p.delivered_on).days <= 90:
            exact, approximate = _visits(history, KF_CODES, p.delivered_on)
            mothers.append(NifasRecord(p.id, p.delivered_on, exact, approximate))
    families = select(Family.id).where(Family.posyandu_id == posyandu.id)
    # Telegram reports no delivery: accepted counts as delivered; WhatsApp reports delivered and read
    delivered = case((Outbox.channel != "whatsapp", 1), (Outbox.delivery.in_(("delivered", "read")), 1), else_=0)
    sent, arrived = (await ctx.session.execute(
        select(func.count(), func.coalesce(func.sum(delivered), 0)).select_from(Outbox).join(Identity, Identity.id == Outbox.identity_id).where(
            Identity.family_id.in_(families), Outbox.kind == "daily", Outbox.state == "sent",
            Outbox.created_at >= _utc(start), Outbox.created_at < _utc(end + timedelta(days=1))))).one()
    return month_report(year, month, children=children, pregnancies=pregnancies, newborns=newborns, mothers=mothers,
                        people=persons, reminders=ReminderCounts(sent=sent or 0, delivered=int(arrived or 0)),
                        je=ctx.settings.care.je, schedule=ctx.schedule)


def _visits(history: PersonHistory, codes: tuple[str, ...], event: date) -> tuple[tuple[date, ...], frozenset[str]]:
    """The exact dates of the visits of ``codes`` from ``event`` on, and the codes recorded with an approximate date."""
    ours = [r for r in history.records if r.code in codes and r.on >= event]
    return (tuple(sorted({r.on for r in ours if r.precision == DAY})),
            frozenset(r.code for r in ours if r.precision != DAY))


def _count(value) -> int:
    """A tablet count from a record's detail (0 when missing or not a number)."""
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0


def _utc(day: date):
    from datetime import UTC, datetime, time

    return datetime.combine(day, time(0), UTC)


def row_label(code: str) -> str:
    """The label of a report row in the current language."""
    if code in LABELS:
        return _(LABELS[code])
    if code in DOSE_LABELS or code in SERVICE_ROWS:
        return _(label(code))
    return code


def report_rows(report) -> list[tuple[str, str]]:
    """(label, value) rows in the current language."""
    mark = "," if current_language() == "id" else "."
    return [(row_label(code), value) for code, value in report_text_rows(report, decimal_mark=mark)]


def bar_chart(report, title: str) -> bytes:
    """A bar chart PNG of the main percentages (D/S, N/D, IDL, K1, K4, K6, KN1)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    values = [("D/S", report.skdn.d_s), ("N/D", report.skdn.n_d), ("IDL", report.idl.percent), ("K1", report.k1.percent),
              ("K4", report.k4.percent), ("K6", report.k6.percent), ("KN1", report.kn1.percent)]
    figure = Figure(figsize=(8, 4.5), dpi=100)
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    names = [name for name, _v in values]
    heights = [v if v is not None else 0 for _n, v in values]
    bars = axes.bar(names, heights, color="#2a6f97")
    for bar, (_n, v) in zip(bars, values):
        axes.text(bar.get_x() + bar.get_width() / 2, bar.get_height() + 1, "-" if v is None else f"{v:.0f}%", ha="center", fontsize=9)
    axes.set_ylim(0, 110)
    axes.set_ylabel("%")
    axes.set_title(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    canvas.print_png(buffer)
    return buffer.getvalue()


async def ask_posyandu(ctx: Ctx) -> Question:
    return Question(_("Laporan posyandu mana?"), tuple((f"{p.name} ({p.village_name})", str(p.id)) for p in await _own_posyandu(ctx)))


async def on_posyandu(ctx: Ctx, answer: Answer) -> Next:
    """Stores the posyandu; asks the month next."""
    own = {p.id for p in await _own_posyandu(ctx)}
    if not (answer.choice and answer.choice.isdecimal() and int(answer.choice) in own):
        raise Invalid(_("Pilih posyandu dari daftar."))
    ctx.data["posyandu_id"] = int(answer.choice)
    return "month"


async def ask_month(ctx: Ctx) -> Question:
    this = ctx.today.replace(day=1)
    last = add_months(this, -1)
    return Question(_("Bulan apa?"), ((format_date(this, "MMMM y"), this.isoformat()), (format_date(last, "MMMM y"), last.isoformat())))


async def on_month(ctx: Ctx, answer: Answer) -> Next:
    """Sends the report (text and chart) or the export files; ends."""
    this = ctx.today.replace(day=1)
    allowed = {this.isoformat(), add_months(this, -1).isoformat()}
    if answer.choice not in allowed:
        raise Invalid(_("Pilih bulan dari daftar."))
    first = date.fromisoformat(answer.choice)
    posyandu = await ctx.session.get(Posyandu, ctx.data["posyandu_id"])
    report = await build_report(ctx, posyandu, first.year, first.month)
    title = _("{posyandu}, {month}", posyandu=posyandu.name, month=format_date(first, "MMMM y"))
    audit(ctx, f"report.{ctx.state.flow}", "posyandu", posyandu.id, month=answer.choice)
    if ctx.state.flow == "export":
        files = await export_files(ctx, posyandu, first, report)
        ctx.say(_("Laporan dan register kunjungan {title} (CSV dan XLSX).", title=title), files=files)
        return END
    table = "\n".join(f"{label}: {value}" for label, value in report_rows(report))
    ctx.say(title + "\n" + table, image=bar_chart(report, title))
    return END


async def export_files(ctx: Ctx, posyandu: Posyandu, first: date, report) -> tuple[tuple[str, bytes], ...]:
    """The report and the visit register of the month as CSV and XLSX."""
    end = add_months(first, 1) - timedelta(days=1)
    header = [_("tanggal"), _("kode keluarga"), _("nama"), _("jenis kelamin"), _("tanggal lahir"), _("tempat"), _("pengukuran"), _("imunisasi"),
              _("layanan")]
    register = []
    visits = list(await ctx.session.execute(
        select(Visit, Person, Family).join(Person, Person.id == Visit.person_id).join(Family, Family.id == Person.family_id)
        .where(Visit.posyandu_id == posyandu.id, Visit.visited_on >= first, Visit.visited_on <= end).order_by(Visit.visited_on, Visit.id)))
    for visit, person, family in visits:
        measures = list(await ctx.session.execute(select(Measurement.kind, Measurement.value).where(Measurement.visit_id == visit.id)))
        done = await records_of_visit(ctx.session, visit.id)
        register.append([visit.visited_on.isoformat(), family.code, person.name, person.sex,
                         person.birth_date.isoformat() if person.birth_date else "", visit.place,
                         "; ".join(f"{k}={v:g}" for k, v in measures), " ".join(c for c, _d in done if is_dose(c)),
                         " ".join(c for c, _d in done if not is_dose(c))])
    rows = report_rows(report)
    stem = f"laporan-{posyandu.code}-{first:%Y-%m}"
    files = [(f"{stem}.csv", _csv([[_("indikator"), _("nilai")], *rows])), (f"register-{posyandu.code}-{first:%Y-%m}.csv", _csv([header, *register]))]
    files.append((f"{stem}.xlsx", _xlsx({_("Laporan"): [[_("indikator"), _("nilai")], *rows], _("Register"): [header, *register]})))
    return tuple(files)


def _csv(rows) -> bytes:
    """Rows as UTF-8 CSV with a byte-order mark, so that spreadsheet programs read it right."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _xlsx(sheets: dict[str, list[list]]) -> bytes:
    """An XLSX workbook with one sheet per entry."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name[:31])
        for row in rows:
            sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _steps() -> dict:
    """Report and export share their questions."""
    return {"start": Step(ask_posyandu, on_posyandu), "month": Step(ask_month, on_month)}


REPORT = Flow(name="report", first="start", enter=staff_only, steps=_steps())
EXPORT = Flow(name="export", first="start", enter=staff_only, steps=_steps())
