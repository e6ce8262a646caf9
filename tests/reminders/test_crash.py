"""The real bot, killed with SIGKILL three times while it sends a broadcast and a day's reminders,
loses nothing and repeats at most the message in flight at each kill (bench/crash.py, shortened)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bench.crash import report, run

FAMILIES = 150  # 150 broadcast messages + 150 reminders
KILLS = 3
SEED = 20261124


async def test_kills_lose_nothing_and_repeat_at_most_one_message_each(db, db_url):
    lines: list[str] = []
    log = Path(tempfile.gettempdir()) / f"ilpbot-test-{os.getpid()}-crash.log"  # scanned by tests/log_scan.py
    log.unlink(missing_ok=True)
    # lapse_leases: after each kill the dead process's leases are expired instead of waited out (60 s)
    result = await run(db_url, messages=FAMILIES, kills=KILLS, seed=SEED, rate=30, lapse_leases=True,
                       log=log, timeout=90, echo=lines.append)
    report(result, echo=lines.append)
    summary = "\n".join(lines)
    assert len(result.kills) == KILLS, summary
    assert result.expected_reminders == FAMILIES, summary
    assert result.states == {"sent": 2 * FAMILIES}, summary
    assert result.lost == 0 and result.unexpected == 0, summary
    assert result.duplicates <= KILLS and result.unkilled_duplicates == 0, summary
    assert result.exit_code == 0 and not result.survivors, summary
    assert result.ok, summary
