"""ILP posyandu services due for a person on a date, for each of their stages (CARE.md section 3).

Rules are data (content/care/services.yaml, checked and compiled by care/rules_file.py). One entry per service
code at most: the current window (``due`` or ``overdue``) or else the next one (``upcoming``, only
when it opens within ``horizon_days``). ``earliest`` / ``latest`` are the window, inclusive;
``latest`` is None for a window without an end. States by kind:

* anc: due during the trimester until its nth contact is recorded, overdue after it while pregnant;
* event (KN, KF, vitamin A nifas): due in the window, overdue after it until the stage ends
  (newborn: day 28, nifas: day 42);
* rounds (vitamin A): due in the round month, overdue after a missed round until the next round
  while the child is still in the age range; a capsule given after a round (before the next)
  counts for it;
* period (weighing each month, iron tablet each week): due in the current month / week unless
  done; never overdue;
* interval (deworming, PTM screening, SKILAS): due for one interval from the last date done
  (or from the start of the age range when never done), overdue after that;
* ages (SDIDTK): due from each screening age until the next; one not done is replaced by the next.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from care.dates import add_months, age_months, month_days
from care.rules import Schedule, ServiceRule, ServiceSchedule
from care.rules_file import load_schedule
from care.stages import NEWBORN_DAYS, NIFAS_DAYS, STAGE_ORDER, Stage, age_stage, is_pregnant

DUE = "due"
OVERDUE = "overdue"
UPCOMING = "upcoming"
_STATE_RANK = {OVERDUE: 0, DUE: 1, UPCOMING: 2}
_STAGE_RANK = {s: i for i, s in enumerate(STAGE_ORDER)}
ONE_DAY = timedelta(days=1)
_EMPTY: Mapping[str, list[date]] = {}
_HORIZONS = {n: timedelta(days=n) for n in (7, 14, 30, 31, 60, 90)}


@dataclass(frozen=True, slots=True)
class ServiceDue:
    """A service due, overdue or upcoming for one of a person's stages; dates inclusive."""

    code: str
    stage: Stage
    state: str
    earliest: date | None
    latest: date | None
    age_months: int | None = None


def _service_due(code: str, stage: Stage, state: str, earliest: date | None, latest: date | None,
                 age_months: int | None = None, _new=object.__new__, _c=ServiceDue.code.__set__,
                 _st=ServiceDue.stage.__set__, _s=ServiceDue.state.__set__, _e=ServiceDue.earliest.__set__,
                 _l=ServiceDue.latest.__set__, _a=ServiceDue.age_months.__set__) -> ServiceDue:
    """ServiceDue(...) without the frozen-dataclass __init__ overhead (built for every person)."""
    obj = _new(ServiceDue)
    _c(obj, code)
    _st(obj, stage)
    _s(obj, state)
    _e(obj, earliest)
    _l(obj, latest)
    _a(obj, age_months)
    return obj


def _services(schedule: Schedule | ServiceSchedule | None) -> ServiceSchedule:
    """The service part of ``schedule`` (default: the content schedule)."""
    if schedule is None:
        return load_schedule().services
    if isinstance(schedule, ServiceSchedule):
        return schedule
    return schedule.services


def _done_between(dates: Sequence[date], start: date, end: date) -> date | None:
    """The first of ``dates`` within [start, end], or None."""
    found = None
    for d in dates:
        if start <= d <= end and (found is None or d < found):
            found = d
    return found


def _state(on: date, start: date, end: date | None, until: date) -> str | None:
    """due / overdue / upcoming for a window [start, end] seen on ``on`` (None: nothing to show)."""
    if on < start:
        return UPCOMING if start <= until else None
    if end is None or on <= end:
        return DUE
    return OVERDUE


# --- pregnancy and nifas -------------------------------------------------------------------


def _anc(svc: ServiceSchedule, hpht: date, hist: Mapping[str, Sequence[date]], on: date, until: date,
         out: list[ServiceDue]) -> None:
    """ANC contacts by trimester (history keys ANC and ANC1..ANC6, each a contact on its dates).

    A numbered contact (``ANC3``: "pemeriksaan ke-3") also closes the contacts before it, whatever
    the trimester it fell in: a mother whose first check-up came at 20 weeks has had ANC1.
    """
    contacts = set()
    numbered = 0
    for key in svc.anc_pool:
        for d in hist.get(key, ()):
            if hpht <= d <= on:
                contacts.add(d)
                if key != "ANC":
                    numbered = max(numbered, svc.anc_number[key])
    tri = svc.trimesters
    counts = [0] * len(tri)
    for d in contacts:
        days = (d - hpht).days
        for i, (start, end) in enumerate(tri):
            if days >= start and (days < end or i == len(tri) - 1):
                counts[i] += 1
                break
    for number, rule in enumerate(svc.anc_rules, start=1):
        if counts[rule.trimester - 1] >= rule.nth or number <= numbered:
            continue
        start_days, end_days = tri[rule.trimester - 1]
        start = hpht + timedelta(days=start_days)
        end = hpht + timedelta(days=end_days - 1)
        state = _state(on, start, end, until)
        if state is not None:
            out.append(_service_due(rule.code, Stage.PREGNANT, state, start, end))


def _events(rules: Sequence[ServiceRule], base: date, period_days: int, stage: Stage,
            hist: Mapping[str, Sequence[date]], on: date, until: date, out: list[ServiceDue]) -> None:
    """Windows in days after delivery or birth; overdue until the stage ends."""
    stage_end = base + timedelta(days=period_days)
    for rule in rules:
        if _done_between(hist.get(rule.code, ()), base, on) is not None:
            continue
        start = base + timedelta(days=rule.from_days)
        end = base + timedelta(days=rule.until_days)
        if rule.after is not None:
            before = _done_between(hist.get(rule.after, ()), base, on)
            if before is None:
                first = base + timedelta(days=_rule_from_days(rule.after, rules))
                before = first if first > on else on
            start = max(start, before + timedelta(days=rule.gap_days))
            end = max(end, start)
        if start > stage_end:
            continue
        state = _state(on, start, end, until)
        if state is not None and on <= stage_end:
            out.append(_service_due(rule.code, stage, state, start, end))


def _rule_from_days(code: str, rules: Sequence[ServiceRule]) -> int:
    """The first day of the window of rule ``code`` among ``rules`` (0 when absent)."""
    for rule in rules:
        if rule.code == code:
            return rule.from_days
    return 0


# --- services by age -----------------------------------------------------------------------


def _month_bounds(d: date) -> tuple[date, date]:
    """First and last day of the month of ``d``."""
    return d.replace(day=1), d.replace(day=month_days(d.year, d.month))


def _week_bounds(d: date) -> tuple[date, date]:
    """Monday and Sunday of the week of ``d``."""
    monday = d - timedelta(days=d.weekday())
    return monday, monday + timedelta(days=6)


def _period(rule: ServiceRule, lo: date, hi: date | None, hist: Sequence[date], on: date,
            until: date) -> tuple[str, date, date] | None:
    """Once per month / week: this period's window unless done, else the next period's."""
    bounds = _month_bounds if rule.period == "month" else _week_bounds
    p_start, p_end = bounds(max(on, lo))
    for _ in range(2):
        start, end = max(p_start, lo), p_end if hi is None or p_end < hi else hi - ONE_DAY
        if start > end or start > until:
            return None
        if start > on or _done_between(hist, p_start, on) is None:
            return (UPCOMING if start > on else DUE), start, end
        p_start, p_end = bounds(p_end + ONE_DAY)
    return None


def _round_window(index: int, lo: date, last_day: date) -> tuple[date, date, date]:
    """(first day of the round month ``index`` = year * 12 + month - 1, window start, window end)."""
    year, month = divmod(index, 12)
    month += 1
    first = date(year, month, 1)
    end = date(year, month, month_days(year, month))
    return first, (first if first > lo else lo), (end if end < last_day else last_day)


def _rounds(rule: ServiceRule, lo: date, hi: date | None, hist: Sequence[date], on: date,
            until: date) -> tuple[str, date, date] | None:
    """Round months (vitamin A): due in the round, overdue after a missed round until the next."""
    if rule.once and any(d <= on for d in hist):
        return None
    last_day = hi - ONE_DAY if hi is not None else date.max
    back, ahead = rule.round_offsets[on.month - 1]
    index = on.year * 12 + on.month - 1
    current, start, end = _round_window(index - back, lo, last_day)
    if start <= end and _done_between(hist, current, on) is None:
        if on < start:
            return (UPCOMING, start, end) if start <= until else None
        if on <= end:
            return DUE, start, end
        if on <= last_day:
            return OVERDUE, start, end
    _, start, end = _round_window(index + ahead, lo, last_day)
    if start <= end and start <= until:
        return UPCOMING, start, end
    return None


def _ages(rule: ServiceRule, birth: date, hist: Sequence[date], on: date, until: date,
          months_now: int) -> tuple[str, date, date, int] | None:
    """Screening ages (SDIDTK): due from each age until the next; a missed one is replaced."""
    ages = rule.ages_months
    ends = ages[1:] + (ages[-1] + rule.last_window_months,)
    for age, end_age in zip(ages, ends):
        if end_age <= months_now:
            continue
        start = add_months(birth, age)
        end = add_months(birth, end_age) - ONE_DAY
        if start <= on:
            if _done_between(hist, start, on) is None:
                return DUE, start, end, age
            continue
        return (UPCOMING, start, end, age) if start <= until else None
    return None


def _stage_for(rule: ServiceRule, birth: date, when: date, months_now: int, on: date) -> Stage:
    """The stage an age-based entry belongs to: the person's age stage on ``when`` if the rule has it."""
    if len(rule.stages) == 1:
        return rule.stages[0]
    stage = age_stage(months_now if when <= on else age_months(birth, when))
    return stage if stage in rule.stages else rule.stages[0]


def _age_rule(rule: ServiceRule, birth: date, lo: date, hi: date | None, done: Sequence[date], on: date,
              until: date, months_now: int, fixed_stage: Stage | None) -> ServiceDue | None:
    """The entry of one age-based rule for a person born on ``birth`` (None: nothing to show)."""
    age = None
    kind = rule.kind
    if kind == "interval":
        last = None
        for d in done:
            if d <= on and (last is None or d > last):
                last = d
        start = lo if last is None else rule.every.after(last)
        if start < lo:
            start = lo
        if hi is not None and start >= hi:
            return None
        end = rule.every.after(start) - ONE_DAY
        state = _state(on, start, end, until)
        if state is None:
            return None
    else:
        if kind == "period":
            found = _period(rule, lo, hi, done, on, until)
        elif kind == "rounds":
            found = _rounds(rule, lo, hi, done, on, until)
        else:
            hit = _ages(rule, birth, done, on, until, months_now)
            found, age = (hit[:3], hit[3]) if hit is not None else (None, None)
        if found is None:
            return None
        state, start, end = found
    if fixed_stage is not None:
        stage = fixed_stage
    else:
        stage = _stage_for(rule, birth, start if state == UPCOMING else on, months_now, on)
    return _service_due(rule.code, stage, state, start, end, age)


#: (rule, start and end of its age range, fixed stage or None, the entry when nothing is recorded)
AgeItem = tuple[ServiceRule, date, date | None, Stage | None, ServiceDue | None]


@lru_cache(maxsize=65536)
def _age_context(svc: ServiceSchedule, birth: date, on: date, until: date,
                 sex: str) -> tuple[int, tuple[AgeItem, ...]]:
    """Completed months and the age rules that apply, memoised (a day's run meets each birth date often)."""
    months_now = age_months(birth, on)
    months_then = months_now + (until - on).days // 28 + 1 if until > on else months_now  # an upper bound
    items = []
    for rule, fixed_stage, needs_end in svc.age_candidates(months_now, months_then, sex):
        lo = add_months(birth, rule.min_months) if rule.min_months else birth
        hi = add_months(birth, rule.end_months) if needs_end else None
        fresh = _age_rule(rule, birth, lo, hi, (), on, until, months_now, fixed_stage)
        items.append((rule, lo, hi, fixed_stage, fresh))
    return months_now, tuple(items)


def _by_age(svc: ServiceSchedule, birth: date, sex: str, hist: Mapping[str, Sequence[date]], on: date,
            until: date, out: list[ServiceDue]) -> None:
    """The services that follow age: birth visits, weighing, vitamin A, deworming, screenings."""
    months_now, items = _age_context(svc, birth, on, until, sex)
    if months_now <= 1 and (on - birth).days <= NEWBORN_DAYS:
        _events(svc.birth_rules, birth, NEWBORN_DAYS, Stage.NEWBORN, hist, on, until, out)
    for rule, lo, hi, fixed_stage, fresh in items:
        done = hist.get(rule.code)
        if not done:
            if fresh is not None:
                out.append(fresh)
        else:
            entry = _age_rule(rule, birth, lo, hi, done, on, until, months_now, fixed_stage)
            if entry is not None:
                out.append(entry)


def _order(item: ServiceDue) -> tuple:
    """Sort key: overdue, due, upcoming; then by date, stage and code."""
    return (_STATE_RANK[item.state], item.earliest or date.min, _STAGE_RANK[item.stage], item.code)


def services_due(
    on: date,
    *,
    sex: str,
    birth: date | None,
    hpht: date | None = None,
    delivered_on: date | None = None,
    history: Mapping[str, list[date]] | None = None,
    horizon_days: int = 0,
    schedule: Schedule | ServiceSchedule | None = None,
) -> list[ServiceDue]:
    """The ILP services due or overdue on ``on`` for each of a person's stages.

    ``history`` maps service codes to the dates done (ANC contacts under ``ANC`` or ``ANC1``..).
    With ``horizon_days`` > 0, services whose window opens within that many days are included
    as ``upcoming``. Sorted overdue first, then due, then upcoming, each by date.
    """
    if sex not in ("M", "F"):
        raise ValueError(f"sex: expected M or F, got {sex!r}")
    if horizon_days < 0:
        raise ValueError(f"horizon_days: expected >= 0, got {horizon_days}")
    svc = load_schedule().services if schedule is None else _services(schedule)
    hist = history if history is not None else _EMPTY
    until = on + (_HORIZONS.get(horizon_days) or timedelta(days=horizon_days)) if horizon_days else on
    out: list[ServiceDue] = []
    if sex == "F":
        if hpht is not None and is_pregnant(hpht, on, delivered_on):
            _anc(svc, hpht, hist, on, until, out)
        if delivered_on is not None and delivered_on <= on and (on - delivered_on).days <= NIFAS_DAYS:
            _events(svc.delivery_rules, delivered_on, NIFAS_DAYS, Stage.POSTPARTUM, hist, on, until, out)
    if birth is not None and birth <= on:
        _by_age(svc, birth, sex, hist, on, until, out)
    if len(out) > 1:
        out.sort(key=_order)
    return out
