"""outbox.pruned_at: sent message texts are kept for privacy.retention_days, then only counts

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-14 03:00:00
"""
import sqlalchemy as sa
from alembic import op

import db.types

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pruned_at', db.types.UTCDateTime(timezone=True), nullable=True))
    op.create_index('ix_outbox_unpruned', 'outbox', ['created_at'], unique=False,
                    sqlite_where=sa.text('pruned_at IS NULL'), postgresql_where=sa.text('pruned_at IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_outbox_unpruned', table_name='outbox', sqlite_where=sa.text('pruned_at IS NULL'),
                  postgresql_where=sa.text('pruned_at IS NULL'))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('pruned_at')
