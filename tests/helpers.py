"""Test helpers: a fixed clock, a chat driver over the engine, and factories with realistic defaults."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from channels.messages import Incoming, Reply
from db.database import Database
from db.models import Family, Identity, Person, Posyandu
from content.family_codes import FAMILY_CODE_ALPHABET, family_code_of
from handlers.start import CONSENT_VERSION

#: 10:00 in Bali (WITA) on Monday 23 November 2026.
DEFAULT_NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
_ids = itertools.count(1)


@dataclass
class FixedClock:
    """A clock tests move by hand."""

    now: datetime = DEFAULT_NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class ChatDriver:
    """Talks to the engine as one person: types text, presses buttons, reads replies."""

    engine: object
    address: str = "628100000001"
    channel: str = "local"
    phone: str | None = None  # the number the channel vouches for (WhatsApp)
    replies: list[Reply] = field(default_factory=list)
    history: list[Reply] = field(default_factory=list)

    async def send(self, incoming: Incoming) -> list[Reply]:
        self.replies = await self.engine.handle(incoming)
        self.history.extend(self.replies)
        return self.replies

    async def say(self, text: str) -> list[Reply]:
        """Types ``text`` as a new message."""
        return await self.send(Incoming(self.channel, self.address, message_id=f"m{next(_ids)}", text=text, phone=self.phone))

    async def press(self, label: str, replies: list[Reply] | None = None) -> list[Reply]:
        """Presses the button whose label starts with ``label`` (case-insensitive)."""
        data = self.button(label, replies)
        return await self.send(Incoming(self.channel, self.address, message_id=f"c{next(_ids)}", choice=data, phone=self.phone))

    def button(self, label: str, replies: list[Reply] | None = None) -> str:
        """The data of a button in the last replies."""
        for reply in replies if replies is not None else self.replies:
            for choice in reply.choices:
                if choice.label.lower().startswith(label.lower()):
                    return choice.data
        raise AssertionError(f"no button {label!r} in {[c.label for r in self.replies for c in r.choices]}")

    async def media(self, kind: str = "photo") -> list[Reply]:
        return await self.send(Incoming(self.channel, self.address, message_id=f"p{next(_ids)}", media=kind))

    async def document(self, name: str | None, ref: str | None, *, size: int | None = None, caption: str | None = None) -> list[Reply]:
        """Sends a file as a document (``ref``: the provider's id of it, e.g. a Telegram file_id)."""
        return await self.send(Incoming(self.channel, self.address, message_id=f"d{next(_ids)}", media="document", media_ref=ref,
                                        media_name=name, media_size=size, text=caption, phone=self.phone))

    @property
    def text(self) -> str:
        """All text of the last replies."""
        return "\n\n".join(r.text for r in self.replies)

    @property
    def labels(self) -> list[str]:
        return [c.label for r in self.replies for c in r.choices]


async def consent(chat: ChatDriver, language: str = "Bahasa Indonesia") -> None:
    """Starts and consents in ``language`` (picked on the consent screen, or after it when asked)."""
    await chat.say("/start")
    if language in chat.labels:  # another language than the consent screen's: picked there
        await chat.press(language)
    await chat.press("Ya" if language == "Bahasa Indonesia" else "Yes")
    if language in chat.labels:  # the language question (asked when the language is not known yet)
        await chat.press(language)


async def register_household(
    chat: ChatDriver,
    *,
    village: str = "Nagasepaha",
    head: str = "Wayan Sudarma",
    dusun: str = "Banjar Kaja",
    rt_rw: str = "003/002",
) -> None:
    """Consents and registers a household up to the first member's name question."""
    await consent(chat)
    await chat.say(village)
    await chat.press("Posyandu")
    await chat.say(head)
    await chat.say(dusun)
    await chat.say(rt_rw)


#: One answer to a question: ("press", button label) or ("say", typed text).
Step = tuple[str, str]
SKIP_HISTORY: tuple[Step, ...] = ()


async def add_member(chat: ChatDriver, name: str, sex: str, birth: str, *, pregnant: str | None = None,
                     history: tuple[Step, ...] = SKIP_HISTORY) -> None:
    """Adds one member from the member-name question; ``pregnant`` like ``20 minggu``.

    The history questions that follow a new member (handlers.history) get the answers in
    ``history`` in order; by default (and after the last one) they are left for later (*Nanti saja*).
    """
    await chat.say(name)
    await chat.press(sex)
    await chat.say(birth)
    if "sedang hamil?" in chat.text:
        if pregnant is None:
            await chat.press("Tidak")
        else:
            await chat.press("Ya")
            await chat.press("Usia kehamilan")
            await chat.say(pregnant)
    await answer_history(chat, history)


async def answer_history(chat: ChatDriver, answers: tuple[Step, ...] = SKIP_HISTORY) -> None:
    """Answers history questions with ``answers``, then leaves any left for later (*Nanti saja*)."""
    for kind, value in answers:
        if kind == "press":
            await chat.press(value)
        else:
            await chat.say(value)
    if "Nanti saja" in chat.labels:
        await chat.press("Nanti saja")


async def make_family(
    db: Database,
    *,
    village_code: str = "51.08.06.2014",
    name: str = "Komang Ariawan",
    members: tuple[tuple[str, str, date | None], ...] = (
        ("Ni Luh Sari", "F", date(1995, 4, 2)),
        ("Putu Adi", "M", date(2025, 9, 14)),
    ),
    identity_address: str | None = None,
    now: datetime = DEFAULT_NOW,
    code: str | None = None,
) -> Family:
    """A registered family of the posyandu in ``village_code`` (default: Nagasepaha), with a code of today's
    form (or ``code``: e.g. a 6-character one made before the check character)."""
    async with db.write() as session:
        posyandu = (await session.scalars(select(Posyandu).where(Posyandu.village_code == village_code))).one()
        family = Family(
            posyandu_id=posyandu.id, code=code or family_code_of("".join(FAMILY_CODE_ALPHABET[int(d) + 2] for d in f"{next(_ids):09d}")),
            name=name, dusun="Banjar Kelod",
            rt="001", rw="004", registered_at=now, created_at=now, updated_at=now,
        )
        session.add(family)
        await session.flush()
        for person_name, sex, birth in members:
            session.add(Person(family_id=family.id, name=person_name, sex=sex, birth_date=birth, created_at=now, updated_at=now))
        if identity_address:
            session.add(
                Identity(
                    channel="local", address=identity_address, language="id", role="family", family_id=family.id,
                    consent="given", consent_version=CONSENT_VERSION, consent_at=now, created_at=now,
                )
            )
        return family


async def record_care(db: Database, person_id: int, *records: tuple[str, date] | tuple[str, date, str],
                      source: str = "family") -> None:
    """Writes care records (code, date[, precision]) for a person through the history port."""
    from db.history import record

    async with db.write() as session:
        for code, on, *precision in records:
            await record(session, person_id=person_id, code=code, on=on, now=DEFAULT_NOW, source=source,
                         precision=precision[0] if precision else "day")


async def make_pregnant(db: Database, name: str, weeks: int, *, today: date = DEFAULT_NOW.date()) -> None:
    """Records the (one) person called ``name`` as ``weeks`` pregnant on ``today``."""
    async with db.write() as session:
        person = (await session.scalars(select(Person).where(Person.name == name))).one()
        person.hpht = today - timedelta(weeks=weeks)
        person.due_date = person.hpht + timedelta(days=280)


async def person_id(db: Database, name: str) -> int:
    """The id of the (one) person called ``name``."""
    async with db.read() as session:
        return (await session.scalars(select(Person.id).where(Person.name == name))).one()


async def make_invite(db: Database, role: str = "kader", *, village_code: str = "51.08.06.2014",
                      puskesmas_code: str = "P5108060201", now: datetime = DEFAULT_NOW) -> str:
    """The code of a fresh one-time invite: a kader's for the posyandu in ``village_code`` (default: Posyandu
    Mawar, Nagasepaha), a staff member's for the puskesmas ``puskesmas_code`` (default: Buleleng III)."""
    from db.models import Puskesmas
    from handlers.kader import create_invite

    async with db.write() as session:
        if role == "kader":
            posyandu_id = await session.scalar(select(Posyandu.id).where(Posyandu.village_code == village_code))
            invite = await create_invite(session, role=role, posyandu_id=posyandu_id, now=now)
        else:
            puskesmas_id = await session.scalar(select(Puskesmas.id).where(Puskesmas.code == puskesmas_code))
            invite = await create_invite(session, role=role, puskesmas_id=puskesmas_id, now=now)
        return invite.code


async def identity_of(db: Database, address: str, channel: str = "local") -> Identity:
    """The stored identity of a chat."""
    async with db.read() as session:
        return (await session.scalars(select(Identity).where(Identity.channel == channel, Identity.address == address))).one()


async def invited_chat(engine, db, *, role: str, address: str, posyandu_id: int | None = None, puskesmas_id: int | None = None) -> ChatDriver:
    """A chat that consented and joined as ``role`` with a fresh invite (``/kader`` or ``/staf``)."""
    from handlers.kader import create_invite

    async with db.write() as session:
        invite = await create_invite(session, role=role, posyandu_id=posyandu_id, puskesmas_id=puskesmas_id, now=DEFAULT_NOW)
    chat = ChatDriver(engine, address=address)
    await consent(chat)
    await chat.say(f"/{'kader' if role == 'kader' else 'staf'} {invite.code}")
    return chat


async def guided_child_visit(chat: ChatDriver, code: str, member: str, *, place: str = "Posyandu", size: str = "5,4 57") -> None:
    """A kader logs a child's visit through /kunjungan with nothing given, and saves it."""
    await chat.say("/kunjungan")
    await chat.say(code)
    await chat.press(member)
    await chat.press(place)
    await chat.say(size)
    await chat.say("-")
    await chat.press("Tidak")
    await chat.press("Tidak ada")
    await chat.press("Simpan")


#: The kinds of person :func:`chat_as` makes: a family, a kader or staff member without a family, and with one.
KINDS = ("family", "kader", "kader_family", "staff", "staff_family")


async def chat_as(engine, db: Database, kind: str, address: str) -> ChatDriver:
    """A consented chat of ``kind`` (:data:`KINDS`) in Buleleng III: a family of Posyandu Mawar (a mother
    and a baby born 1 September 2026), a kader of Posyandu Mawar, staff of Puskesmas Buleleng III; a
    kader or staff member without a family consented to their role only."""
    from db.models import Puskesmas
    from handlers.kader import ROLE_CONSENT_VERSIONS

    if kind in ("family", "kader_family", "staff_family"):
        await make_family(db, identity_address=address, members=(("Ibu", "F", date(1990, 1, 1)), ("Bayi", "M", date(2026, 9, 1))))
    role = kind.split("_")[0]
    async with db.write() as session:
        identity = (await session.scalars(select(Identity).where(Identity.address == address))).one_or_none()
        if identity is None:
            identity = Identity(channel="local", address=address, language="id", role=role, consent="given",
                                consent_version=ROLE_CONSENT_VERSIONS[role], consent_at=DEFAULT_NOW, created_at=DEFAULT_NOW)
            session.add(identity)
        identity.role = role
        if role == "kader":
            identity.posyandu_id = await session.scalar(select(Posyandu.id).where(Posyandu.village_code == "51.08.06.2014"))
        elif role == "staff":
            identity.puskesmas_id = await session.scalar(select(Puskesmas.id).where(Puskesmas.code == "P5108060201"))
    return ChatDriver(engine, address=address)


async def notices_to(db: Database, address: str, channel: str = "local", kind: str = "link") -> list:
    """The outbox rows of ``kind`` queued for a chat, oldest first."""
    from db.models import Outbox

    async with db.read() as session:
        return list((await session.scalars(
            select(Outbox).join(Identity, Identity.id == Outbox.identity_id)
            .where(Identity.channel == channel, Identity.address == address, Outbox.kind == kind).order_by(Outbox.id)
        )).all())


async def press_notice(chat: ChatDriver, db: Database, label: str) -> list[Reply]:
    """Presses the button ``label`` of the last outbox notice queued for ``chat`` that has one (an
    "Izinkan / Tolak" request), as the channel delivers the press."""
    for row in reversed(await notices_to(db, chat.address, chat.channel)):
        for choice_label, data in (row.body or {}).get("choices") or ():
            if choice_label.lower().startswith(label.lower()):
                return await chat.send(Incoming(chat.channel, chat.address, message_id=f"n{next(_ids)}", choice=data,
                                                phone=chat.phone))
    raise AssertionError(f"no notice with a button {label!r} for {chat.address}")


async def kader_of(engine, db: Database, address: str = "kader-link", *, village_code: str = "51.08.06.2014") -> ChatDriver:
    """A kader of the posyandu in ``village_code`` (default: Posyandu Mawar), made in the database."""
    from handlers.kader import ROLE_CONSENT_VERSIONS

    async with db.write() as session:
        identity = (await session.scalars(select(Identity).where(Identity.channel == "local", Identity.address == address))).one_or_none()
        if identity is None:
            identity = Identity(channel="local", address=address, language="id", role="kader", consent="given",
                                consent_version=ROLE_CONSENT_VERSIONS["kader"], consent_at=DEFAULT_NOW, created_at=DEFAULT_NOW)
            session.add(identity)
        identity.role = "kader"
        identity.posyandu_id = await session.scalar(select(Posyandu.id).where(Posyandu.village_code == village_code))
    return ChatDriver(engine, address=address)


async def link_through_kader(chat: ChatDriver, db: Database, code: str, *, kader: ChatDriver | None = None) -> ChatDriver:
    """``/gabung code`` from a consented ``chat`` of a family with no chat yet, confirmed by the posyandu's kader
    (made when not given); returns the kader's chat."""
    kader = kader or await kader_of(chat.engine, db)
    await chat.say(f"/gabung {code}")
    assert "Permintaan Bapak/Ibu sudah dikirim" in chat.text, chat.text
    await press_notice(kader, db, "Izinkan")
    assert "sekarang terhubung" in kader.text, kader.text
    return kader


@dataclass
class ImportWire:
    """What ``bot.py`` wires into ``registers.jobs.ImportRunner``, for tests: the files a provider holds (by
    media id), a check that is a small real function of a file's bytes, and the messages sent.

    The check reads a CSV ``nama;umur`` (a header, then one person a line): a row whose age is no number is
    a problem; the report counts both, the errors file holds the rows with problems, and there is something
    to apply when a row is good."""

    files: dict[str, bytes] = field(default_factory=dict)
    sent: list[tuple[str, str, Reply]] = field(default_factory=list)
    calls: list[dict] = field(default_factory=list)
    fetch_error: Exception | None = None

    async def fetch(self, channel: str, media_ref: str) -> bytes:
        if self.fetch_error is not None:
            raise self.fetch_error
        return self.files[media_ref]

    async def check(self, data: bytes, file_name: str, *, puskesmas_id: int, apply: bool, actor: str,
                    actor_id: int | None, lang: str) -> tuple[str, bytes | None, bool]:
        self.calls.append({"file": file_name, "puskesmas_id": puskesmas_id, "apply": apply, "actor": actor,
                           "actor_id": actor_id, "lang": lang, "size": len(data)})
        rows = [line.split(";") for line in data.decode("utf-8").splitlines()[1:] if line.strip()]
        bad = [row for row in rows if len(row) != 2 or not row[1].strip().isdecimal()]
        good = len(rows) - len(bad)
        text = f"{file_name}: {good} baris {'disimpan' if apply else 'bisa disimpan'}, {len(bad)} bermasalah."
        errors = "\n".join(";".join(row) + ";umur bukan angka" for row in bad).encode() if bad else None
        return text, errors, good > 0

    async def send(self, channel: str, address: str, reply: Reply) -> str:
        self.sent.append((channel, address, reply))
        return f"sent-{len(self.sent)}"

    def runner(self, db: Database, clock, **options):
        """An ImportRunner on this wire."""
        from registers.jobs import ImportRunner

        return ImportRunner(db, fetch=self.fetch, check=self.check, send=self.send, clock=clock, **options)

    def last(self, address: str) -> Reply:
        """The last message sent to ``address``."""
        return [reply for _channel, to, reply in self.sent if to == address][-1]


async def queue_satusehat_dose(db: Database, *, child: str = "Putu Adi", village_code: str = "51.08.06.2014",
                               state: str = "refused", problem: str | None = "refused",
                               reason: str | None = "Patient.identifier tidak sesuai", code: str = "BCG",
                               on: date = date(2026, 3, 12), nik: str | None = None) -> int:
    """A family of the posyandu in ``village_code`` whose child's dose ``code`` (given by a kader on ``on``)
    is an item of the SATUSEHAT queue in ``state`` with ``problem`` and ``reason``; the item's id."""
    from db.models import CareRecord, SatusehatItem

    family = await make_family(db, village_code=village_code, name=f"Keluarga {child}",
                               members=((child, "M", on - timedelta(days=20)),))
    async with db.write() as session:
        person = (await session.scalars(select(Person).where(Person.family_id == family.id))).one()
        person.nik = nik
        record = CareRecord(person_id=person.id, code=code, done_on=on, source="kader", created_at=DEFAULT_NOW)
        session.add(record)
        posyandu = await session.get(Posyandu, family.posyandu_id)
        await session.flush()
        item = SatusehatItem(key=f"Immunization|ilpbot-dose-{record.id}", resource_type="Immunization", row_id=record.id,
                             person_id=person.id, puskesmas_id=posyandu.puskesmas_id, state=state, problem=problem,
                             reason=reason, attempts=1, not_before=DEFAULT_NOW, digest="x", created_at=DEFAULT_NOW,
                             updated_at=DEFAULT_NOW)
        session.add(item)
        await session.flush()
        return item.id
