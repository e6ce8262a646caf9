"""Charts drawn on the server as inline SVG: no script, no image library, readable without colour.

:func:`trend` draws a small line chart of percentages by month (the PWS's trend of an indicator), with a
``<title>`` and ``<desc>`` for screen readers, labelled axes (months below, percent on the left), a dashed
target line, and each point's value written above it.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

WIDTH, HEIGHT = 320, 160
LEFT, RIGHT, TOP, BOTTOM = 34, 8, 16, 30  # the plot's margins (axis labels)


def _x(i: int, n: int) -> float:
    span = WIDTH - LEFT - RIGHT
    return LEFT + (span / 2 if n == 1 else span * i / (n - 1))


def _y(value: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - min(max(value, 0.0), 100.0) / 100)


def trend(ident: str, title: str, points: Sequence[tuple[date, float | None]], *, month_label, value_label, target: float | None = None,
          target_label: str = "", axis_label: str = "%", description: str = "") -> Markup:
    """A line chart (element ids starting ``ident``) of ``points`` (month, percent or None), the months named by ``month_label(date)`` and
    the values written by ``value_label(value)``; a gap where a month has no value."""
    n = len(points)
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{{id}}-t {{id}}-d" '
             f'xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{{id}}-t">{escape(title)}</title><desc id="{{id}}-d">{escape(description)}</desc>']
    for tick in (0, 50, 100):  # the percent axis
        y = _y(tick)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text class="tick" x="{LEFT - 4}" y="{y + 3:.1f}" text-anchor="end">{tick}</text>')
    parts.append(f'<text class="axis" x="4" y="{TOP - 5}">{escape(axis_label)}</text>')
    if target is not None:
        y = _y(target)
        parts.append(f'<line class="target" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}">'
                     f'<title>{escape(target_label)}</title></line>')
    run: list[str] = []
    for i, (month, value) in enumerate(points):
        x = _x(i, n)
        parts.append(f'<text class="tick" x="{x:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle">'
                     f'{escape(month_label(month))}</text>')
        if value is None:
            if len(run) > 1:
                parts.append(f'<polyline class="line" points="{" ".join(run)}"/>')
            run = []
            continue
        y = _y(value)
        run.append(f"{x:.1f},{y:.1f}")
        parts.append(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3"/>'
                     f'<text class="value" x="{x:.1f}" y="{y - 6:.1f}" text-anchor="middle">{escape(value_label(value))}</text>')
    if len(run) > 1:
        parts.append(f'<polyline class="line" points="{" ".join(run)}"/>')
    parts.append("</svg>")
    return Markup("".join(parts).replace("{id}", str(escape(ident))))
