"""The SATUSEHAT code tables: every dose and every measurement kind has a row, each row is whole or says
why not, and the sources note names both tables."""
import re

import pytest

from care.labels import DOSE_LABELS
from content.satusehat import CONFIRMED, TABLE_DIR, UNCONFIRMED, measure_code, measure_codes, vaccines
from handlers.visit import MEASURE_KINDS

REASONS = {"IM-Program", "IM-Rutin", "IM-Dasar", "IM-Lanjutan", "IM-Baduta", "IM-SD", "IM-WUS", "IM-Tambahan",
           "IM-Khusus", "IM-Pilihan"}


def test_every_dose_of_the_vocabulary_has_a_row_and_no_other():
    assert set(vaccines()) == set(DOSE_LABELS)


@pytest.mark.parametrize("dose", sorted(DOSE_LABELS))
def test_a_vaccine_row_is_whole_or_marked_unconfirmed(dose):
    row = vaccines()[dose]
    assert row.status in (CONFIRMED, UNCONFIRMED)
    assert re.fullmatch(r"VG\d+", row.vg_code) and row.vg_display
    assert re.fullmatch(r"\d{1,3}", row.cvx_code) and row.cvx_display
    assert row.reason in REASONS
    if row.kfa_code:
        assert re.fullmatch(r"93\d{6}", row.kfa_code) and row.kfa_display
    else:
        assert row.status == UNCONFIRMED and row.note, "a missing KFA product is marked and explained"
    if row.status == UNCONFIRMED:
        assert row.note


def test_every_measurement_kind_has_a_code():
    for kind in MEASURE_KINDS:
        assert measure_code(kind, None) is not None, kind


@pytest.mark.parametrize(("kind", "detail", "code", "ucum"), [
    ("weight_kg", None, "29463-7", "kg"),
    ("length_cm", "l", "8306-3", "cm"),
    ("length_cm", "h", "8302-2", "cm"),
    ("length_cm", None, "8302-2", "cm"),
    ("sbp", None, "8480-6", "mm[Hg]"),
    ("dbp", None, "8462-4", "mm[Hg]"),
    ("glucose", None, "2339-0", "mg/dL"),
])
def test_a_measurement_reads_its_row(kind, detail, code, ucum):
    row = measure_code(kind, detail)
    assert (row.code, row.ucum) == (code, ucum)


def test_measurement_rows_are_whole_or_marked():
    for row in measure_codes().values():
        assert row.code and row.display and row.ucum and row.system.startswith("http://")
        assert row.status in (CONFIRMED, UNCONFIRMED)
        assert row.category in ("vital-signs", "exam", "laboratory")
        if row.status == UNCONFIRMED:
            assert row.note


def test_the_sources_note_names_both_tables():
    text = (TABLE_DIR / "SOURCES.md").read_text(encoding="utf-8")
    assert "vaccines.csv" in text and "measurements.csv" in text


def test_an_unknown_kind_has_no_code():
    assert measure_code("shoe_size", None) is None
