"""Each reminder rule fires on the right date: table-first, fixed dates, pure functions."""
from __future__ import annotations

from datetime import date

import pytest

from reminders.rules import Item, Member, ReminderPolicy, Seen, family_items, member_items, posyandu_items, should_send

POLICY = ReminderPolicy()


def subjects(items: list[Item]) -> set[str]:
    return {item.subject for item in items}


@pytest.mark.parametrize(
    ("today", "session", "expected"),
    [
        (date(2026, 12, 4), date(2026, 12, 5), {"before:1"}),
        (date(2026, 12, 5), date(2026, 12, 5), {"before:0"}),
        (date(2026, 12, 3), date(2026, 12, 5), set()),
        (date(2027, 2, 28), date(2027, 3, 1), {"before:1"}),  # across a month end
        (date(2026, 12, 4), None, set()),  # a posyandu without a day
    ],
)
def test_posyandu_day_the_day_before_and_the_morning_of(today, session, expected):
    assert subjects(posyandu_items(today, session, POLICY)) == expected


@pytest.mark.parametrize(
    ("birth", "today", "due", "not_yet"),
    [
        # two months old: DPT-HB-Hib 1, PCV 1, OPV 2, RV 1 are due (born 31 January: 31 March is 2 months)
        (date(2026, 1, 31), date(2026, 3, 31), {"DPT_HB_HIB1", "PCV1", "RV1"}, {"MR1"}),
        (date(2026, 1, 31), date(2026, 3, 30), set(), {"DPT_HB_HIB1"}),
        # nine months: MR1
        (date(2026, 2, 28), date(2026, 11, 28), {"MR1"}, {"MR2"}),
    ],
)
def test_doses_fall_due_on_their_day(birth, today, due, not_yet):
    given = {} if birth.month == 1 else {c: birth for c in ("HB0",)}
    member = Member(1, "Kadek", "M", birth, given=given)
    found = subjects(member_items(today, member, POLICY))
    assert due <= found and not (not_yet & found)


def test_anc_kn_kf_after_a_birth_and_vitamin_a_in_february():
    mother = Member(1, "Ni Made", "F", date(1996, 3, 12), hpht=date(2026, 2, 1), delivered_on=date(2026, 11, 20))
    baby = Member(2, "Bayi", "F", date(2026, 11, 20))
    assert {"KF2"} <= subjects(member_items(date(2026, 11, 23), mother, POLICY))
    assert {"KN2"} <= subjects(member_items(date(2026, 11, 23), baby, POLICY))
    pregnant = Member(3, "Luh", "F", date(1998, 1, 1), hpht=date(2026, 9, 1))
    assert "ANC1" in subjects(member_items(date(2026, 10, 1), pregnant, POLICY))
    toddler = Member(4, "Putu", "M", date(2024, 6, 1))
    assert "VITA_MERAH" in subjects(member_items(date(2027, 2, 1), toddler, POLICY))


def test_yearly_screening_for_adults_and_lansia():
    adult = Member(1, "Wayan", "M", date(1980, 5, 5), history={"SKRINING_PTM": [date(2026, 1, 10)]})
    assert "SKRINING_PTM" not in subjects(member_items(date(2026, 6, 1), adult, POLICY))
    assert "SKRINING_PTM" in subjects(member_items(date(2027, 1, 10), adult, POLICY))
    elder = Member(2, "Nenek", "F", date(1950, 5, 5))
    assert "SKILAS" in subjects(member_items(date(2026, 6, 1), elder, POLICY))


@pytest.mark.parametrize(
    ("seen", "today", "send"),
    [
        (None, date(2026, 12, 1), True),
        (Seen(1, date(2026, 12, 1)), date(2026, 12, 1), False),  # planned today already
        (Seen(1, date(2026, 12, 1)), date(2026, 12, 7), False),  # 6 days: too soon
        (Seen(1, date(2026, 12, 1)), date(2026, 12, 8), True),  # 7 days
        (Seen(3, date(2026, 12, 1)), date(2027, 1, 8), False),  # 3 times: enough
    ],
)
def test_repeats_every_n_days_at_most_m_times(seen, today, send):
    item = Item("dose", "DPT_HB_HIB1", date(2026, 4, 1), 1, "Kadek", True)
    assert should_send(item, seen, today, POLICY) is send


def test_a_posyandu_item_is_never_repeated():
    item = Item("posyandu", "before:1", date(2026, 12, 5))
    assert should_send(item, Seen(1, date(2026, 12, 4)), date(2026, 12, 12), POLICY) is False


def test_family_items_gather_every_member():
    members = [Member(1, "Ibu", "F", date(1995, 1, 1)), Member(2, "Kadek", "M", date(2026, 10, 1))]
    items = family_items(date(2026, 12, 4), 9, members, date(2026, 12, 5), {}, POLICY)
    assert items[0].kind == "posyandu"
    assert {i.person_name for i in items[1:]} == {"Ibu", "Kadek"}
