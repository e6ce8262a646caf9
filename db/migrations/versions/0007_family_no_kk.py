"""family.no_kk and an index on person.nik: register imports (issue 17) match families by No KK and people by NIK

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 17:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('family', schema=None) as batch_op:
        batch_op.add_column(sa.Column('no_kk', sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f('ix_family_no_kk'), ['no_kk'], unique=False)
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_nik'), ['nik'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_nik'))
    with op.batch_alter_table('family', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_family_no_kk'))
        batch_op.drop_column('no_kk')
