"""A child's growth chart as a PNG: weight-for-age and length/height-for-age on the WHO curves.

Two panels, each with the WHO Child Growth Standards' -3, -2, 0 (median), +2 and +3 SD curves for the
child's sex and the child's own measurements joined by a line. The curves come from the LMS tables that
``care.growth`` loads (value = M * (1 + L*S*z)^(1/L)); they are computed once per (index, sex, horizon).

Rendering uses Matplotlib's object-oriented API on the Agg canvas only (no pyplot, no global state
changed), so charts can be drawn from several threads at once. All labels go through ``_()`` in the
user's language; tick numbers are formatted for that language too.
"""
from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import date
from functools import lru_cache

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402  (matplotlib's own dependency)
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from PIL import Image  # noqa: E402  (Pillow: matplotlib's own dependency)

from care import growth  # noqa: E402
from content.i18n import _, format_date, format_number, use_locale  # noqa: E402
from handlers.describe import age_text  # noqa: E402

DAYS_PER_MONTH = growth.DAYS_PER_MONTH
MAX_MONTHS = 60
MIN_MONTHS = 12
#: The chart runs at least this far past the child's age.
AHEAD_MONTHS = 6
#: Horizons are rounded up to a multiple of this (so a handful of cached curve sets serve every child).
HORIZON_STEP = 6

#: The SD lines drawn, with their colour and style.
SD_LINES: tuple[float, ...] = (3.0, 2.0, 0.0, -2.0, -3.0)
GREEN = "#1b8a2f"
ORANGE = "#f08c00"
RED = "#d62020"
DARK_BLUE = "#0b2a6f"
SD_COLOURS = {0.0: GREEN, 2.0: ORANGE, -2.0: ORANGE, 3.0: RED, -3.0: RED}

WIDTH_PX, HEIGHT_PX, DPI = 800, 1000, 100
#: Colours in the PNG palette (fast octree: the line colours come out within a few units of their RGB).
PALETTE_COLOURS = 64
#: Longer names are cut (with an ellipsis) to keep the title on the chart.
MAX_NAME_CHARS = 36


def horizon_months(age_months: float) -> int:
    """The chart's last month: age + 6 months rounded up to a multiple of 6, within 12-60."""
    ahead = math.ceil((max(age_months, 0.0) + AHEAD_MONTHS) / HORIZON_STEP) * HORIZON_STEP
    return int(min(MAX_MONTHS, max(MIN_MONTHS, ahead)))


@lru_cache(maxsize=64)
def who_sd_curves(index: str, sex: int, horizon: int) -> tuple[np.ndarray, dict[float, np.ndarray]]:
    """WHO SD curves of ``index`` ("wfa" or "lhfa") for ``sex`` from birth to ``horizon`` months.

    Returns the ages in months (one per day of the table) and, per z in ``SD_LINES``, the measurement
    at that z; length/height-for-age has one NaN between day 730 and 731 (length -> height). Read
    from ``care.growth``'s tables (the same arrays the z-scores use). The arrays are shared between
    callers (cached) and read-only.
    """
    if sex not in (1, 2):
        raise ValueError(f"sex must be 1 (male) or 2 (female), not {sex!r}")
    if index not in ("wfa", "lhfa"):
        raise ValueError(f"index must be 'wfa' or 'lhfa', not {index!r}")
    table = growth._tables()[index]  # care.growth has no public accessor for its loaded tables
    last_day = min(growth.MAX_AGE_DAYS, math.floor(horizon * DAYS_PER_MONTH))
    days = range(table.first, last_day + 1)
    lms = np.array([table.lms(sex, day) for day in days], dtype=float)
    l, m, s = lms[:, 0], lms[:, 1], lms[:, 2]
    curves: dict[float, np.ndarray] = {}
    for z in SD_LINES:
        with np.errstate(divide="ignore", invalid="ignore"):
            box_cox = m * np.power(1 + l * s * z, 1 / l)
        curves[z] = np.where(l == 0, m * np.exp(s * z), box_cox)
    months = np.arange(table.first, last_day + 1, dtype=float) / DAYS_PER_MONTH
    if index == "lhfa" and last_day >= growth.STANDING_FROM_DAYS:
        # Lying length before 24 months, standing height after: the curves step down by ~0.7 cm
        # there, drawn as a break (as on WHO's own 0-5 year charts) rather than a vertical tick.
        at = growth.STANDING_FROM_DAYS - table.first
        months = np.insert(months, at, np.nan)
        curves = {z: np.insert(values, at, np.nan) for z, values in curves.items()}
    for array in (months, *curves.values()):
        array.setflags(write=False)
    return months, curves


def _child_series(birth: date, points: Sequence[tuple[date, float | None, float | None]],
                  column: int) -> tuple[list[float], list[float]]:
    """Ages in months and values of one column (1 weight, 2 length) in date order; None and ages
    outside 0-60 months skipped."""
    xs: list[float] = []
    ys: list[float] = []
    for point in sorted(points, key=lambda p: p[0]):
        value = point[column]
        days = (point[0] - birth).days
        if value is None or value <= 0 or days < 0 or days > growth.MAX_AGE_DAYS:
            continue
        xs.append(days / DAYS_PER_MONTH)
        ys.append(float(value))
    return xs, ys


def _month_step(horizon: int) -> int:
    return 1 if horizon <= 12 else 2 if horizon <= 24 else 6


def _ticks(low: float, high: float, step: float) -> list[float]:
    """Multiples of ``step`` from ``low`` to ``high`` (inclusive)."""
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    return [i * step for i in range(first, last + 1)]


def _value_step(index: str, span: float) -> tuple[float, float]:
    """Major and minor tick steps of the y axis for a range of ``span`` kg or cm."""
    if index == "wfa":
        return (1.0, 0.5) if span <= 12 else (2.0, 1.0) if span <= 24 else (5.0, 1.0)
    return (5.0, 1.0) if span <= 50 else (10.0, 5.0)


def _panel(ax, index: str, sex: int, horizon: int, xs: list[float], ys: list[float],
           title: str, ylabel: str) -> None:
    """One panel: the SD curves, the child's points and the axes.

    Ticks are fixed and labelled here, and the minor grid is one line collection: Matplotlib's tick
    objects are its slowest part, and the tick labels come out in the current language's number format.
    """
    months, curves = who_sd_curves(index, sex, horizon)
    for z in SD_LINES:
        ax.plot(months, curves[z], color=SD_COLOURS[z], linewidth=2.2 if z == 0 else 1.6,
                linestyle="-" if abs(z) != 3 else (0, (6, 2)), zorder=2)
        ax.annotate(f"{z:+.0f}".replace("+0", "0").replace("-", "\u2212"), (months[-1], curves[z][-1]),
                    xytext=(3, 0), textcoords="offset points", va="center", fontsize=8,
                    color=SD_COLOURS[z], annotation_clip=False)
    if xs:
        ax.plot(xs, ys, color=DARK_BLUE, linewidth=2.4, marker="o", markersize=6,
                markerfacecolor=DARK_BLUE, markeredgecolor="white", markeredgewidth=0.8,
                zorder=4, clip_on=False)
    low = min([float(np.nanmin(curves[-3.0])), *ys])
    high = max([float(np.nanmax(curves[3.0])), *ys])
    pad = (high - low) * 0.04
    low, high = max(0.0, low - pad), high + pad
    ax.set_xlim(0, horizon)
    ax.set_ylim(low, high)

    x_major = _ticks(0, horizon, _month_step(horizon))
    y_step, y_minor_step = _value_step(index, high - low)
    y_major = _ticks(low, high, y_step)
    ax.set_xticks(x_major, [format_number(v, 0) for v in x_major])
    ax.set_yticks(y_major, [format_number(v, 1) for v in y_major])
    minor_x = [v for v in _ticks(0, horizon, 1) if v not in x_major]
    minor_y = [v for v in _ticks(low, high, y_minor_step) if v not in y_major]
    ax.vlines(minor_x, low, high, colors="#e2e2e2", linewidth=0.6, zorder=0)
    ax.hlines(minor_y, 0, horizon, colors="#e2e2e2", linewidth=0.6, zorder=0)
    ax.grid(which="major", color="#c8c8c8", linewidth=0.7)
    ax.set_axisbelow(True)
    ax.set_title(title, fontsize=12, loc="left", y=1.01)
    ax.set_xlabel(_("Umur (bulan)"))
    ax.set_ylabel(ylabel)


def _short(name: str) -> str:
    """The name on one line and short enough for the title."""
    name = " ".join(name.split())
    return name if len(name) <= MAX_NAME_CHARS else name[:MAX_NAME_CHARS - 1].rstrip() + "\u2026"


def _fit_width(text, canvas: FigureCanvasAgg, width_px: float) -> None:
    """Shrink ``text`` (down to 10 pt) until it is at most ``width_px`` wide: long names and wide letters."""
    renderer = canvas.get_renderer()
    size = text.get_fontsize()
    while size > 10 and text.get_window_extent(renderer).width > width_px:
        size -= 1
        text.set_fontsize(size)


def render_growth_chart(sex: int, birth: date, points: Sequence[tuple[date, float | None, float | None]],
                        *, name: str, lang: str, today: date) -> bytes:
    """A PNG (800 x 1000 px) of the child's weight-for-age and length/height-for-age on the WHO curves.

    ``points`` are (date, weight kg or None, length/height cm or None); None values, dates before
    birth and ages beyond 60 months are skipped. The x axis runs from birth to the child's age (on
    ``today`` or the last point) + 6 months, rounded up to 6 months, at least 12 and at most 60 months.
    """
    if sex not in (1, 2):
        raise ValueError(f"sex must be 1 (male) or 2 (female), not {sex!r}")
    last = max([today, *(p[0] for p in points)])
    horizon = horizon_months((last - birth).days / DAYS_PER_MONTH)
    weight = _child_series(birth, points, 1)
    length = _child_series(birth, points, 2)

    with use_locale(lang):
        fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
        canvas = FigureCanvasAgg(fig)
        sex_text = _("Laki-laki") if sex == 1 else _("Perempuan")
        # parse_math=False: a "$" in a typed name must not switch Matplotlib into mathtext.
        title = fig.suptitle(_("Grafik pertumbuhan {name} ({sex})", name=_short(name), sex=sex_text),
                             x=0.07, ha="left", y=0.985, fontsize=15, fontweight="bold", parse_math=False)
        _fit_width(title, canvas, WIDTH_PX * 0.9)
        fig.text(0.07, 0.948, f"{_('Tanggal lahir')}: {format_date(birth)} \u00b7 {age_text(birth, today)}",
                 ha="left", fontsize=10, color="#444444", parse_math=False)
        ax_w, ax_l = fig.subplots(2, 1)
        fig.subplots_adjust(left=0.09, right=0.95, top=0.905, bottom=0.115, hspace=0.3)
        _panel(ax_w, "wfa", sex, horizon, *weight, _("Berat badan menurut umur (BB/U)"),
               _("Berat badan (kg)"))
        _panel(ax_l, "lhfa", sex, horizon, *length, _("Panjang/tinggi badan menurut umur (PB/U, TB/U)"),
               _("Panjang/tinggi badan (cm)"))

        handles = [Line2D([], [], color=SD_COLOURS[z], linewidth=2.2 if z == 0 else 1.6,
                          linestyle="-" if abs(z) != 3 else (0, (6, 2))) for z in (0.0, -2.0, 2.0, -3.0, 3.0)]
        handles.append(Line2D([], [], color=DARK_BLUE, linewidth=2.4, marker="o", markersize=6,
                              markeredgecolor="white", markeredgewidth=0.8))
        labels = [_("Median"), _("-2 SD"), _("+2 SD"), _("-3 SD"), _("+3 SD"), _("Anak")]
        fig.legend(handles, labels, loc="lower center", ncol=6, bbox_to_anchor=(0.5, 0.035),
                   frameon=False, fontsize=10, handlelength=2.6)
        fig.text(0.5, 0.012, _("Standar WHO / Permenkes No. 2 Tahun 2020"), ha="center",
                 fontsize=9, color="#555555")

        canvas.draw()
    return _png(canvas)


def _png(canvas: FigureCanvasAgg) -> bytes:
    """The drawn canvas as a palette PNG: a few flat colours on white, a third the size of RGBA."""
    width, height = canvas.get_width_height(physical=True)
    image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    out = io.BytesIO()
    image.convert("RGB").quantize(PALETTE_COLOURS, method=Image.Quantize.FASTOCTREE).save(out, format="PNG")
    return out.getvalue()
