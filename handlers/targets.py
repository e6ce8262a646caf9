"""``/sasaran``: a kader's planned home-visit list for their posyandu, grouped by dusun and RT.

Each person on it is listed with why. Home-visit reasons: a child under five or a pregnant woman who
missed this month's posyandu day (the session has passed and nothing was recorded for them since), a
referral still open after ``FOLLOW_UP_DAYS`` days (an urgent one after a day) or one the puskesmas did
not find, a dose or service overdue. Then what is due this month: doses and services due, a child not
yet weighed this month, a weight that did not go up last month, a birth expected soon, a recent
referral, an adult's yearly screening overdue (PTM, SKILAS: an invitation to the posyandu, not a home
visit). Within a dusun/RT, people with a referral to follow come first, then those who missed the
posyandu day, then the other overdue, then the rest.

:func:`reasons` is the rule (a pure function of today and one person's facts); :func:`target_lines`
reads the posyandu's data for it. Long lists are paged; each view is audited.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from care.growth import GAIN_NOT_UP, GAIN_NOT_UP_TWICE, weight_gain_status
from care.history import DAY
from care.labels import DOSE_LABELS, SERVICE_LABELS
from care.stages import age_months, is_pregnant
from content.i18n import N_, _, format_date
from db.history import histories
from db.models import Family, Measurement, Person, Posyandu, Referral, Visit
from db.queries import next_day_of, posyandu_changes
from handlers.flow import END, KADER, Answer, Ctx, Flow, Invalid, Next, Question, Step
from handlers.kader import audit
from handlers.referrals import FOLLOW_UP_DAYS, FOLLOWED, NOT_FOUND, OPEN, URGENT, reason_label
from reminders.rules import Item, member_items, member_of, policy_from

PAGE = 12
NEAR_DUE_DAYS = 14
UNDER_FIVE_MONTHS = 60
#: An urgent referral still open after this many days is followed up at home.
URGENT_FOLLOW_UP_DAYS = 1
HOME_MARK = "\U0001f3e0"

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


def _short(day: date, today: date) -> str:
    return format_date(day, "d MMM" if day.year == today.year else "d MMM y")


def reason_text(reason: Reason, today: date) -> str:
    """A reason in words for the kader."""
    kind = reason.kind
    if kind == MISSED:
        return _("tidak datang ke posyandu {date}", date=_short(reason.on, today))
    if kind == REFERRAL:
        return _("dirujuk karena {reason} sejak {date}, belum ada kabar", date=_short(reason.on, today), reason=reason_label(reason.subject))
    if kind == REFERRAL_NOT_FOUND:
        return _("dirujuk karena {reason} sejak {date}, tidak ditemukan", date=_short(reason.on, today), reason=reason_label(reason.subject))
    if kind == REFERRED:
        return _("dirujuk karena {reason} sejak {date}", date=_short(reason.on, today), reason=reason_label(reason.subject))
    if kind in (OVERDUE, LATE, DUE):
        code = reason.subject
        label = _(DOSE_LABELS[code]) if code in DOSE_LABELS else _(SERVICE_LABELS.get(code, code))
        return label + (" \u2013 " + _("terlambat") if kind != DUE else "")
    if kind == UNWEIGHED:
        return _("belum ditimbang bulan ini")
    if kind == GAIN:
        return _("{code} bulan lalu", code=reason.subject)
    return _("perkiraan lahir {date}", date=format_date(reason.on, "d MMM"))


async def enter(ctx: Ctx) -> Next:
    """Only a kader has a target list (the engine lets only kaders in)."""
    audit(ctx, "targets.viewed", "posyandu", ctx.identity.posyandu_id)
    ctx.data["page"] = 0
    return "page"


async def session_of_month(ctx: Ctx, posyandu: Posyandu) -> date | None:
    """The day of the posyandu's first session this month (its rule, its changes, the holidays)."""
    month_start = ctx.today.replace(day=1)
    changes = await posyandu_changes(ctx.session, [posyandu.id])
    session = next_day_of(posyandu, month_start, changes[posyandu.id])
    if session is None or (session.day.year, session.day.month) != (month_start.year, month_start.month):
        return None
    return session.day


async def target_lines(ctx: Ctx) -> list[tuple[str, bool, str]]:
    """(dusun/RT, needs a home visit, line) for every member with a reason, grouped by dusun and RT;
    within a group people with a referral to follow first, then who missed the posyandu day, then
    other overdue, then the rest, each by name."""
    today = ctx.today
    posyandu = await ctx.session.get(Posyandu, ctx.identity.posyandu_id)
    families = {f.id: f for f in await ctx.session.scalars(
        select(Family).where(Family.posyandu_id == posyandu.id, Family.registered_at.is_not(None)))}
    if not families:
        return []
    people = list(await ctx.session.scalars(select(Person).where(Person.family_id.in_(list(families)))))
    ids = [p.id for p in people] or [0]
    records = await histories(ctx.session, [p.id for p in people])
    weights: dict[int, list] = defaultdict(list)
    for person_id, day, value in (await ctx.session.execute(
            select(Visit.person_id, Visit.visited_on, Measurement.value).join(Measurement, Measurement.visit_id == Visit.id)
            .where(Visit.person_id.in_(ids), Measurement.kind == "weight_kg").order_by(Visit.visited_on))).all():
        weights[person_id].append((day, value))
    last_visit = dict((await ctx.session.execute(
        select(Visit.person_id, func.max(Visit.visited_on)).where(Visit.person_id.in_(ids)).group_by(Visit.person_id))).all())
    referrals: dict[int, list] = defaultdict(list)
    for person_id, reason, status, opened in (await ctx.session.execute(
            select(Referral.person_id, Referral.reason, Referral.status, Referral.opened_on)
            .where(Referral.person_id.in_(ids), Referral.status.in_((OPEN, NOT_FOUND))))).all():
        referrals[person_id].append((reason, status, opened))
    session_day = await session_of_month(ctx, posyandu)
    policy = policy_from(ctx.settings)
    out = []
    for p in people:
        history = records[p.id]
        seen = [r.on for r in history.records if r.precision == DAY]
        if p.id in last_visit:
            seen.append(last_visit[p.id])
        facts = Facts(
            sex=p.sex, birth=p.birth_date, hpht=p.hpht, delivered_on=p.delivered_on, due_date=p.due_date,
            items=tuple(member_items(today, member_of(p, history), policy, ctx.schedule)),
            last_seen=max(seen) if seen else None, weights=tuple(weights.get(p.id, ())),
            referrals=tuple(referrals.get(p.id, ())),
        )
        found = reasons(today, facts, session_day)
        if not found:
            continue
        family = families[p.family_id]
        group = _("{dusun}, RT {rt}", dusun=family.dusun or "-", rt=family.rt or "-")
        rt = family.rt or ""
        key = (family.dusun is None, (family.dusun or "").casefold(), rt.zfill(4) if rt.isdecimal() else rt,
               tier(found), p.name.casefold(), p.id)
        line = f"{p.name} ({family.code}): " + "; ".join(reason_text(r, today) for r in found)
        out.append((key, group, found[0].home, line))
    out.sort(key=lambda row: row[0])
    return [(group, home, line) for _key, group, home, line in out]


async def ask_page(ctx: Ctx) -> Question:
    lines = await target_lines(ctx)
    if not lines:
        return Question(_("Tidak ada sasaran yang perlu dikunjungi atau sudah waktunya bulan ini. Bagus!"), ((_("Selesai"), "done"),))
    pages = (len(lines) + PAGE - 1) // PAGE
    page = min(ctx.data.get("page", 0), pages - 1)
    visits = sum(1 for _g, home, _l in lines if home)
    text = [_("Rencana kunjungan rumah {month}: {count} orang, {visits} perlu dikunjungi ({mark}), halaman {page} dari {pages}:",
              month=format_date(ctx.today, "MMMM y"), count=len(lines), visits=visits, mark=HOME_MARK,
              page=page + 1, pages=pages)]
    group = None
    for g, home, line in lines[page * PAGE:(page + 1) * PAGE]:
        if g != group:
            text.append("")
            text.append(f"[{g}]")
            group = g
        text.append((HOME_MARK if home else "\u2022") + " " + line)
    choices = []
    if page > 0:
        choices.append((_("Sebelumnya"), "prev"))
    if page + 1 < pages:
        choices.append((_("Berikutnya"), "next"))
    choices.append((_("Selesai"), "done"))
    return Question("\n".join(text), tuple(choices))


async def on_page(ctx: Ctx, answer: Answer) -> Next:
    """Stores the page to show; shows it next (or ends)."""
    if answer.choice == "done":
        return END
    if answer.choice not in ("next", "prev"):
        raise Invalid(_("Pilih Berikutnya, Sebelumnya, atau Selesai."))
    ctx.data["page"] = max(0, ctx.data.get("page", 0) + (1 if answer.choice == "next" else -1))
    return "page"


TARGETS = Flow(name="targets", first="page", enter=enter, steps={"page": Step(ask_page, on_page)},
               commands=("sasaran", "targets"), roles=KADER, refusal=N_("Daftar sasaran hanya untuk kader."), home=("page",),
               menu_label=N_("Sasaran bulan ini"), help_line=N_("Sasaran kunjungan rumah"))
