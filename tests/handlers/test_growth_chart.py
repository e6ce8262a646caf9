"""The growth chart PNG: WHO curves from care.growth's tables, the child's points, labels through _()."""
from __future__ import annotations

import gettext
import io
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import numpy as np
import pytest
from matplotlib.image import imread
from PIL import Image

import content.i18n as i18n
from care import growth
from handlers import growth_chart
from handlers.growth_chart import (
    DARK_BLUE,
    GREEN,
    HEIGHT_PX,
    ORANGE,
    RED,
    WIDTH_PX,
    horizon_months,
    render_growth_chart,
    who_sd_curves,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TODAY = date(2025, 5, 20)
BIRTH = date(2024, 3, 12)
BOY_POINTS = [
    (date(2024, 3, 12), 3.2, 50.0),
    (date(2024, 6, 10), 6.1, 61.0),
    (date(2024, 9, 10), 7.4, None),
    (date(2025, 1, 14), None, 72.5),
    (date(2025, 5, 13), 9.1, 77.0),
]
GIRL_POINTS = [
    (date(2024, 3, 12), 3.0, 49.0),
    (date(2024, 7, 2), 6.0, 62.5),
    (date(2025, 5, 13), 8.4, 74.0),
]

#: The chart's own msgids (what the lead adds to the catalogue).
CHART_MSGIDS = {
    "Grafik pertumbuhan {name} ({sex})",
    "Berat badan menurut umur (BB/U)",
    "Panjang/tinggi badan menurut umur (PB/U, TB/U)",
    "Umur (bulan)",
    "Berat badan (kg)",
    "Panjang/tinggi badan (cm)",
    "Median",
    "-2 SD",
    "+2 SD",
    "-3 SD",
    "+3 SD",
    "Anak",
    "Standar WHO / Permenkes No. 2 Tahun 2020",
}


def _rgb(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _hex(colour: str) -> np.ndarray:
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])


def _pixels_near(image: np.ndarray, colour: str, tolerance: int = 16) -> int:
    """How many pixels are within ``tolerance`` (per channel) of ``colour``."""
    return int((np.abs(image - _hex(colour)).max(axis=2) <= tolerance).sum())


@pytest.fixture(scope="module")
def boy_png() -> bytes:
    return render_growth_chart(1, BIRTH, BOY_POINTS, name="Budi Santoso", lang="id", today=TODAY)


@pytest.fixture(scope="module")
def girl_png() -> bytes:
    return render_growth_chart(2, BIRTH, GIRL_POINTS, name="Siti Aminah", lang="id", today=TODAY)


@pytest.mark.parametrize("which", ["boy_png", "girl_png"])
def test_png_opens_with_the_expected_size(which: str, request: pytest.FixtureRequest) -> None:
    png = request.getfixturevalue(which)
    assert png.startswith(PNG_SIGNATURE)
    assert len(png) < 150_000
    image = imread(io.BytesIO(png))
    assert image.shape[:2] == (HEIGHT_PX, WIDTH_PX)
    with Image.open(io.BytesIO(png)) as pil:
        assert pil.format == "PNG" and pil.size == (WIDTH_PX, HEIGHT_PX)


@pytest.mark.parametrize("which", ["boy_png", "girl_png"])
def test_chart_has_the_child_line_and_the_curve_colours(which: str, request: pytest.FixtureRequest) -> None:
    image = _rgb(request.getfixturevalue(which))
    assert _pixels_near(image, DARK_BLUE) > 300  # the child's line and markers, both panels
    assert _pixels_near(image, GREEN) > 1000  # the medians
    assert _pixels_near(image, ORANGE) > 1000
    assert _pixels_near(image, RED) > 1000


def test_no_child_line_without_points() -> None:
    png = render_growth_chart(1, BIRTH, [], name="Budi", lang="id", today=TODAY)
    image = _rgb(png)
    # The legend's sample line is all that is dark blue.
    assert _pixels_near(image, DARK_BLUE) < 150
    assert _pixels_near(image, GREEN) > 1000


def test_boy_and_girl_differ(boy_png: bytes, girl_png: bytes) -> None:
    assert boy_png != girl_png


def test_rendering_is_deterministic(boy_png: bytes) -> None:
    assert render_growth_chart(1, BIRTH, BOY_POINTS, name="Budi Santoso", lang="id", today=TODAY) == boy_png


def test_english_and_indonesian_differ(boy_png: bytes) -> None:
    english = render_growth_chart(1, BIRTH, BOY_POINTS, name="Budi Santoso", lang="en", today=TODAY)
    assert english.startswith(PNG_SIGNATURE)
    assert english != boy_png


class _Recording(gettext.NullTranslations):
    """A catalogue that marks every message (placeholders kept) and remembers what was asked."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def gettext(self, message: str) -> str:
        self.asked.append(message)
        return f"<{message}>"

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        self.asked.append(singular)
        return f"<{singular if n == 1 else plural}>"


def test_every_label_goes_through_the_catalogue(monkeypatch: pytest.MonkeyPatch, boy_png: bytes) -> None:
    catalogue = _Recording()
    monkeypatch.setattr(i18n, "translations", lambda lang: catalogue if lang == "id" else gettext.NullTranslations())
    png = render_growth_chart(1, BIRTH, BOY_POINTS, name="Budi Santoso", lang="id", today=TODAY)
    assert CHART_MSGIDS <= set(catalogue.asked)
    assert "Laki-laki" in catalogue.asked
    assert png != boy_png


def test_points_with_none_are_skipped(boy_png: bytes) -> None:
    assert growth_chart._child_series(BIRTH, BOY_POINTS, 1)[1] == [3.2, 6.1, 7.4, 9.1]
    assert growth_chart._child_series(BIRTH, BOY_POINTS, 2)[1] == [50.0, 61.0, 72.5, 77.0]
    # A visit with neither measurement draws nothing: the PNG is byte for byte the same.
    with_empty = [*BOY_POINTS[:2], (date(2024, 8, 1), None, None), *BOY_POINTS[2:]]
    assert render_growth_chart(1, BIRTH, with_empty, name="Budi Santoso", lang="id", today=TODAY) == boy_png


def test_points_are_sorted_by_date() -> None:
    xs, ys = growth_chart._child_series(BIRTH, list(reversed(BOY_POINTS)), 1)
    assert xs == sorted(xs) and ys == [3.2, 6.1, 7.4, 9.1]


def test_horizon() -> None:
    assert horizon_months(0) == 12
    assert horizon_months(6.5) == 18  # age + 6 = 12.5, up to the next 6 months
    assert horizon_months(14.2) == 24
    assert horizon_months(53.9) == 60
    assert horizon_months(59) == 60
    assert horizon_months(75) == 60  # older than 60 months: capped


def test_child_older_than_60_months_is_capped() -> None:
    birth = date(2019, 1, 5)
    points = [(date(2019, 1, 5), 2.9, 48.5), (date(2021, 2, 1), 10.5, None), (date(2023, 12, 20), 15.1, 101.0)]
    png = render_growth_chart(2, birth, points, name="Siti", lang="id", today=date(2025, 5, 1))
    assert imread(io.BytesIO(png)).shape[:2] == (HEIGHT_PX, WIDTH_PX)
    # A visit after 60 months is off the standards and off the chart.
    late = [*points, (date(2024, 6, 1), 16.0, 104.0)]
    assert render_growth_chart(2, birth, late, name="Siti", lang="id", today=date(2025, 5, 1)) == png
    months, curves = who_sd_curves("wfa", 2, horizon_months(76))
    assert months[-1] <= 60 and len(months) == growth.MAX_AGE_DAYS + 1


@pytest.mark.parametrize("sex", [1, 2])
@pytest.mark.parametrize("index", ["wfa", "lhfa"])
def test_curves_have_the_z_scores_of_care_growth(sex: int, index: str) -> None:
    months, curves = who_sd_curves(index, sex, 60)
    for i in range(0, len(months), 97):
        if np.isnan(months[i]):
            continue
        day = round(months[i] * growth.DAYS_PER_MONTH)
        for z, values in curves.items():
            kwargs = {"weight_kg": values[i]} if index == "wfa" else {"length_cm": values[i]}
            assert growth.zscores(sex, day, **kwargs)[index] == pytest.approx(z, abs=0.01)
    l, m, s = growth._tables()[index].lms(sex, 0)
    assert curves[0.0][0] == pytest.approx(m)


def test_length_curves_break_at_24_months() -> None:
    months, curves = who_sd_curves("lhfa", 1, 36)
    gap = int(np.flatnonzero(np.isnan(months))[0])
    assert all(np.isnan(values[gap]) for values in curves.values())
    assert round(months[gap - 1] * growth.DAYS_PER_MONTH) == growth.STANDING_FROM_DAYS - 1
    assert round(months[gap + 1] * growth.DAYS_PER_MONTH) == growth.STANDING_FROM_DAYS
    assert not np.isnan(who_sd_curves("lhfa", 1, 24)[0]).any()


def test_curves_are_cached() -> None:
    assert who_sd_curves("wfa", 1, 24) is who_sd_curves("wfa", 1, 24)
    months, _ = who_sd_curves("wfa", 1, 24)
    with pytest.raises(ValueError):
        months[0] = 1.0  # shared between charts: read-only


def test_bad_sex_is_refused() -> None:
    with pytest.raises(ValueError):
        render_growth_chart(3, BIRTH, BOY_POINTS, name="X", lang="id", today=TODAY)


def test_names_are_text_not_mathtext() -> None:
    png = render_growth_chart(1, BIRTH, BOY_POINTS, name="Rp $5 anak $ {x} " + "Panjang" * 20,
                              lang="id", today=TODAY)
    assert png.startswith(PNG_SIGNATURE)


def test_threads_render_independently(boy_png: bytes) -> None:
    english = render_growth_chart(1, BIRTH, BOY_POINTS, name="Budi Santoso", lang="en", today=TODAY)
    langs = ["id", "en"] * 3
    with ThreadPoolExecutor(max_workers=3) as pool:
        pngs = list(pool.map(lambda lang: render_growth_chart(1, BIRTH, BOY_POINTS, name="Budi Santoso",
                                                              lang=lang, today=TODAY), langs))
    assert pngs == [boy_png, english] * 3
