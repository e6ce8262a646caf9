"""Coverage for staff: ``/laporan`` (a posyandu's month: the five headline indicators with a bar
chart) and ``/ekspor`` (the whole report and the visit register as CSV and XLSX, or a posyandu's target register
in the import template's columns: registers.export).

The numbers come from db.coverage (the one computation, shared with the web's PWS overview): every
dose and service is read from the one care record (db.history) as it stood at the month's
end (the iron tablets given in pregnancy from the detail of the TTD_HAMIL records); weighings and
lengths come with their values from the visits' measurements. The indicators themselves are defined
in care.coverage; the text, the chart and the files are all drawn from its one table
(care.coverage.report_table).

/laporan leads with care.coverage.HEADLINE, each with its numerator and denominator and what its
code means: D/S (how many under-fives came to be weighed: the posyandu's reach), N/D (how many of
them grew: the result of the weighing), IDL (complete routine immunisation at the first birthday),
K6 (six antenatal contacts, the current standard) and stunting (the national priority). The rest is
in the chart and the export.

The files are made for spreadsheets: one row per indicator, a number per cell (count, out of,
percent, doses given in the month), readable names (no codes such as ``DPT_HB_HIB1``, ``M``,
``weight_kg``), one column per measurement with its unit, and real dates in the XLSX. The CSV is
UTF-8 with a byte-order mark and follows the staff member's language the way spreadsheet programs
of that locale read a CSV: Indonesian uses ``;`` between cells and a decimal comma (``14,3``;
Excel set to Indonesian expects exactly that), English ``,`` and a decimal point. Dates in the CSV
are ISO (``2026-11-09``), which every spreadsheet reads as a date.
"""
from __future__ import annotations

import io
from collections import defaultdict
from contextlib import nullcontext
from datetime import date, timedelta

from sqlalchemy import select

from care.coverage import TableRow, headline, report_table
from care.history import TTD_HAMIL, is_dose, label
from care.labels import DOSE_LABELS
from care.stages import add_months
from content.i18n import N_, _, format_date, format_number
from db import coverage
from db.history import records_of_visit
from db.models import Family, Measurement, Person, Posyandu, Visit
from handlers.describe import sex_label
from handlers.flow import END, STAFF, Answer, Ctx, Flow, Invalid, Next, Question, Step
from handlers.kader import audit
from handlers.staff import STAFF_REFUSAL, own_posyandu, staff_opened
from registers.export import register_rows, write_register
from registers.sheets import csv_bytes, xlsx_bytes

#: The name of each row of the table (care.coverage.report_table) that is no dose: a code is always
#: said in words.
LABELS = {
    "S": N_("S: balita terdaftar (0-59 bulan)"), "K": N_("K: balita yang punya buku KIA/KMS"),
    "D": N_("D: balita ditimbang bulan ini"), "N": N_("N: balita naik berat badannya"),
    "D/S": N_("D/S: balita ditimbang, dari semua balita"), "N/D": N_("N/D: naik berat badan, dari yang ditimbang"),
    "N/S": N_("N/S: naik berat badan, dari semua balita"), "T": N_("T: tidak naik berat badannya"),
    "2T": N_("2T: tidak naik 2 bulan berturut-turut"), "O": N_("O: tidak ditimbang bulan lalu"), "B": N_("B: baru pertama kali ditimbang"),
    "IDL": N_("IDL: imunisasi dasar lengkap pada usia 1 tahun"),
    "K1": N_("K1: ibu hamil periksa minimal 1 kali"), "K4": N_("K4: ibu hamil periksa 4 kali (1-1-2 per trimester)"),
    "K6": N_("K6: ibu hamil periksa 6 kali (1-2-3 per trimester)"),
    "TTD_HAMIL": N_("Ibu hamil mendapat tablet tambah darah bulan ini"),
    "TTD_HAMIL_TABLETS": N_("Tablet tambah darah ibu hamil bulan ini (butir)"),
    "KF1": N_("KF1: kunjungan nifas pertama (6 jam-2 hari)"), "KF_COMPLETE": N_("KF lengkap: 4 kunjungan nifas"),
    "KN1": N_("KN1: kunjungan neonatal pertama (6-48 jam)"), "KN_COMPLETE": N_("KN lengkap: 3 kunjungan neonatal"),
    "STUNTED": N_("Balita pendek (stunting)"), "SEVERELY_STUNTED": N_("Balita sangat pendek"),
    "WASTED": N_("Balita gizi kurang (wasting)"), "SEVERELY_WASTED": N_("Balita gizi buruk"),
    "OBAT_CACING": N_("Obat cacing (12-59 bulan)"), "TTD_REMAJA": N_("Remaja putri mendapat TTD (12-18 tahun)"),
    "SKRINING_PTM": N_("Skrining penyakit tidak menular (PTM) 12 bulan terakhir (15-59 tahun)"),
    "SKILAS": N_("Skrining lansia (SKILAS) 12 bulan terakhir (60+ tahun)"),
    "REMINDERS_SENT": N_("Pengingat terkirim"), "REMINDERS_DELIVERED": N_("Pengingat diterima"),
}
#: Rows named by the record's own label (care.labels.SERVICE_LABELS): VITA_BIRU, VITA_MERAH, SDIDTK.
SERVICE_ROWS = ("VITA_BIRU", "VITA_MERAH", "SDIDTK")
#: The sections of the table (care.coverage.SECTIONS).
SECTION_LABELS = {
    "skdn": N_("Penimbangan balita (SKDN)"), "immunization": N_("Imunisasi"), "pregnancy": N_("Ibu hamil"),
    "newborn": N_("Ibu nifas dan bayi baru lahir"), "children": N_("Balita dan anak"), "nutrition": N_("Status gizi balita"),
    "adolescents": N_("Remaja"), "adults": N_("Usia dewasa dan lansia"), "reminders": N_("Pengingat"),
}
#: The five headline indicators (care.coverage.HEADLINE): how the code is shown and what it means.
HEADLINE_TEXT = {
    "D/S": ("D/S", N_("balita ditimbang bulan ini, dari semua balita terdaftar")),
    "N/D": ("N/D", N_("balita yang naik berat badannya, dari yang ditimbang")),
    "IDL": ("IDL", N_("anak yang genap 1 tahun bulan ini dengan imunisasi dasar lengkap")),
    "K6": ("K6", N_("ibu hamil yang sudah 6 kali periksa kehamilan (1, 2 dan 3 kali di trimester 1, 2 dan 3)")),
    "STUNTED": (N_("Stunting"), N_("balita pendek, dari yang diukur panjang atau tingginya bulan ini")),
}
#: The bars of the chart: (row code, short words under the code).
CHART_BARS = (
    ("D/S", N_("ditimbang")), ("N/D", N_("naik berat badan")), ("IDL", N_("imunisasi lengkap")), ("K1", N_("hamil 1x periksa")),
    ("K4", N_("hamil 4x periksa")), ("K6", N_("hamil 6x periksa")), ("KN1", N_("kunjungan neonatal")),
    ("KF1", N_("kunjungan nifas")), ("STUNTED", N_("balita pendek")),
)
#: Measurements in the register: kind -> its column (with the unit), in this order; a kind not listed
#: gets a column of its own after these.
MEASURE_COLUMNS = {
    "weight_kg": N_("Berat badan (kg)"), "length_cm": N_("Panjang/tinggi badan (cm)"),
    "head_cm": N_("Lingkar kepala (cm)"), "muac_cm": N_("Lingkar lengan atas (cm)"),
    "sbp": N_("Tekanan darah sistolik (mmHg)"), "dbp": N_("Tekanan darah diastolik (mmHg)"),
    "glucose": N_("Gula darah (mg/dL)"), "waist_cm": N_("Lingkar perut (cm)"),
}
#: How a length was measured (Measurement.detail of length_cm).
MEASURED = {"l": N_("berbaring"), "h": N_("berdiri")}


async def build_report(ctx: Ctx, posyandu: Posyandu, year: int, month: int):
    """The coverage report of one posyandu for a month, from its families' records as they stood at the
    month's end (``db.coverage``: the same computation as the web's PWS overview)."""
    return await coverage.month_report(ctx.session, posyandu.id, year, month, je=ctx.settings.care.je, schedule=ctx.schedule)


def row_label(code: str) -> str:
    """The name of a report row in the current language."""
    if code in LABELS:
        return _(LABELS[code])
    if code in DOSE_LABELS or code in SERVICE_ROWS:
        return _(label(code))
    return code


def percent_text(value: float | None) -> str:
    """``14,3%`` in the current language's numbers; ``-`` when there is nothing to divide by."""
    return "-" if value is None else format_number(value, 1, fixed=True) + "%"


def numbers_text(row: TableRow) -> str:
    """A row's numbers: ``7``, ``1/7 (14,3%)``, or for a dose ``1/5 (20,0%), 1 diberikan bulan ini``."""
    if row.total is None:
        return str(row.count)
    text = f"{row.count}/{row.total} ({percent_text(row.percent)})"
    if row.given_in_month is not None:
        text += ", " + _("{n} diberikan bulan ini", n=row.given_in_month)
    return text


def report_rows(report) -> list[tuple[str, str]]:
    """(name, numbers) of every row of the table, in the current language."""
    return [(row_label(row.code), numbers_text(row)) for row in report_table(report)]


def headline_text(report, title: str) -> str:
    """The five headline indicators, each with its numbers and what it means, then where the rest is."""
    lines = [title]
    for row in headline(report):
        shown, meaning = HEADLINE_TEXT[row.code]
        numbers = f"{row.count}/{row.total}" if row.percent is None else f"{percent_text(row.percent)} ({row.count}/{row.total})"
        lines.append(f"\u2022 {_(shown)} {numbers}: {_(meaning)}")
    lines.append("")
    lines.append(_("Indikator lainnya ada di grafik dan di file /ekspor (CSV dan XLSX)."))
    return "\n".join(lines)


def table_text(report) -> str:
    """The whole table as text, section by section."""
    lines: list[str] = []
    section = None
    for row in report_table(report):
        if row.section != section:
            section = row.section
            lines += ["", _(SECTION_LABELS[section])] if lines else [_(SECTION_LABELS[section])]
        lines.append(f"{row_label(row.code)}: {numbers_text(row)}")
    return "\n".join(lines)


def bar_chart(report, title: str) -> bytes:
    """A bar chart PNG of the main percentages (:data:`CHART_BARS`), each bar named by its code and
    a few words."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = {row.code: row for row in report_table(report)}
    values = [(code, _(words), rows[code].percent) for code, words in CHART_BARS]
    figure = Figure(figsize=(9, 4.8), dpi=100)
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    names = [(_(HEADLINE_TEXT[code][0]) if code in HEADLINE_TEXT else code) + "\n" + words.replace(" ", "\n", 1)
             for code, words, _v in values]
    heights = [v if v is not None else 0 for _c, _w, v in values]
    bars = axes.bar(names, heights, color="#2a6f97")
    for bar, (_c, _w, v) in zip(bars, values):
        axes.text(bar.get_x() + bar.get_width() / 2, bar.get_height() + 1, "-" if v is None else percent_text(v),
                  ha="center", fontsize=9)
    axes.tick_params(axis="x", labelsize=8)
    axes.set_ylim(0, 110)
    axes.set_ylabel("%")
    axes.set_title(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    canvas.print_png(buffer)
    return buffer.getvalue()


async def ask_posyandu(ctx: Ctx) -> Question:
    return Question(_("Laporan posyandu mana?"), tuple((f"{p.name} ({p.village_name})", str(p.id)) for p in await own_posyandu(ctx)))


async def on_posyandu(ctx: Ctx, answer: Answer) -> Next:
    """Stores the posyandu; asks the month next."""
    own = {p.id for p in await own_posyandu(ctx)}
    if not (answer.choice and answer.choice.isdecimal() and int(answer.choice) in own):
        raise Invalid(_("Pilih posyandu dari daftar."))
    ctx.data["posyandu_id"] = int(answer.choice)
    return "month"


async def ask_month(ctx: Ctx) -> Question:
    this = ctx.today.replace(day=1)
    last = add_months(this, -1)
    months = ((format_date(this, "MMMM y"), this.isoformat()), (format_date(last, "MMMM y"), last.isoformat()))
    if ctx.state.flow == "export":
        return Question(_("Laporan bulan apa? Atau register sasaran posyandu ini dalam kolom template impor, untuk diubah di "
                          "Excel lalu diimpor lagi dengan /impor."), (*months, (_("Register sasaran (XLSX)"), REGISTER)))
    return Question(_("Bulan apa?"), months)


async def on_month(ctx: Ctx, answer: Answer) -> Next:
    """Sends the report (the headline indicators with the chart) or the export files; ends."""
    this = ctx.today.replace(day=1)
    allowed = {this.isoformat(), add_months(this, -1).isoformat()}
    if ctx.state.flow == "export" and answer.choice == REGISTER:
        return await send_register(ctx)
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
    ctx.say(headline_text(report, title), image=bar_chart(report, title))
    return END


# --------------------------------------------------------------------------- the files

#: the export's choice of the whole register in the template's columns (registers.export)
REGISTER = "register"


async def send_register(ctx: Ctx) -> Next:
    """The posyandu's register in the import template's own columns (registers.export), as an XLSX: edited
    in Excel and sent back with /impor, the unchanged rows import as unchanged."""
    posyandu = await ctx.session.get(Posyandu, ctx.data["posyandu_id"])
    out = io.BytesIO()
    counts = await write_register(register_rows(lambda: nullcontext(ctx.session), posyandu.puskesmas_id, posyandu.id), out)
    audit(ctx, "register.export", "posyandu", posyandu.id, persons=counts["anggota"])
    ctx.say(_("Register sasaran {posyandu}: {persons} orang, {doses} baris imunisasi, {measures} baris pengukuran. "
              "Ubah di Excel bila perlu, lalu kirim lagi dengan /impor.",
              posyandu=posyandu.name, persons=format_number(counts["anggota"]), doses=format_number(counts["imunisasi"]),
              measures=format_number(counts["pengukuran"])),
            files=((f"register-{posyandu.code}-{ctx.today:%Y-%m-%d}.xlsx", out.getvalue()),))
    return END



def report_sheet(report) -> list[list]:
    """The report as a header and one row per indicator: section, name, count, out of, percent,
    doses given in the month (None where a row has no such number)."""
    header = [_("Kelompok"), _("Indikator"), _("Jumlah"), _("Dari"), _("Persen (%)"), _("Diberikan bulan ini")]
    return [header, *([_(SECTION_LABELS[row.section]), row_label(row.code), row.count, row.total, row.percent, row.given_in_month]
                      for row in report_table(report))]


async def register_sheet(ctx: Ctx, posyandu: Posyandu, first: date) -> list[list]:
    """The month's visits: one row each, its measurements one column each (with the unit), the doses
    and services it recorded by name."""
    end = add_months(first, 1) - timedelta(days=1)
    visits = list(await ctx.session.execute(
        select(Visit, Person, Family).join(Person, Person.id == Visit.person_id).join(Family, Family.id == Person.family_id)
        .where(Visit.posyandu_id == posyandu.id, Visit.visited_on >= first, Visit.visited_on <= end).order_by(Visit.visited_on, Visit.id)))
    measured: dict[int, dict[str, tuple[float, str | None]]] = defaultdict(dict)
    if visits:
        ids = [visit.id for visit, _p, _f in visits]
        for visit_id, kind, value, detail in (await ctx.session.execute(
                select(Measurement.visit_id, Measurement.kind, Measurement.value, Measurement.detail)
                .where(Measurement.visit_id.in_(ids)).order_by(Measurement.id))).all():
            measured[visit_id][kind] = (value, detail)
    kinds = list(MEASURE_COLUMNS) + sorted({k for m in measured.values() for k in m} - set(MEASURE_COLUMNS))
    header = [_("Tanggal kunjungan"), _("Kode keluarga"), _("Nama"), _("Jenis kelamin"), _("Tanggal lahir"), _("Tempat")]
    for kind in kinds:
        header.append(_(MEASURE_COLUMNS[kind]) if kind in MEASURE_COLUMNS else kind)
        if kind == "length_cm":
            header.append(_("Cara ukur panjang/tinggi"))
    header += [_("Tablet tambah darah (butir)"), _("Imunisasi"), _("Layanan")]
    rows = [header]
    for visit, person, family in visits:
        done = await records_of_visit(ctx.session, visit.id)
        row = [visit.visited_on, family.code, person.name, sex_label(person.sex), person.birth_date,
               _("posyandu") if visit.place == "posyandu" else _("kunjungan rumah")]
        for kind in kinds:
            value, detail = measured[visit.id].get(kind, (None, None))
            row.append(value)
            if kind == "length_cm":
                row.append(_(MEASURED[detail]) if value is not None and detail in MEASURED else None)
        tablets = [(detail or {}).get("tablets") for code, detail in done if code in (TTD_HAMIL, "TTD_REMAJA")]
        counted = [int(t) for t in tablets if isinstance(t, (int, float)) or (isinstance(t, str) and t.isdecimal())]
        row.append(sum(counted) if counted else None)
        row.append("; ".join(_(DOSE_LABELS[c]) for c, _d in done if is_dose(c)) or None)
        row.append("; ".join(_(label(c)) for c, _d in done if not is_dose(c)) or None)
        rows.append(row)
    return rows


async def export_files(ctx: Ctx, posyandu: Posyandu, first: date, report) -> tuple[tuple[str, bytes], ...]:
    """The report and the visit register of the month as CSV and XLSX."""
    summary = report_sheet(report)
    register = await register_sheet(ctx, posyandu, first)
    stem = f"laporan-{posyandu.code}-{first:%Y-%m}"
    return (
        (f"{stem}.csv", csv_bytes(summary)),
        (f"register-{posyandu.code}-{first:%Y-%m}.csv", csv_bytes(register)),
        (f"{stem}.xlsx", xlsx_bytes({_("Laporan"): summary, _("Register"): register})),
    )


def _steps() -> dict:
    """Report and export share their questions."""
    return {"start": Step(ask_posyandu, on_posyandu), "month": Step(ask_month, on_month)}


REPORT = Flow(name="report", first="start", enter=staff_opened, steps=_steps(), commands=("laporan", "report"),
              roles=STAFF, refusal=STAFF_REFUSAL, home=("start",), menu_label=N_("Laporan"), help_line=N_("Laporan cakupan"))
EXPORT = Flow(name="export", first="start", enter=staff_opened, steps=_steps(), commands=("ekspor", "export"),
              roles=STAFF, refusal=STAFF_REFUSAL, home=("start",), menu_label=N_("Ekspor"),
              help_line=N_("Ekspor data (CSV/XLSX)"))
