"""Benchmark of the care rules: stages, immunisation doses and ILP services for N synthetic people.

The people follow a rough Indonesian age mix (about 9% under five, 2% pregnant, 0.3% in nifas,
10% aged 60+, the rest spread over 5-59 years), with some doses and services missing. Only the
evaluation is timed (people are generated in chunks beforehand), on one core, as the chat's
``/jadwal`` would call it: stages, dose states for under-fives, services with a 60-day horizon.

Run from the repository root:  .venv/bin/python bench/care_rules.py [--n 1000000] [--seed 7]
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import shlex
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from care.immunization import dose_states  # noqa: E402
from care.rules_file import load_schedule  # noqa: E402
from care.services import services_due  # noqa: E402
from care.stages import add_months, stages_on  # noqa: E402

ON = date(2025, 6, 16)
CHUNK = 50_000
Person = tuple  # (sex, birth, hpht, delivered_on, given, history)


def _day_in_past(rng: random.Random, days: int) -> date:
    """A day within the last ``days`` days before ON."""
    return ON - timedelta(days=rng.randrange(days))


def _child(rng: random.Random, sex: str) -> Person:
    """An under-five with most doses given around their recommended age and some services done."""
    birth = _day_in_past(rng, 5 * 365)
    given = {}
    keep = rng.random()  # some families drop out of the schedule
    for rule in load_schedule().immunization.doses:
        if rng.random() > keep + 0.2:
            continue
        day = rule.recommended.after(birth) + timedelta(days=rng.randrange(0, 45))
        if day <= ON:
            given[rule.code] = day
    history = {}
    if rng.random() < 0.7:
        history["TIMBANG"] = [ON.replace(day=1) - timedelta(days=rng.randrange(0, 40))]
    if rng.random() < 0.6:
        history["VITA_MERAH"] = [date(ON.year, 2, rng.randrange(1, 28))]
    if rng.random() < 0.4:
        history["OBAT_CACING"] = [_day_in_past(rng, 300)]
    if rng.random() < 0.5:
        history["SDIDTK"] = [_day_in_past(rng, 120)]
    return sex, birth, None, None, given, history


def _person(rng: random.Random) -> Person:
    """One synthetic person of the age mix."""
    sex = "F" if rng.random() < 0.5 else "M"
    r = rng.random()
    if r < 0.09:
        return _child(rng, sex)
    if r < 0.19:
        birth = _day_in_past(rng, 30 * 365) - timedelta(days=60 * 365)
        history = {"SKILAS": [_day_in_past(rng, 500)]} if rng.random() < 0.4 else None
        return sex, birth, None, None, None, history
    if r < 0.36:
        birth = _day_in_past(rng, 10 * 365) - timedelta(days=5 * 365 + 2)
        return sex, birth, None, None, None, None
    birth = _day_in_past(rng, 45 * 365) - timedelta(days=15 * 365 + 4)
    history = {"SKRINING_PTM": [_day_in_past(rng, 700)]} if rng.random() < 0.4 else {}
    hpht = delivered = None
    women_15_49 = sex == "F" and ON.year - birth.year < 50
    if women_15_49 and r < 0.36 + 0.035:  # ~2% of everyone pregnant
        hpht = _day_in_past(rng, 280)
        history["ANC"] = [d for d in (hpht + timedelta(days=60), hpht + timedelta(days=120)) if d <= ON]
    elif women_15_49 and r < 0.36 + 0.04:  # ~0.3% in nifas
        delivered = _day_in_past(rng, 43)
        history["KF1"] = [delivered]
    return sex, birth, hpht, delivered, None, history


def _evaluate(people: list[Person]) -> int:
    """Stages, doses (under fives) and services for each person; returns the number of entries."""
    count = 0
    five_years_ago = add_months(ON, -60)
    for sex, birth, hpht, delivered, given, history in people:
        count += len(stages_on(ON, birth=birth, hpht=hpht, delivered_on=delivered))
        if birth > five_years_ago:
            count += len(dose_states(birth, given or {}, ON))
        count += len(services_due(ON, sex=sex, birth=birth, hpht=hpht, delivered_on=delivered,
                                  history=history, horizon_days=60))
    return count


def main(argv: list[str] | None = None) -> None:
    """Generate, evaluate and report people per second."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="number of synthetic people")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    rng = random.Random(args.seed)
    load_schedule()
    wall, cpu, entries, done = 0.0, 0.0, 0, 0
    while done < args.n:
        chunk = [_person(rng) for _ in range(min(CHUNK, args.n - done))]
        gc.collect()  # settle the generator's garbage before the clock starts
        start, start_cpu = time.perf_counter(), time.process_time()
        entries += _evaluate(chunk)
        wall += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        done += len(chunk)
    print(f"command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    print(f"machine: {platform.platform()}; {platform.processor() or platform.machine()}; "
          f"cpu_count={os.cpu_count()}; python {platform.python_version()}; pinned to 1 core")
    print(f"people: {done}; results: {entries}; evaluation: {wall:.2f} s wall, {cpu:.2f} s cpu")
    print(f"people per second: {done / wall:,.0f} (wall clock), {done / cpu:,.0f} (cpu time)")


if __name__ == "__main__":
    main()
