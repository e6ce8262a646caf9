"""one care record, life events, referrals, approximate birth dates

Doses (the old ``immunization`` table) and the services a visit recorded as measurements
(vitamin A, ANC contact number, SKILAS result, iron tablets; a child's weighing, an adult's PTM
screening) become rows of ``care_record``, the one history every reader uses.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 03:30:00
"""
from datetime import date

import sqlalchemy as sa
from alembic import op

import db.types

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

MOVED_KINDS = ("vitamin_a", "anc_contact", "skilas_positive", "iron_tablets")


def _date(value):
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _months(birth: date, on: date) -> int:
    months = (on.year - birth.year) * 12 + on.month - birth.month
    if on.day < birth.day:
        months -= 1
    return months


def upgrade() -> None:
    op.create_table('care_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=False),
    sa.Column('precision', sa.String(length=8), server_default='day', nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_care_record_person_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by'], ['identity.id'], name=op.f('fk_care_record_recorded_by_identity'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], name=op.f('fk_care_record_visit_id_visit'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_record')),
    sa.UniqueConstraint('person_id', 'code', 'done_on', name=op.f('uq_care_record_person_id_code_done_on'))
    )
    with op.batch_alter_table('care_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_record_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_care_record_visit_id'), ['visit_id'], unique=False)

    op.create_table('life_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_life_event_person_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by'], ['identity.id'], name=op.f('fk_life_event_recorded_by_identity'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_life_event'))
    )
    with op.batch_alter_table('life_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_life_event_person_id'), ['person_id'], unique=False)

    op.create_table('referral',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('posyandu_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=12), server_default='open', nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outcome_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome_by', sa.Integer(), nullable=True),
    sa.Column('outcome_note', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['identity.id'], name=op.f('fk_referral_created_by_identity'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['outcome_by'], ['identity.id'], name=op.f('fk_referral_outcome_by_identity'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_referral_person_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['posyandu_id'], ['posyandu.id'], name=op.f('fk_referral_posyandu_id_posyandu')),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], name=op.f('fk_referral_visit_id_visit'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral'))
    )
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ix_referral_posyandu_status', ['posyandu_id', 'status'], unique=False)

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('birth_precision', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('birth_weight_g', sa.Integer(), nullable=True))

    _move_history()

    with op.batch_alter_table('immunization', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_immunization_person_id'))
    op.drop_table('immunization')


def _move_history() -> None:
    """Doses and the services hidden in measurements become care records."""
    bind = op.get_bind()
    record = sa.table(
        'care_record', sa.column('person_id'), sa.column('code'), sa.column('done_on'), sa.column('precision'),
        sa.column('source'), sa.column('visit_id'), sa.column('detail', sa.JSON()), sa.column('recorded_by'),
        sa.column('created_at'),  # passed on as the driver read it (text in SQLite)
    )
    rows, seen = [], set()

    def add(person_id, code, on, source, visit_id, detail, by, created):
        key = (person_id, code, on)
        if key in seen:
            return
        seen.add(key)
        rows.append({"person_id": person_id, "code": code, "done_on": on, "precision": "day", "source": source,
                     "visit_id": visit_id, "detail": detail, "recorded_by": by, "created_at": created})

    for person_id, dose, given_on, visit_id, source, created in bind.execute(sa.text(
            "SELECT person_id, dose, given_on, visit_id, source, created_at FROM immunization ORDER BY id")):
        add(person_id, dose, _date(given_on), source, visit_id, None, None, created)
    visits = bind.execute(sa.text(
        "SELECT v.id, v.person_id, v.visited_on, v.kader_id, v.created_at, p.birth_date, p.sex, p.hpht, p.delivered_on "
        "FROM visit v JOIN person p ON p.id = v.person_id ORDER BY v.id")).all()
    measures: dict = {}
    for visit_id, kind, value in bind.execute(sa.text("SELECT visit_id, kind, value FROM measurement")):
        measures.setdefault(visit_id, {})[kind] = value
    for visit_id, person_id, visited, kader, created, birth, sex, hpht, delivered in visits:
        visited, birth, hpht, delivered = _date(visited), _date(birth), _date(hpht), _date(delivered)
        m = measures.get(visit_id, {})
        months = _months(birth, visited) if birth else None
        pregnant = hpht is not None and hpht <= visited and (delivered is None or delivered < hpht or delivered > visited)
        if "weight_kg" in m and months is not None and 0 <= months < 60:
            add(person_id, "TIMBANG", visited, "kader", visit_id, None, kader, created)
        if m.get("vitamin_a") and months is not None and 6 <= months < 60:
            add(person_id, "VITA_BIRU" if months < 12 else "VITA_MERAH", visited, "kader", visit_id, None, kader, created)
        if m.get("anc_contact"):
            add(person_id, f"ANC{min(int(m['anc_contact']), 6)}", visited, "kader", visit_id, None, kader, created)
        if m.get("iron_tablets") is not None and pregnant:
            add(person_id, "TTD_HAMIL", visited, "kader", visit_id, {"tablets": int(m["iron_tablets"])}, kader, created)
        if "skilas_positive" in m:
            add(person_id, "SKILAS", visited, "kader", visit_id,
                {"result": "positive" if m["skilas_positive"] else "normal"}, kader, created)
        if months is not None and 15 * 12 <= months < 60 * 12 and not pregnant and (
                "sbp" in m or "glucose" in m or "waist_cm" in m):
            add(person_id, "SKRINING_PTM", visited, "kader", visit_id, None, kader, created)
    for start in range(0, len(rows), 500):
        op.bulk_insert(record, rows[start:start + 500])
    moved = ", ".join(f"'{kind}'" for kind in MOVED_KINDS)
    bind.execute(sa.text(f"DELETE FROM measurement WHERE kind IN ({moved})"))


def downgrade() -> None:
    op.create_table('immunization',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('dose', sa.String(length=16), nullable=False),
    sa.Column('given_on', sa.Date(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_immunization_person_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], name=op.f('fk_immunization_visit_id_visit'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_immunization')),
    sa.UniqueConstraint('person_id', 'dose', 'given_on', name=op.f('uq_immunization_person_id_dose_given_on'))
    )
    with op.batch_alter_table('immunization', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_immunization_person_id'), ['person_id'], unique=False)
    from care.labels import DOSE_LABELS

    codes = ", ".join(f"'{c}'" for c in DOSE_LABELS)
    op.execute(
        "INSERT INTO immunization (person_id, dose, given_on, visit_id, source, created_at) "
        f"SELECT person_id, code, done_on, visit_id, source, created_at FROM care_record WHERE code IN ({codes})"
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('birth_weight_g')
        batch_op.drop_column('birth_precision')
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_index('ix_referral_posyandu_status')
        batch_op.drop_index(batch_op.f('ix_referral_person_id'))
    op.drop_table('referral')
    with op.batch_alter_table('life_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_life_event_person_id'))
    op.drop_table('life_event')
    with op.batch_alter_table('care_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_record_visit_id'))
        batch_op.drop_index(batch_op.f('ix_care_record_person_id'))
    op.drop_table('care_record')
