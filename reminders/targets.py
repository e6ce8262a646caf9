"""The kader's home-visit list (``/sasaran`` in the chat, ``/sasaran`` on the puskesmas web): who is due,
overdue or missed the posyandu day this month, and why, for a posyandu.

Home-visit reasons: a child under five or a pregnant woman who missed this month's posyandu day (the
session has passed and nothing was recorded for them since), a referral still open after
``FOLLOW_UP_DAYS`` days (an urgent one after a day) or one the puskesmas did not find, a dose or service
overdue. Then what is due this month: doses and services due, a child not yet weighed this month, a
weight that did not go up last month, a birth expected soon, a recent referral, an adult's yearly
screening overdue (PTM, SKILAS: an invitation to the posyandu, not a home visit).

:func:`reasons` is the rule (a pure function of today and one person's facts, with the reminders' own
due items, ``reminders.rules.member_items``); :func:`targets_of` reads the data of posyandu for it and
gives the list, grouped by posyandu, dusun and RT; within a dusun/RT, people with a referral to follow
come first, then those who missed the posyandu day, then the other overdue, then the rest. The chat
(``handlers.targets``) and the web (``web.targets``) word the same list; :func:`status_of` and
:func:`kind_of` sort its reasons for the web's filters.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from care.growth import GAIN_NOT_UP, GAIN_NOT_UP_TWICE, weight_gain_status
from care.history import DAY
from care.labels import DOSE_LABELS
from care.stages import Stage, age_months, is_pregnant
from db.history import histories
from db.models import Family, Measurement, Person, Posyandu, Referral, Visit
from db.queries import next_day_of, posyandu_changes
from db.referrals import FOLLOW_UP_DAYS, FOLLOWED, NOT_FOUND, URGENT
from reminders.rules import Item, ReminderPolicy, member_items, member_of

NEAR_DUE_DAYS = 14
UNDER_FIVE_MONTHS = 60
#: An urgent referral still open after this many days is followed up at home.
URGENT_FOLLOW_UP_DAYS = 1

# Reason kinds. Home-visit reasons:
MISSED = "missed"  # missed this month's posyandu day (on: the session day)
REFERRAL = "referral"  # a referral open too long (subject: its reason, on: opened)
REFERRAL_NOT_FOUND = "not_found"  # a referral the puskesmas did not find (subject, on: opened)
OVERDUE = "overdue"  # a dose or service overdue (subject: its code)
# Due this month, or late without calling for a home visit:
LATE = "late"  # a yearly screening of an adult or older person overdue (subject: its code)
DUE = "due"  # a dose or service due (subject: its code)
UNWEIGHED = "unweighed"  # a child under five not weighed this month
GAIN = "gain"  # last month's weight did not go up (subject: T or 2T)
BIRTH = "birth"  # a birth expected within NEAR_DUE_DAYS (on: the due date)
REFERRED = "referred"  # a recent referral (subject, on: opened)

HOME = frozenset({MISSED, REFERRAL, REFERRAL_NOT_FOUND, OVERDUE})
#: the order of a line's reasons, and (by its first reason) of people within a dusun/RT
ORDER = (REFERRAL_NOT_FOUND, REFERRAL, MISSED, OVERDUE, REFERRED, LATE, DUE, UNWEIGHED, GAIN, BIRTH)
#: Overdue services that are no reason for a home visit: the adult is invited to the posyandu / posbindu.
SCREENINGS = frozenset({"SKRINING_PTM", "SKILAS"})


@dataclass(frozen=True)
class Reason:
    """Why a person is on the list."""

    kind: str
    subject: str = ""
    on: date | None = None

    @property
    def home(self) -> bool:
        """Whether it calls for a home visit."""
        return self.kind in HOME


@dataclass(frozen=True)
class Facts:
    """What the list knows of one person."""

    sex: str
    birth: date | None = None
    hpht: date | None = None
    delivered_on: date | None = None
    due_date: date | None = None
    #: doses and services due or overdue (reminders.rules.member_items)
    items: tuple[Item, ...] = ()
    #: the last day the person was seen: a visit or a care record with an exact date
    last_seen: date | None = None
    #: (day, kg) of every weighing, oldest first
    weights: tuple[tuple[date, float], ...] = ()
    #: (reason, status, opened on) of the referrals followed (open or not found)
    referrals: tuple[tuple[str, str, date], ...] = ()


def under_five(birth: date | None, on: date) -> bool:
    """Whether a person born on ``birth`` is a child under five on ``on``."""
    return birth is not None and birth <= on and age_months(birth, on) < UNDER_FIVE_MONTHS


def missed(facts: Facts, session_day: date | None, today: date) -> bool:
    """Whether a child under five or a pregnant woman missed the posyandu day ``session_day``: it has
    passed, they were a child or pregnant then, and nothing was recorded for them since."""
    if session_day is None or session_day >= today:
        return False
    if not (under_five(facts.birth, session_day) or is_pregnant(facts.hpht, session_day, facts.delivered_on)):
        return False
    return facts.last_seen is None or facts.last_seen < session_day


def referral_reason(reason: str, status: str, opened: date, today: date) -> Reason:
    """A followed referral as a reason: not found, open too long (a home visit), or recent."""
    if status == NOT_FOUND:
        return Reason(REFERRAL_NOT_FOUND, reason, opened)
    days = (today - opened).days
    if days > FOLLOW_UP_DAYS or (reason in URGENT and days >= URGENT_FOLLOW_UP_DAYS):
        return Reason(REFERRAL, reason, opened)
    return Reason(REFERRED, reason, opened)


def reasons(today: date, facts: Facts, session_day: date | None) -> list[Reason]:
    """Why a person is on this month's list (empty: not on it), home-visit reasons first.

    ``session_day`` is the posyandu's session of this month (None when there is none).
    """
    out: list[Reason] = []
    if missed(facts, session_day, today):
        out.append(Reason(MISSED, on=session_day))
    for reason, status, opened in sorted(facts.referrals, key=lambda r: (r[2], r[0])):
        if status in FOLLOWED:
            out.append(referral_reason(reason, status, opened, today))
    for item in facts.items:
        code = item.subject.split(":")[0]
        out.append(Reason((LATE if code in SCREENINGS else OVERDUE) if item.overdue else DUE, code))
    if under_five(facts.birth, today):
        month_start = today.replace(day=1)
        if not any(day >= month_start for day, _kg in facts.weights):
            out.append(Reason(UNWEIGHED))
        last_month = month_start - timedelta(days=1)
        if facts.weights:
            status = weight_gain_status(1 if facts.sex == "M" else 2, facts.birth, list(facts.weights), last_month)
            if status in (GAIN_NOT_UP, GAIN_NOT_UP_TWICE):
                out.append(Reason(GAIN, status))
    if (facts.due_date and facts.delivered_on is None
            and today <= facts.due_date <= today + timedelta(days=NEAR_DUE_DAYS)):
        out.append(Reason(BIRTH, on=facts.due_date))
    return sorted(out, key=lambda r: ORDER.index(r.kind))


def tier(found: list[Reason]) -> int:
    """Where a person goes within a dusun/RT: by the first (most pressing) of their reasons."""
    return ORDER.index(found[0].kind) if found else len(ORDER)


# -- the list of posyandu ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """One person on the list, with their reasons (most pressing first)."""

    person_id: int
    name: str
    family_code: str
    family_name: str
    dusun: str | None
    rt: str | None
    posyandu_id: int
    reasons: tuple[Reason, ...]

    @property
    def home(self) -> bool:
        """Whether the person needs a home visit (by their most pressing reason)."""
        return self.reasons[0].home


def session_of_month(posyandu: Posyandu, today: date, changes) -> date | None:
    """The day of the posyandu's first session in ``today``'s month (its rule, its changes, the holidays)."""
    month_start = today.replace(day=1)
    session = next_day_of(posyandu, month_start, changes)
    if session is None or (session.day.year, session.day.month) != (month_start.year, month_start.month):
        return None
    return session.day


def _order_key(family: Family, found: list[Reason], person: Person) -> tuple:
    rt = family.rt or ""
    return (family.dusun is None, (family.dusun or "").casefold(), rt.zfill(4) if rt.isdecimal() else rt,
            tier(found), person.name.casefold(), person.id)


async def _targets_of_one(session, posyandu: Posyandu, today: date, policy: ReminderPolicy, schedule, changes) -> list[Target]:
    families = {f.id: f for f in await session.scalars(
        select(Family).where(Family.posyandu_id == posyandu.id, Family.registered_at.is_not(None)))}
    if not families:
        return []
    people = list(await session.scalars(select(Person).where(Person.family_id.in_(list(families)))))
    ids = [p.id for p in people] or [0]
    records = await histories(session, [p.id for p in people])
    weights: dict[int, list] = defaultdict(list)
    for person_id, day, value in (await session.execute(
            select(Visit.person_id, Visit.visited_on, Measurement.value).join(Measurement, Measurement.visit_id == Visit.id)
            .where(Visit.person_id.in_(ids), Measurement.kind == "weight_kg").order_by(Visit.visited_on))).all():
        weights[person_id].append((day, value))
    last_visit = dict((await session.execute(
        select(Visit.person_id, func.max(Visit.visited_on)).where(Visit.person_id.in_(ids)).group_by(Visit.person_id))).all())
    referrals: dict[int, list] = defaultdict(list)
    for person_id, reason, status, opened in (await session.execute(
            select(Referral.person_id, Referral.reason, Referral.status, Referral.opened_on)
            .where(Referral.person_id.in_(ids), Referral.status.in_(FOLLOWED)))).all():
        referrals[person_id].append((reason, status, opened))
    session_day = session_of_month(posyandu, today, changes)
    out = []
    for p in people:
        history = records[p.id]
        seen = [r.on for r in history.records if r.precision == DAY]
        if p.id in last_visit:
            seen.append(last_visit[p.id])
        facts = Facts(
            sex=p.sex, birth=p.birth_date, hpht=p.hpht, delivered_on=p.delivered_on, due_date=p.due_date,
            items=tuple(member_items(today, member_of(p, history), policy, schedule)),
            last_seen=max(seen) if seen else None, weights=tuple(weights.get(p.id, ())),
            referrals=tuple(referrals.get(p.id, ())),
        )
        found = reasons(today, facts, session_day)
        if not found:
            continue
        family = families[p.family_id]
        out.append((_order_key(family, found, p), Target(
            p.id, p.name, family.code, family.name, family.dusun, family.rt, posyandu.id, tuple(found))))
    out.sort(key=lambda row: row[0])
    return [target for _key, target in out]


async def targets_of(session, places: Sequence[Posyandu], today: date, policy: ReminderPolicy, schedule) -> list[Target]:
    """This month's list of each posyandu of ``places`` (in that order), each grouped by dusun and RT.

    ``policy`` and ``schedule`` are the reminders' (``reminders.rules.policy_from`` and the care schedule
    with the district's overrides), so that the list says what the reminders say.
    """
    changes = await posyandu_changes(session, [p.id for p in places])
    out: list[Target] = []
    for place in places:  # one posyandu at a time: a few hundred families per query
        out += await _targets_of_one(session, place, today, policy, schedule, changes.get(place.id, []))
    return out


# -- for filters: how pressing a reason is, and what it is about ---------------------------------------

#: a reason's status on the web: due this month, overdue, or the posyandu day missed
STATUS_DUE, STATUS_OVERDUE, STATUS_MISSED = "due", "overdue", "missed"
STATUSES = (STATUS_DUE, STATUS_OVERDUE, STATUS_MISSED)
_STATUS = {MISSED: STATUS_MISSED, REFERRAL: STATUS_OVERDUE, REFERRAL_NOT_FOUND: STATUS_OVERDUE, OVERDUE: STATUS_OVERDUE,
           LATE: STATUS_OVERDUE, DUE: STATUS_DUE, UNWEIGHED: STATUS_DUE, GAIN: STATUS_DUE, BIRTH: STATUS_DUE,
           REFERRED: STATUS_DUE}

#: what a reason is about: a child's immunisation, pregnancy and childbirth care, other services
#: (weighing and growth included), a referral, the posyandu day
KIND_IMMUNISATION, KIND_PREGNANCY, KIND_SERVICE, KIND_REFERRAL, KIND_POSYANDU = (
    "imunisasi", "kehamilan", "layanan", "rujukan", "posyandu")
KINDS = (KIND_IMMUNISATION, KIND_PREGNANCY, KIND_SERVICE, KIND_REFERRAL, KIND_POSYANDU)
_MOTHERS = frozenset({Stage.PREGNANT, Stage.POSTPARTUM})


def status_of(reason: Reason) -> str:
    """Whether a reason is due this month, overdue (a referral to follow included) or a missed posyandu day."""
    return _STATUS[reason.kind]


def kind_of(reason: Reason, schedule) -> str:
    """What a reason is about (:data:`KINDS`); a service by the stages of its rule in ``schedule``."""
    if reason.kind == MISSED:
        return KIND_POSYANDU
    if reason.kind in (REFERRAL, REFERRAL_NOT_FOUND, REFERRED):
        return KIND_REFERRAL
    if reason.kind == BIRTH:
        return KIND_PREGNANCY
    if reason.kind in (OVERDUE, LATE, DUE):
        if reason.subject in DOSE_LABELS:
            return KIND_IMMUNISATION
        rule = schedule.services.by_code.get(reason.subject) if schedule is not None else None
        if rule is not None and rule.stages and set(rule.stages) <= _MOTHERS:
            return KIND_PREGNANCY
    return KIND_SERVICE
