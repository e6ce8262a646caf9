"""The referral outcome as stored (db/referrals.py): the one function the chat and the web record it with."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from db.models import Referral
from db.referrals import MAX_NOTE, NoteTooLong, clean_note, record_outcome

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def referral(status: str = "open") -> Referral:
    return Referral(id=7, person_id=1, posyandu_id=1, reason="stunting", status=status, opened_on=date(2026, 11, 13), created_at=NOW)


@pytest.mark.parametrize("text, expected", [("  diberi   PMT ", "diberi PMT"), ("", None), ("   ", None), (None, None),
                                            ("x" * MAX_NOTE, "x" * MAX_NOTE)])
def test_a_note_is_kept_as_its_words(text, expected):
    assert clean_note(text) == expected


def test_a_note_too_long_names_its_length():
    with pytest.raises(NoteTooLong) as raised:
        clean_note("x" * (MAX_NOTE + 1))
    assert raised.value.count == MAX_NOTE + 1


@pytest.mark.parametrize("status", ["open", "not_found"])
def test_an_outcome_is_written_on_a_followed_referral_and_its_audit_detail_returned(status):
    row = referral(status)
    detail = record_outcome(row, "referred_on", "ke RSUD", 5, NOW, date(2026, 11, 23))
    assert (row.status, row.outcome_note, row.outcome_by, row.outcome_at) == ("referred_on", "ke RSUD", 5, NOW)
    assert detail == {"outcome": "referred_on", "reason": "stunting", "days": 10, "note": True}


@pytest.mark.parametrize("status, outcome", [("came", "treated"), ("open", "sembuh"), ("open", "open")])
def test_a_closed_referral_or_an_unknown_outcome_is_not_written(status, outcome):
    row = referral(status)
    with pytest.raises(ValueError):
        record_outcome(row, outcome, None, 5, NOW, date(2026, 11, 23))
    assert row.status == status and row.outcome_at is None
