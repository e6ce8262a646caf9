"""satusehat_item and satusehat_patient: the durable queue of resources sent to SATUSEHAT and the IHS numbers
found by NIK (issue 19)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 20:30:00
"""
import sqlalchemy as sa
from alembic import op

import db.types

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('satusehat_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('resource_type', sa.String(length=16), nullable=False),
    sa.Column('row_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('puskesmas_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('not_before', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('server_id', sa.String(length=64), nullable=True),
    sa.Column('digest', sa.String(length=64), nullable=True),
    sa.Column('problem', sa.String(length=32), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_satusehat_item_person_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['puskesmas_id'], ['puskesmas.id'], name=op.f('fk_satusehat_item_puskesmas_id_puskesmas')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_satusehat_item')),
    sa.UniqueConstraint('key', name=op.f('uq_satusehat_item_key'))
    )
    with op.batch_alter_table('satusehat_item', schema=None) as batch_op:
        batch_op.create_index('ix_satusehat_item_due', ['state', 'not_before'], unique=False)
        batch_op.create_index('ix_satusehat_item_row', ['resource_type', 'row_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_satusehat_item_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_satusehat_item_puskesmas_id'), ['puskesmas_id'], unique=False)
    op.create_table('satusehat_patient',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('ihs_number', sa.String(length=64), nullable=False),
    sa.Column('found_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_satusehat_patient_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_satusehat_patient'))
    )


def downgrade() -> None:
    op.drop_table('satusehat_patient')
    with op.batch_alter_table('satusehat_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_satusehat_item_puskesmas_id'))
        batch_op.drop_index(batch_op.f('ix_satusehat_item_person_id'))
        batch_op.drop_index('ix_satusehat_item_row')
        batch_op.drop_index('ix_satusehat_item_due')
    op.drop_table('satusehat_item')
