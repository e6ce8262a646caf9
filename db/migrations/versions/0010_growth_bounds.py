"""Growth kept in bounds (issue 20): the dispatcher's index holds only the waiting outbox rows; old outbox
rows and reminder items are found by age (reminders.retention deletes them after privacy.outbox_keep_days)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 21:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

#: db.models.WAITING_ROWS as it was written (a migration does not import the models: they move on)
WAITING_ROWS = "state IN ('pending', 'sending')"


def upgrade() -> None:
    op.drop_index('ix_outbox_due', table_name='outbox')
    op.create_index('ix_outbox_waiting', 'outbox', ['not_before', 'id'], unique=False,
                    sqlite_where=sa.text(WAITING_ROWS), postgresql_where=sa.text(WAITING_ROWS))
    op.create_index('ix_outbox_created_at', 'outbox', ['created_at'], unique=False)
    op.create_index('ix_reminder_item_due_on', 'reminder_item', ['due_on'], unique=False)
    op.create_index('ix_reminder_item_outbox_id', 'reminder_item', ['outbox_id'], unique=False,
                    sqlite_where=sa.text('outbox_id IS NOT NULL'), postgresql_where=sa.text('outbox_id IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_reminder_item_outbox_id', table_name='reminder_item', sqlite_where=sa.text('outbox_id IS NOT NULL'),
                  postgresql_where=sa.text('outbox_id IS NOT NULL'))
    op.drop_index('ix_reminder_item_due_on', table_name='reminder_item')
    op.drop_index('ix_outbox_created_at', table_name='outbox')
    op.drop_index('ix_outbox_waiting', table_name='outbox', sqlite_where=sa.text(WAITING_ROWS),
                  postgresql_where=sa.text(WAITING_ROWS))
    op.create_index('ix_outbox_due', 'outbox', ['state', 'not_before'], unique=False)
