"""The labels of care/labels.py: one for every code of content/care, each a msgid of the catalogue."""
from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

from care import labels
from care.rules_file import load_schedule

TEMPLATE = Path(__file__).resolve().parents[2] / "content" / "locales" / "messages.pot"


def test_every_code_of_the_schedule_has_its_label() -> None:
    schedule = load_schedule()
    assert {r.code for r in schedule.immunization.doses} == set(labels.DOSE_LABELS)
    assert {d.code for d in schedule.immunization.bias} | {schedule.immunization.hpv_catch_up.code} == set(
        labels.BIAS_LABELS)
    assert {t.code for t in schedule.immunization.td} == set(labels.TD_LABELS)
    assert {r.code for r in schedule.services.rules} == set(labels.SERVICE_LABELS)


def test_every_label_is_a_msgid_of_the_template() -> None:
    with open(TEMPLATE, "rb") as fh:
        msgids = {m.id for m in read_po(fh) if m.id}
    tables = [labels.DOSE_LABELS, labels.BIAS_LABELS, labels.TD_LABELS, labels.SERVICE_LABELS,
              labels.RECORD_LABELS, labels.DOSE_STATE_LABELS, labels.SERVICE_STATE_LABELS]
    missing = [text for table in tables for text in table.values() if text not in msgids]
    assert missing == []
    assert labels.N_("x") == "x"
