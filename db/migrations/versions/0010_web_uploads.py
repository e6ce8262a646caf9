"""import_upload and broadcast_photo: files uploaded on the puskesmas web (issue 18): a register to import
(held until its job ends) and an announcement's photo; import_job of a web session: identity_id nullable (an
administrator's session), language (the session's)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 20:30:00
"""
import sqlalchemy as sa
from alembic import op

import db.types

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.alter_column('identity_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))
    op.create_table(
        'import_upload',
        sa.Column('job_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('errors', sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(['job_id'], ['import_job.id'], name=op.f('fk_import_upload_job_id_import_job'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('job_id', name=op.f('pk_import_upload')),
    )
    op.create_table(
        'broadcast_photo',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('puskesmas_id', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('mime', sa.String(length=32), nullable=False),
        sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['puskesmas_id'], ['puskesmas.id'], name=op.f('fk_broadcast_photo_puskesmas_id_puskesmas'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcast_photo')),
    )
    op.create_index(op.f('ix_broadcast_photo_puskesmas_id'), 'broadcast_photo', ['puskesmas_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_broadcast_photo_puskesmas_id'), table_name='broadcast_photo')
    op.drop_table('broadcast_photo')
    op.drop_table('import_upload')
    op.execute("DELETE FROM import_job WHERE identity_id IS NULL")
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.drop_column('language')
        batch_op.alter_column('identity_id', existing_type=sa.Integer(), nullable=False)
