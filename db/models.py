"""The core tables of DESIGN.md as SQLAlchemy 2 declarative models. Times are UTC."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from db.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Puskesmas(Base):
    __tablename__ = "puskesmas"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    district_code: Mapped[str] = mapped_column(String(16))
    district_name: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]

    posyandu: Mapped[list[Posyandu]] = relationship(back_populates="puskesmas")


class Posyandu(Base):
    __tablename__ = "posyandu"

    id: Mapped[int] = mapped_column(primary_key=True)
    puskesmas_id: Mapped[int] = mapped_column(ForeignKey("puskesmas.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    village_code: Mapped[str] = mapped_column(String(16), index=True)
    village_name: Mapped[str] = mapped_column(String(120))
    #: the recurring day, e.g. {"monthly_day": 12} or {"nth": 2, "weekday": "tuesday"}
    schedule: Mapped[dict[str, Any]]
    #: what happens to a session on a national holiday: "before" / "after" (nearest working day) or "flag"
    holiday_policy: Mapped[str] = mapped_column(String(8), default="after", server_default="after")
    created_at: Mapped[datetime]

    puskesmas: Mapped[Puskesmas] = relationship(back_populates="posyandu")


class PosyanduException(Base):
    """A change to a posyandu's recurring days: a session moved, cancelled, or an extra one."""

    __tablename__ = "posyandu_exception"

    id: Mapped[int] = mapped_column(primary_key=True)
    posyandu_id: Mapped[int] = mapped_column(ForeignKey("posyandu.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # moved | cancelled | extra
    original_date: Mapped[date | None] = mapped_column(Date)  # the regular session it changes
    new_date: Mapped[date | None] = mapped_column(Date)  # moved to / the extra session's day
    reason: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("identity.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class Family(Base):
    __tablename__ = "family"

    id: Mapped[int] = mapped_column(primary_key=True)
    posyandu_id: Mapped[int] = mapped_column(ForeignKey("posyandu.id"), index=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    dusun: Mapped[str | None] = mapped_column(String(80))
    rt: Mapped[str | None] = mapped_column(String(4))
    rw: Mapped[str | None] = mapped_column(String(4))
    #: the household's phone as a kader wrote it down, normalised to 62...: links a WhatsApp chat later
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    #: the Kartu Keluarga number (16 digits) when known: register imports (``registers.importer``) match by it
    no_kk: Mapped[str | None] = mapped_column(String(16), index=True)
    registered_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    posyandu: Mapped[Posyandu] = relationship()
    members: Mapped[list[Person]] = relationship(
        back_populates="family", cascade="all, delete-orphan", order_by="Person.id"
    )


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    sex: Mapped[str] = mapped_column(String(1))  # "M" or "F"
    birth_date: Mapped[date | None] = mapped_column(Date)
    hpht: Mapped[date | None] = mapped_column(Date)  # first day of the last period
    due_date: Mapped[date | None] = mapped_column(Date)  # HPL
    delivered_on: Mapped[date | None] = mapped_column(Date)
    nik: Mapped[str | None] = mapped_column(String(16), index=True)
    #: how well ``birth_date`` is known: None (the day), "month", "year" or "age" (estimated from an age)
    birth_precision: Mapped[str | None] = mapped_column(String(8))
    #: grams, when the birth was recorded (BBLR below 2,500 g)
    birth_weight_g: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    family: Mapped[Family] = relationship(back_populates="members")


class Identity(Base):
    """One chat address (a Telegram chat, a WhatsApp number, a local chat user)."""

    __tablename__ = "identity"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(8))
    role: Mapped[str] = mapped_column(String(8), default="family")  # family | kader | staff | admin
    family_id: Mapped[int | None] = mapped_column(ForeignKey("family.id", ondelete="SET NULL"), index=True)
    posyandu_id: Mapped[int | None] = mapped_column(ForeignKey("posyandu.id"))
    puskesmas_id: Mapped[int | None] = mapped_column(ForeignKey("puskesmas.id"))
    consent: Mapped[str | None] = mapped_column(String(8))  # given | refused | None (not asked yet)
    consent_version: Mapped[str | None] = mapped_column(String(16))
    consent_at: Mapped[datetime | None]
    opted_out_at: Mapped[datetime | None]
    #: when daily reminders are delivered, local time: "morning" or "afternoon"
    reminder_slot: Mapped[str] = mapped_column(String(10), default="morning", server_default="morning")
    unreachable_at: Mapped[datetime | None]
    last_inbound_at: Mapped[datetime | None]
    #: the channel account (config.ChannelAccount: a bot token, a WhatsApp number) the chat last wrote to:
    #: every message to it goes out through that account ("default": the single-account settings')
    account: Mapped[str] = mapped_column(String(32), default="default", server_default="default")
    created_at: Mapped[datetime]

    family: Mapped[Family | None] = relationship()


class ConsentRecord(Base):
    """What was agreed to (or refused), when, and which version of the text."""

    __tablename__ = "consent_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identity.id", ondelete="CASCADE"), index=True)
    decision: Mapped[str] = mapped_column(String(8))  # given | refused | withdrawn
    version: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime]


class ConversationState(Base):
    __tablename__ = "conversation_state"

    identity_id: Mapped[int] = mapped_column(ForeignKey("identity.id", ondelete="CASCADE"), primary_key=True)
    flow: Mapped[str | None] = mapped_column(String(32))
    step: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict[str, Any]]
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]


class InboundMessage(Base):
    """Inbound message ids already handled: a message seen twice is answered once."""

    __tablename__ = "inbound_message"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)


class Visit(Base):
    __tablename__ = "visit"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    posyandu_id: Mapped[int] = mapped_column(ForeignKey("posyandu.id"), index=True)
    kader_id: Mapped[int | None] = mapped_column(ForeignKey("identity.id", ondelete="SET NULL"))
    visited_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(8))  # posyandu | home
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class Measurement(Base):
    __tablename__ = "measurement"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # weight_kg, length_cm, head_cm, muac_cm, sbp, dbp, ...
    value: Mapped[float] = mapped_column(Float)
    detail: Mapped[str | None] = mapped_column(String(16))  # e.g. "l" / "h" for length or height


class CareRecord(Base):
    """A dose or service done (care.history): whichever path wrote it, the same row.

    ``done_on`` is the date the rules use; ``precision`` says how well it is known (day, month,
    unknown). ``visit_id`` ties the records a visit wrote to it (an undone visit takes them along).
    """

    __tablename__ = "care_record"
    __table_args__ = (UniqueConstraint("person_id", "code", "done_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(24))
    done_on: Mapped[date] = mapped_column(Date)
    precision: Mapped[str] = mapped_column(String(8), default="day", server_default="day")
    source: Mapped[str] = mapped_column(String(8))  # family | kader | staff | import
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id", ondelete="CASCADE"), index=True)
    #: what else was recorded with it, e.g. {"tablets": 30} or {"result": "positive"}
    detail: Mapped[dict[str, Any] | None]
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("identity.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class LifeEvent(Base):
    """A birth or the end of a pregnancy without one, as it was told (the person's dates say the rest)."""

    __tablename__ = "life_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # birth | pregnancy_loss
    on_date: Mapped[date] = mapped_column(Date)
    #: e.g. {"weeks": 38, "babies": 2, "preterm": false} or {"weeks": 11}
    detail: Mapped[dict[str, Any]]
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("identity.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class Referral(Base):
    """A person sent to the puskesmas for a reason found at a visit, followed until its outcome."""

    __tablename__ = "referral"
    __table_args__ = (Index("ix_referral_posyandu_status", "posyandu_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    posyandu_id: Mapped[int] = mapped_column(ForeignKey("posyandu.id"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id", ondelete="SET NULL"))
    #: stunting | wasting | underweight | 2T | kek | hypertension | skilas | danger | lbw
    reason: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, Any] | None]
    #: open | came | treated | referred_on | not_found
    status: Mapped[str] = mapped_column(String(12), default="open", server_default="open")
    opened_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("identity.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    outcome_at: Mapped[datetime | None]
    outcome_by: Mapped[int | None] = mapped_column(ForeignKey("identity.id", ondelete="SET NULL"))
    outcome_note: Mapped[str | None] = mapped_column(String(200))


#: the outbox rows still to be sent (pending, or sending under a lease): the predicate of the partial index
#: ``ix_outbox_waiting``. A query on waiting rows names it word for word (``Outbox.waiting()``): SQLite uses a
#: partial index only when the query's WHERE contains its condition, PostgreSQL only when it can prove it, which
#: it cannot from bound parameters in a generic plan.
WAITING_ROWS = "state IN ('pending', 'sending')"


class Outbox(Base):
    """A message to send; the unique key makes planning idempotent."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("key"),
        #: the rows the dispatcher claims, in its order: only the waiting ones, so it stays as small as the
        #: queue while the outbox keeps a year of finished rows
        Index("ix_outbox_waiting", "not_before", "id", sqlite_where=sql_text(WAITING_ROWS),
              postgresql_where=sql_text(WAITING_ROWS)),
        #: the finished rows past ``privacy.outbox_keep_days`` are found by age (reminders.retention deletes them)
        Index("ix_outbox_created_at", "created_at"),
        #: the rows whose text is still kept (reminders.retention prunes them by age)
        Index("ix_outbox_unpruned", "created_at", sqlite_where=sql_text("pruned_at IS NULL"),
              postgresql_where=sql_text("pruned_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160))  # recipient, kind, subject, due date
    identity_id: Mapped[int] = mapped_column(ForeignKey("identity.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))  # the chat to send to (copied from the identity)
    kind: Mapped[str] = mapped_column(String(24))
    #: {"text": ..., "choices": [[label, data], ...], "lang": ..., "items": [...]} (items for templates)
    body: Mapped[dict[str, Any]]
    timezone: Mapped[str] = mapped_column(String(64))  # local time of the recipient, for quiet hours
    state: Mapped[str] = mapped_column(String(12), default="pending")
    not_before: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    provider_message_id: Mapped[str | None] = mapped_column(String(64), index=True)
    #: what the provider reported after the send (WhatsApp statuses): sent, failed, delivered, read
    delivery: Mapped[str | None] = mapped_column(String(12))
    delivery_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(200))
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcast.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime]
    #: when the text in ``body`` was replaced by counts (reminders.retention, or an erasure)
    pruned_at: Mapped[datetime | None]

    @staticmethod
    def waiting():
        """The condition of ``ix_outbox_waiting`` (:data:`WAITING_ROWS`), to AND into a query on waiting rows."""
        return sql_text(f"outbox.{WAITING_ROWS}")


class DeliveryStatus(Base):
    """A provider status that arrived before the outbox row recorded its message id; applied later."""

    __tablename__ = "delivery_status"

    provider_message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(12))
    error_code: Mapped[int | None]
    at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(index=True)


class ReminderItem(Base):
    """One thing a person was reminded of; the key makes planning idempotent and counts repeats."""

    __tablename__ = "reminder_item"
    __table_args__ = (
        UniqueConstraint("key"),
        #: reminders.retention finds the items long past by kind and due date
        Index("ix_reminder_item_kind_due", "kind", "due_on"),
        #: the foreign key's own lookup when an outbox row is deleted (SET NULL): without an index each deleted
        #: row would read the whole table; partial, so it holds only the items that name a row
        Index("ix_reminder_item_outbox_id", "outbox_id", sqlite_where=sql_text("outbox_id IS NOT NULL"),
              postgresql_where=sql_text("outbox_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160))  # family, person, kind, subject, due date
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # posyandu | dose | service
    subject: Mapped[str] = mapped_column(String(24))  # dose or service code, or the session date
    due_on: Mapped[date] = mapped_column(Date)
    times: Mapped[int] = mapped_column(Integer, default=0)
    last_planned_on: Mapped[date | None] = mapped_column(Date)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class Broadcast(Base):
    __tablename__ = "broadcast"

    id: Mapped[int] = mapped_column(primary_key=True)
    puskesmas_id: Mapped[int] = mapped_column(ForeignKey("puskesmas.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("identity.id", ondelete="SET NULL"))
    audience: Mapped[dict[str, Any]]
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default="draft")
    created_at: Mapped[datetime]


class Invite(Base):
    __tablename__ = "invite"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    role: Mapped[str] = mapped_column(String(8))
    posyandu_id: Mapped[int | None] = mapped_column(ForeignKey("posyandu.id"))
    puskesmas_id: Mapped[int | None] = mapped_column(ForeignKey("puskesmas.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("identity.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime]
    used_by: Mapped[int | None] = mapped_column(ForeignKey("identity.id", ondelete="SET NULL"))
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("identity.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str | None] = mapped_column(String(24))
    target_id: Mapped[int | None]
    detail: Mapped[dict[str, Any]]


class ErasureTally(Base):
    """Anonymous counts left behind when a family erases its data."""

    __tablename__ = "erasure_tally"

    id: Mapped[int] = mapped_column(primary_key=True)
    posyandu_id: Mapped[int | None] = mapped_column(ForeignKey("posyandu.id"))
    erased_on: Mapped[date] = mapped_column(Date)
    members: Mapped[int] = mapped_column(Integer)
    stages: Mapped[dict[str, Any]]  # stage code -> count on the day of erasure


class ReminderTally(Base):
    """The daily reminders sent to a posyandu's families on a day (UTC), counted when reminders.retention deleted
    their outbox rows (after ``privacy.outbox_keep_days``): a report of those days reads them from here
    (``db.coverage.reminder_counts``)."""

    __tablename__ = "reminder_tally"
    __table_args__ = (UniqueConstraint("posyandu_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    posyandu_id: Mapped[int] = mapped_column(ForeignKey("posyandu.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    sent: Mapped[int] = mapped_column(Integer)
    delivered: Mapped[int] = mapped_column(Integer)


class LinkRequest(Base):
    """A chat asking to be linked to a family with its code (handlers.link): it waits for a yes of a chat
    already linked to the family (``asked`` "family") or, when there is none, of a kader of the family's
    posyandu (``asked`` "kader"; with none on the bot, staff of its puskesmas, "staff"); it lapses at
    ``expires_at``."""

    __tablename__ = "link_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id", ondelete="CASCADE"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("identity.id", ondelete="CASCADE"), index=True)
    asked: Mapped[str] = mapped_column(String(8))  # family | kader | staff
    #: the code was one of the 6-character codes made before issue 15 (replaced once the link is made)
    old_code: Mapped[bool] = mapped_column(default=False, server_default="0")
    #: pending | approved | refused | expired
    state: Mapped[str] = mapped_column(String(10), default="pending", server_default="pending")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("identity.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]


class ImportJob(Base):
    """A register file (CSV/XLSX) a staff member sent by chat (``/impor``, handlers.register_import), checked
    and applied by ``registers.jobs`` outside any chat turn (a large file takes up to a minute).

    ``state``: queued -> checking -> checked -> applying -> applied, or failed / cancelled. ``checking`` and
    ``applying`` hold a lease while a runner works on them (``applying`` without a lease: the apply is asked
    for and waits for a runner); a lease that lapsed (its process died) is taken again. The file is not
    kept: ``media_ref`` (the provider's id: Telegram's file_id, WhatsApp's media id, valid 7 days) fetches
    it again for the apply. ``report`` is the last report sent; ``error`` a short reason of a failure (the
    exception's class, nothing personal).

    A file uploaded on the web (``/impor``, web.imports) is a job of ``channel`` "web": its bytes wait in
    :class:`ImportUpload` until the job ends, ``identity_id`` is None for an administrator's session, and
    ``language`` is the session's (the report's language; None: the identity's)."""

    __tablename__ = "import_job"
    __table_args__ = (Index("ix_import_job_due", "state", "lease_until"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    puskesmas_id: Mapped[int] = mapped_column(ForeignKey("puskesmas.id"))
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("identity.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))  # the chat the report goes to (copied from the identity; "" on the web)
    language: Mapped[str | None] = mapped_column(String(8))  # the report's language of a web job (the session's)
    media_ref: Mapped[str] = mapped_column(String(255))
    file_name: Mapped[str] = mapped_column(String(255))
    #: queued | checking | checked | applying | applied | failed | cancelled
    state: Mapped[str] = mapped_column(String(10), default="queued", server_default="queued")
    #: the check found something to apply (its report came with *Terapkan*)
    applicable: Mapped[bool] = mapped_column(default=False, server_default="0")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lease_until: Mapped[datetime | None]
    report: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ImportUpload(Base):
    """The file of a web import job (``channel`` "web") while the job may still need it: the uploaded file
    is not kept. The row is deleted when the job is applied, cancelled or failed, and pruned
    ``registers.jobs.APPLY_WITHIN`` after the upload (registers.jobs); ``errors`` is the check's errors XLSX,
    downloadable from the job's page meanwhile."""

    __tablename__ = "import_upload"

    job_id: Mapped[int] = mapped_column(ForeignKey("import_job.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    errors: Mapped[bytes | None] = mapped_column(LargeBinary)


class BroadcastPhoto(Base):
    """A photo staff attached to an announcement on the web (``/pengumuman``): outbox bodies name it as
    ``{"photo": "<id>", "photo_channel": "web"}`` and each channel fetches it through its media source "web"
    (``reminders.announcements.photo_of``), uploads it once and reuses the provider's id. Pruned once no
    message can still send it (reminders.announcements)."""

    __tablename__ = "broadcast_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    puskesmas_id: Mapped[int] = mapped_column(ForeignKey("puskesmas.id", ondelete="CASCADE"), index=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    mime: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]


class WebLink(Base):
    """A one-time sign-in link to the puskesmas web (``/web`` in the chat, ``bot.py web link``; db.web_auth):
    only a hash of its token is kept; it opens one session until ``expires_at``, once (``used_at``).
    ``identity_id`` is the staff member it was made for; None for an administrator's link."""

    __tablename__ = "web_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("identity.id", ondelete="CASCADE"), index=True)
    puskesmas_id: Mapped[int] = mapped_column(ForeignKey("puskesmas.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class WebSession(Base):
    """A signed-in browser of the puskesmas web (db.web_auth): the cookie's token, kept only as a hash, so
    that any instance knows the session; it ends at sign-out (``ended_at``) or after
    ``web_auth.IDLE`` without a request (``last_seen_at``). ``csrf`` is the token every form carries."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("identity.id", ondelete="CASCADE"), index=True)
    puskesmas_id: Mapped[int] = mapped_column(ForeignKey("puskesmas.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class SatusehatItem(Base):
    """One resource to send to SATUSEHAT (satusehat.queue, satusehat.sync): a visit's Encounter, a measurement's
    Observation or a dose's Immunization, by its stable business identifier (``key``: resource type and the
    local id, e.g. ``Encounter|ilpbot-visit-12``), so that a retry updates instead of duplicating.

    ``state``: pending (to send; again after a correction) -> sent; waiting (the person has no NIK, or
    SATUSEHAT does not know it, or its Encounter is not sent yet: ``problem`` says which), held (our own check
    found a problem: ``problem``), refused (SATUSEHAT answered an OperationOutcome: ``reason``). Every state
    but sent is tried again when its cause may have changed. ``server_id`` is the resource's id at SATUSEHAT
    (a later change is a PUT to it). ``digest`` is the hash of the resource last built, so a correction is
    seen. Erasing a family removes its items (the person's rows cascade); what was sent stays the facility's
    record at SATUSEHAT."""

    __tablename__ = "satusehat_item"
    __table_args__ = (UniqueConstraint("key"), Index("ix_satusehat_item_due", "state", "not_before"),
                      Index("ix_satusehat_item_row", "resource_type", "row_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80))
    resource_type: Mapped[str] = mapped_column(String(16))  # Encounter | Observation | Immunization
    row_id: Mapped[int] = mapped_column(Integer)  # visit, measurement or care_record id
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    puskesmas_id: Mapped[int] = mapped_column(ForeignKey("puskesmas.id"), index=True)
    #: pending | waiting | held | refused | sent
    state: Mapped[str] = mapped_column(String(10), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    not_before: Mapped[datetime]
    server_id: Mapped[str | None] = mapped_column(String(64))
    digest: Mapped[str | None] = mapped_column(String(64))
    problem: Mapped[str | None] = mapped_column(String(32))  # a problem code (satusehat.problems)
    reason: Mapped[str | None] = mapped_column(String(500))  # SATUSEHAT's words (OperationOutcome), or ours
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class SatusehatPatient(Base):
    """A person's IHS number (the Patient id at SATUSEHAT), once found by NIK; none is kept for a NIK it
    did not know (the item waits and the search is made again)."""

    __tablename__ = "satusehat_patient"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    ihs_number: Mapped[str] = mapped_column(String(64))
    found_at: Mapped[datetime]
