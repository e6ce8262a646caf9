"""The daily reminder's words: every item named plainly, with when after a dash, in both languages."""
from __future__ import annotations

from datetime import date

import pytest

from care.labels import DOSE_LABELS, SERVICE_LABELS
from content.i18n import _, use_locale
from reminders.messages import daily_text
from reminders.rules import Item

TODAY = date(2026, 12, 4)
BIRTH = date(2026, 9, 20)

ITEMS = [
    Item("posyandu", "before:1", date(2026, 12, 5)),
    Item("dose", "PCV1", BIRTH, 2, "Kadek Bayu", False, date(2027, 9, 19)),  # due, until next September
    Item("dose", "DPT_HB_HIB1:again", BIRTH, 2, "Kadek Bayu", True, date(2027, 9, 19)),  # given too early
    Item("dose", "MR1", date(2024, 9, 14), 3, "Putu Adi", True, date(2029, 9, 13)),  # late: catch-up
    Item("service", "OBAT_CACING", date(2026, 9, 14), 3, "Putu Adi", True, None),  # a late service
    Item("service", "SKRINING_PTM", date(2026, 1, 1), 1, "Ni Luh Sari", False, date(2026, 12, 31)),
]


@pytest.mark.parametrize("language", ["id", "en"])
def test_each_item_says_plainly_when(language):
    text = daily_text("Komang Ariawan", "Posyandu Mawar", ITEMS, TODAY, language)
    with use_locale(language):
        lines = text.splitlines()
        assert lines[0] == _("Pengingat untuk keluarga {name}:", name="Komang Ariawan")
        assert lines[-1] == _("Detail: /jadwal. Berhenti menerima pengingat: /berhenti.")
        baby = next(line for line in lines if line.startswith("\u2022 Kadek Bayu: "))
        pcv, dpt = _(DOSE_LABELS["PCV1"]), _(DOSE_LABELS["DPT_HB_HIB1"])
        assert f"{pcv} \u2013 " + _("sampai {end}", end="19 Sep 2027") in baby
        assert f"{dpt} \u2013 " + _("perlu diulang, sampai {end}", end="19 Sep 2027") in baby
        adi = next(line for line in lines if line.startswith("\u2022 Putu Adi: "))
        assert f"{_(DOSE_LABELS['MR1'])} \u2013 " + _("terlambat, masih bisa dikejar sampai {end}", end="13 Sep 2029") in adi
        assert f"{_(SERVICE_LABELS['OBAT_CACING'])} \u2013 " + _("terlambat") in adi
        mother = next(line for line in lines if line.startswith("\u2022 Ni Luh Sari: "))
        assert mother.endswith(_("sampai {end}", end="31 Des" if language == "id" else "31 Dec"))
    assert ") (" not in text and "(ulang)" not in text and "(terlambat)" not in text and "kejar)" not in text


def test_a_late_dose_without_an_end_and_a_dose_to_repeat_without_one():
    items = [Item("dose", "BCG", BIRTH, 2, "Kadek", True, None), Item("dose", "OPV1:again", BIRTH, 2, "Kadek", True, None)]
    text = daily_text("Keluarga", "Posyandu Mawar", items, TODAY, "id")
    assert "BCG \u2013 terlambat, masih bisa dikejar" in text and "Polio tetes 1 \u2013 perlu diulang" in text


def test_remembered_words_follow_the_language_and_the_day():
    """An item's words are remembered per language and day: the same item in the other language, or on a
    day of another year, is worded anew."""
    from reminders import messages

    messages._WORDS.clear()
    messages._ENDS.clear()
    first_id = daily_text("Komang Ariawan", "Posyandu Mawar", ITEMS, TODAY, "id")
    first_en = daily_text("Komang Ariawan", "Posyandu Mawar", ITEMS, TODAY, "en")
    assert daily_text("Komang Ariawan", "Posyandu Mawar", ITEMS, TODAY, "id") == first_id
    assert daily_text("Komang Ariawan", "Posyandu Mawar", ITEMS, TODAY, "en") == first_en
    with use_locale("en"):
        assert _("sampai {end}", end="19 Sep 2027") in first_en
    pcv = [ITEMS[1]]
    with use_locale("id"):
        assert _("sampai {end}", end="19 Sep") in daily_text("K", "P", pcv, date(2027, 1, 4), "id")
        assert _("sampai {end}", end="19 Sep 2027") in daily_text("K", "P", pcv, TODAY, "id")
