"""What to remind a family of on a day: a pure function of the date, the family and its history.

An :class:`Item` is one thing for one member (or the whole family, for the posyandu day). Its
``key`` names it for good (family, member, kind, subject, due date) so that planning twice adds
nothing and an overdue item is repeated at most every ``repeat_days`` and at most ``max_times``.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from care.history import EMPTY, PersonHistory
from care.immunization import CATCH_UP, DUE, INVALID, dose_states
from care.services import OVERDUE, services_due
from care.stages import age_months

#: Services that are worth a message of their own (weighing is the posyandu day itself, and a weekly
#: iron tablet for girls would be a message every week).
REMINDED_SERVICES = frozenset(
    {"ANC1", "ANC2", "ANC3", "ANC4", "ANC5", "ANC6", "KN1", "KN2", "KN3", "KF1", "KF2", "KF3", "KF4",
     "VITA_NIFAS1", "VITA_NIFAS2", "VITA_BIRU", "VITA_MERAH", "OBAT_CACING", "SDIDTK", "SKRINING_PTM", "SKILAS"}
)
#: The record codes the reminder rules read (the others, such as monthly weighings, change no item).
RULE_CODES = REMINDED_SERVICES | {"ANC"}
DOSE_AGE_LIMIT_MONTHS = 59


@dataclass(frozen=True)
class ReminderPolicy:
    """How often and when; every field comes from the ``reminders`` settings (config.RemindersConfig)."""

    posyandu_days_before: tuple[int, ...] = (1, 0)
    repeat_days: int = 7
    max_times: int = 3
    je: bool = False


def policy_from(settings) -> ReminderPolicy:
    """The rules' policy from the configuration."""
    r = settings.reminders
    return ReminderPolicy(posyandu_days_before=r.posyandu_days_before, repeat_days=r.repeat_days, max_times=r.max_times, je=settings.care.je)


@dataclass(frozen=True)
class Member:
    """The facts about one person the rules need."""

    id: int
    name: str
    sex: str
    birth: date | None
    hpht: date | None = None
    delivered_on: date | None = None
    given: Mapping[str, date] = field(default_factory=dict)
    history: Mapping[str, list[date]] = field(default_factory=dict)
    #: doses of ``given`` whose date is not exact (care.history)
    approximate: frozenset[str] = frozenset()


def member_of(person, history: PersonHistory = EMPTY) -> Member:
    """The rules' view of a person (anything with the Person attributes) and their care history."""
    return Member(person.id, person.name, person.sex, person.birth_date, person.hpht, person.delivered_on,
                  history.given, history.services, history.approximate)


@dataclass(frozen=True)
class Item:
    """One reminder item."""

    kind: str  # posyandu | dose | service
    subject: str  # dose / service code; "before:N" for the posyandu day
    due_on: date  # what the key counts from: the session day, a service window's start, a child's birth
    person_id: int | None = None
    person_name: str | None = None
    overdue: bool = False
    latest: date | None = None  # the last day of the window, for the text

    def key(self, family_id: int) -> str:
        """The lasting name of this item: family, member, kind, subject, due date."""
        return f"{family_id}:{self.person_id or 0}:{self.kind}:{self.subject}:{self.due_on.isoformat()}"


@dataclass(frozen=True)
class Seen:
    """What was already planned for an item: how often and when last."""

    times: int
    last_planned_on: date | None


def posyandu_items(today: date, session_day: date | None, policy: ReminderPolicy) -> list[Item]:
    """The posyandu-day item when today is N days before the family's next session."""
    if session_day is None:
        return []
    before = (session_day - today).days
    if before in policy.posyandu_days_before:
        return [Item("posyandu", f"before:{before}", session_day)]
    return []


#: services_due for people with no pregnancy, birth or history depends only on (day, sex, birth):
#: a district of a million people has a few tens of thousands of those, so they are computed once.
_PLAIN_SERVICES: dict[tuple, tuple] = {}
_PLAIN_LIMIT = 200_000


def _services(today: date, member: Member, schedule) -> tuple:
    """The member's ServiceDue list, from the cache when nothing but age and sex matter."""
    plain = member.hpht is None and member.delivered_on is None and not member.history
    if plain:
        key = (id(schedule), today, member.sex, member.birth)
        found = _PLAIN_SERVICES.get(key)
        if found is not None:
            return found
    result = tuple(
        services_due(
            today, sex=member.sex, birth=member.birth, hpht=member.hpht, delivered_on=member.delivered_on,
            history=member.history, schedule=schedule,
        )
    )
    if plain:
        if len(_PLAIN_SERVICES) >= _PLAIN_LIMIT:
            _PLAIN_SERVICES.clear()
        _PLAIN_SERVICES[key] = result
    return result


def member_items(today: date, member: Member, policy: ReminderPolicy, schedule=None) -> list[Item]:
    """A member's doses and services due or overdue today."""
    items: list[Item] = []
    if member.birth is not None and 0 <= age_months(member.birth, today) <= DOSE_AGE_LIMIT_MONTHS:
        states = dose_states(member.birth, member.given, today, je=policy.je, schedule=schedule,
                             approximate=member.approximate)
        for code, state in states.items():
            if state.state in (DUE, CATCH_UP, INVALID):
                # a dose's window can slide with the doses before it: its key counts from the birth
                subject = f"{code}:again" if state.state == INVALID else code
                items.append(Item("dose", subject, member.birth, member.id, member.name, state.state != DUE, state.latest))
    for service in _services(today, member, schedule):
        if service.code in REMINDED_SERVICES and service.earliest is not None:
            items.append(
                Item("service", service.code, service.earliest, member.id, member.name,
                     service.state == OVERDUE, service.latest)
            )
    return items


def should_send(item: Item, seen: Seen | None, today: date, policy: ReminderPolicy) -> bool:
    """Whether an item goes into today's message, given what was planned for it before."""
    if seen is None or seen.last_planned_on is None:
        return True
    if item.kind == "posyandu" or seen.last_planned_on >= today:
        return False
    return seen.times < policy.max_times and (today - seen.last_planned_on).days >= policy.repeat_days


def family_items(
    today: date,
    family_id: int,
    members: Iterable[Member],
    session_day: date | None,
    seen: Mapping[str, Seen],
    policy: ReminderPolicy,
    schedule=None,
) -> list[Item]:
    """Every item to put in a family's message today, posyandu day first, then member by member."""
    candidates = posyandu_items(today, session_day, policy)
    for member in members:
        candidates.extend(member_items(today, member, policy, schedule))
    return [item for item in candidates if should_send(item, seen.get(item.key(family_id)), today, policy)]
