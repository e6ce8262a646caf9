"""Routine immunisation of a child: the state of every dose on a date (CARE.md section 2).

Rules (data in content/care/immunization.yaml, checked and compiled by care/rules_file.py):

* A dose's window opens at the latest of its recommended age, its earliest age and the date of
  the previous dose of its series (``after``) plus the minimum interval. The previous dose's date
  is the day it was given, or, when it is not given yet, the first day it can still be given
  (today when it is due or in catch-up): so a late earlier dose moves the later ones by their
  minimum interval.
* ``due`` runs from the window's opening to the end of the still-on-time window, ``catch_up``
  from there to the end of the kejar window; a dose whose window has closed (or never opens, e.g.
  rotavirus from 7 months on) is ``missed``, and so is a dose whose previous dose is missed.
* A given dose is ``invalid`` when it was given before its earliest age or sooner than its
  minimum interval after the recorded previous dose. It must be repeated: its ``earliest`` /
  ``latest`` are the window for the repeat, which opens no sooner than the normal window and no
  sooner than the minimum interval (or the default 4 weeks for single doses) after the invalid
  dose; later doses count from that repeat. A dose given late is still ``given``.
* Catch-up paths (PCV) pick, by the age at the first dose (given or projected), a variant of the
  later doses or leave them out: doses a path makes unnecessary are absent from the result, like
  JE when its regional switch is off.
* ``given`` doses after ``on`` are ignored (the record is read as it stood on ``on``).

``DoseState.earliest`` / ``latest`` (inclusive) describe the window the state refers to: the
coming window for ``upcoming`` (the on-time window, or the catch-up one if that is all that is
left), the on-time window for ``due``, the catch-up window for ``catch_up``, the repeat window for
``invalid``; both are None for ``given`` and ``missed`` (``given_on`` holds the date given).
"""
from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from care.dates import add_months
from care.rules import BiasDose, DoseRule, ImmunizationSchedule, Schedule, SeriesPaths
from care.rules_file import load_schedule

UPCOMING = "upcoming"
DUE = "due"
CATCH_UP = "catch_up"
MISSED = "missed"
GIVEN = "given"
INVALID = "invalid"
STATES = (UPCOMING, DUE, CATCH_UP, MISSED, GIVEN, INVALID)

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class DoseState:
    """The state of one dose on a date and the window it refers to (inclusive dates)."""

    state: str
    earliest: date | None
    latest: date | None
    given_on: date | None = None


def _dose_state(state: str, earliest: date | None, latest: date | None, given_on: date | None = None,
                _new=object.__new__, _s=DoseState.state.__set__, _e=DoseState.earliest.__set__,
                _l=DoseState.latest.__set__, _g=DoseState.given_on.__set__) -> DoseState:
    """DoseState(...) without the frozen-dataclass __init__ overhead (the hot path builds ~20 per child)."""
    obj = _new(DoseState)
    _s(obj, state)
    _e(obj, earliest)
    _l(obj, latest)
    _g(obj, given_on)
    return obj


_MISSED = DoseState(MISSED, None, None)
_GIVEN: dict[date, DoseState] = {}


def _given(day: date) -> DoseState:
    """The (shared, immutable) state of a dose validly given on ``day``."""
    state = _GIVEN.get(day)
    if state is None:
        if len(_GIVEN) > 50_000:
            _GIVEN.clear()
        state = _GIVEN[day] = _dose_state(GIVEN, None, None, day)
    return state


def _immunization(schedule: Schedule | ImmunizationSchedule | None) -> ImmunizationSchedule:
    """The immunisation part of ``schedule`` (default: the content schedule)."""
    if schedule is None:
        return load_schedule().immunization
    if isinstance(schedule, ImmunizationSchedule):
        return schedule
    return schedule.immunization


@lru_cache(maxsize=16384)
def _windows(imm: ImmunizationSchedule, birth: date) -> tuple[tuple[date, date, date, date, date, date], ...]:
    """Per rule index: window opening, earliest valid day, on-time and final ends (exclusive, then inclusive)."""
    out = []
    for rule in imm.all_rules:
        earliest = rule.earliest.after(birth)
        start = max(rule.recommended.after(birth), earliest)
        on_time_end = rule.on_time_end.after(birth)
        final_end = rule.catch_up_end.after(birth) if rule.catch_up_end is not None else on_time_end
        if rule.not_from is not None:
            limit = rule.not_from.after(birth)
            on_time_end, final_end = min(on_time_end, limit), min(final_end, limit)
        out.append((start, earliest, on_time_end, final_end, on_time_end - ONE_DAY, final_end - ONE_DAY))
    return tuple(out)


def _pick_path(paths: SeriesPaths, birth: date, first: date) -> Mapping[str, DoseRule | None]:
    """The dose variants of the catch-up path matching a first dose on ``first`` (empty: standard)."""
    for path in paths.paths:
        if first >= path.first_from.after(birth) and (path.first_end is None or first < path.first_end.after(birth)):
            return path.doses
    return {}


def dose_states(
    birth: date,
    given: Mapping[str, date],
    on: date,
    *,
    je: bool = False,
    schedule: Schedule | ImmunizationSchedule | None = None,
    approximate: Collection[str] = frozenset(),
) -> dict[str, DoseState]:
    """The state on ``on`` of every routine dose for a child born on ``birth``, in schedule order.

    ``given`` maps dose codes to the day given. JE is included when ``je`` is true or the
    schedule's ``je`` switch is on (a district override). The doses in ``approximate`` have a
    date that is not exact (care.history): they count as given, and neither they nor the dose
    after them are judged by the earliest age or the minimum interval.
    """
    # One pass in schedule order, kept inline: it is the hot path of a population run.
    imm = _immunization(schedule)
    table = _windows(imm, birth)
    out: dict[str, DoseState] = {}
    anchors: dict[str, date | None] = {}  # the day the next dose of the series counts from
    recorded: dict[str, date] = {}
    swap: dict[str, DoseRule | None] = {}
    paths = imm.paths
    for rule in imm.plan_je if je else imm.plan_no_je:
        code = rule.code
        given_on = given.get(code)
        if given_on is not None:
            if given_on > on:
                given_on = None
            else:
                recorded[code] = given_on
        if swap and code in swap:
            variant = swap[code]
            if variant is None:
                if given_on is not None:
                    out[code] = _given(given_on)
                continue
            rule = variant
        start, valid_from, on_time_end, final_end, on_time_last, final_last = table[rule.index]
        prev = rule.after
        interval = rule.min_interval
        state = anchor = None
        if given_on is not None:
            if approximate and (code in approximate or prev in approximate):
                state, anchor = _given(given_on), given_on
            elif given_on >= valid_from:
                before = recorded.get(prev) if prev is not None and interval is not None else None
                if before is None or given_on >= interval.after(before):
                    state, anchor = _given(given_on), given_on
        if state is None:
            blocked = False
            if prev is not None:
                previous = anchors.get(prev)
                if previous is None:
                    blocked = True
                else:
                    opens = interval.after(previous) if interval is not None else previous
                    if opens > start:
                        start = opens
            if given_on is not None:  # given too early or too soon: to be repeated
                again = (interval or rule.repeat_after).after(given_on)
                if again > start:
                    start = again
                if blocked or start >= final_end:
                    state = _dose_state(INVALID, None, None, given_on)
                else:
                    state = _dose_state(INVALID, start, final_last, given_on)
                    anchor = start if start > on else on
            elif blocked or start >= final_end:
                state = _MISSED
            elif on < start:
                state = _dose_state(UPCOMING, start, on_time_last if start < on_time_end else final_last)
                anchor = start
            elif on < on_time_end:
                state, anchor = _dose_state(DUE, start, on_time_last), on
            elif on < final_end:
                state = _dose_state(CATCH_UP, start if start > on_time_end else on_time_end, final_last)
                anchor = on
            else:
                state = _MISSED
        out[code] = state
        anchors[code] = anchor
        if code in paths:
            first = given_on if state.state == GIVEN else anchor
            if first is not None:
                swap.update(_pick_path(paths[code], birth, first))
    return out


@dataclass(frozen=True, slots=True)
class DoseSummary:
    """A child's doses for display, each list of (code, state) sorted by date."""

    given: tuple[tuple[str, DoseState], ...]
    due: tuple[tuple[str, DoseState], ...]
    catch_up: tuple[tuple[str, DoseState], ...]
    invalid: tuple[tuple[str, DoseState], ...]
    missed: tuple[tuple[str, DoseState], ...]
    next_upcoming: tuple[tuple[str, DoseState], ...]


def summarize(states: Mapping[str, DoseState]) -> DoseSummary:
    """Group dose states for display; ``next_upcoming`` holds the doses of the nearest upcoming date."""
    order = {code: i for i, code in enumerate(states)}
    groups: dict[str, list[tuple[str, DoseState]]] = {s: [] for s in STATES}
    for code, state in states.items():
        groups[state.state].append((code, state))

    def by_date(items: list[tuple[str, DoseState]], key: str) -> tuple[tuple[str, DoseState], ...]:
        """Items sorted by one of their dates, schedule order breaking ties."""
        return tuple(sorted(items, key=lambda it: (getattr(it[1], key) or date.max, order[it[0]])))

    upcoming = by_date(groups[UPCOMING], "earliest")
    nearest = upcoming[0][1].earliest if upcoming else None
    return DoseSummary(
        given=by_date(groups[GIVEN], "given_on"),
        due=by_date(groups[DUE], "earliest"),
        catch_up=by_date(groups[CATCH_UP], "earliest"),
        invalid=by_date(groups[INVALID], "earliest"),
        missed=tuple(groups[MISSED]),
        next_upcoming=tuple(it for it in upcoming if it[1].earliest == nearest),
    )


def child_summary(
    birth: date,
    given: Mapping[str, date],
    on: date,
    *,
    je: bool = False,
    schedule: Schedule | ImmunizationSchedule | None = None,
    approximate: Collection[str] = frozenset(),
) -> DoseSummary:
    """The display summary of a child's immunisation on ``on``."""
    return summarize(dose_states(birth, given, on, je=je, schedule=schedule, approximate=approximate))


# --- school programme and Td status --------------------------------------------------------


def bias_doses(grade: int, sex: str, year: int, *,
               schedule: Schedule | ImmunizationSchedule | None = None) -> tuple[BiasDose, ...]:
    """The BIAS doses of a school grade for a child of ``sex`` in school year ``year``."""
    imm = _immunization(schedule)
    return tuple(
        d for d in imm.bias
        if d.grade == grade and (d.sex is None or d.sex == sex) and (d.until_year is None or year <= d.until_year)
    )


def hpv_catch_up_due(birth: date, sex: str, on: date, *, hpv_given: bool,
                     schedule: Schedule | ImmunizationSchedule | None = None) -> bool:
    """Whether the HPV catch-up dose applies on ``on`` (girl of the catch-up age, no HPV yet)."""
    rule = _immunization(schedule).hpv_catch_up
    if rule is None or hpv_given or sex != rule.sex or on.year < rule.from_year:
        return False
    return add_months(birth, 12 * rule.age_years) <= on < add_months(birth, 12 * (rule.age_years + 1))


@dataclass(frozen=True, slots=True)
class TdStatus:
    """Td status of a woman: level 0-5 (T0-T5), the doses counted and what comes next."""

    level: int
    counted: tuple[date, ...]
    protected_until: date | None
    next_dose: str | None
    next_earliest: date | None


def td_status(doses: Iterable[date], on: date, *,
              schedule: Schedule | ImmunizationSchedule | None = None) -> TdStatus:
    """Td status on ``on`` from the dates of tetanus-containing doses (childhood doses included).

    A dose sooner than the step's minimum interval after the last counted dose does not count.
    ``protected_until`` is the last counted dose plus its protection years (None below T2).
    """
    steps = _immunization(schedule).td
    counted: list[date] = []
    for d in sorted(x for x in doses if x <= on):
        if len(counted) >= len(steps):
            break
        if not counted or d >= steps[len(counted)].min_interval.after(counted[-1]):
            counted.append(d)
    level = len(counted)
    protected = None
    if level and steps[level - 1].protection_years:
        protected = add_months(counted[-1], 12 * steps[level - 1].protection_years)
    if level >= len(steps):
        return TdStatus(level, tuple(counted), protected, None, None)
    nxt = steps[level]
    earliest = nxt.min_interval.after(counted[-1]) if counted else on
    return TdStatus(level, tuple(counted), protected, nxt.code, earliest)
