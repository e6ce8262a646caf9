"""import_job: register files sent by chat (/impor), checked and applied outside the chat turn (issue 17)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 17:20:00
"""
import sqlalchemy as sa
from alembic import op

import db.types

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('import_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('puskesmas_id', sa.Integer(), nullable=False),
    sa.Column('identity_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('media_ref', sa.String(length=255), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('state', sa.String(length=10), server_default='queued', nullable=False),
    sa.Column('applicable', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('lease_until', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('report', sa.Text(), nullable=True),
    sa.Column('error', sa.String(length=200), nullable=True),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['identity_id'], ['identity.id'], name=op.f('fk_import_job_identity_id_identity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['puskesmas_id'], ['puskesmas.id'], name=op.f('fk_import_job_puskesmas_id_puskesmas')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_job'))
    )
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.create_index('ix_import_job_due', ['state', 'lease_until'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_job_identity_id'), ['identity_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_job_identity_id'))
        batch_op.drop_index('ix_import_job_due')
    op.drop_table('import_job')
