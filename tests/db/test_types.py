"""``UTCDateTime`` (db/types.py): timestamps stored as UTC and always read back aware."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from db.types import UTCDateTime

SQLITE, POSTGRES = SimpleNamespace(name="sqlite"), SimpleNamespace(name="postgresql")
WITA = timezone(timedelta(hours=8))


def test_an_aware_time_is_stored_as_utc_without_a_zone_in_sqlite_and_with_one_in_postgresql():
    column = UTCDateTime()
    local = datetime(2026, 11, 23, 10, 0, tzinfo=WITA)
    assert column.process_bind_param(local, SQLITE) == datetime(2026, 11, 23, 2, 0)
    assert column.process_bind_param(local, POSTGRES) == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    assert column.process_bind_param(None, SQLITE) is None


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="naive datetime"):
        UTCDateTime().process_bind_param(datetime(2026, 11, 23, 2, 0), SQLITE)


def test_what_is_read_back_is_aware_utc():
    column = UTCDateTime()
    assert column.process_result_value(datetime(2026, 11, 23, 2, 0), SQLITE) == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    read = column.process_result_value(datetime(2026, 11, 23, 10, 0, tzinfo=WITA), POSTGRES)
    assert read == datetime(2026, 11, 23, 2, 0, tzinfo=UTC) and read.tzinfo is UTC
    assert column.process_result_value(None, POSTGRES) is None
