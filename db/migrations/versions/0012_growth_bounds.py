"""Growth kept in bounds (issue 20): the dispatcher's index holds only the waiting outbox rows; old outbox
rows and reminder items are found by age (reminders.retention deletes them after privacy.outbox_keep_days,
leaving the reports' counts in reminder_tally)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 21:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

#: db.models.WAITING_ROWS as it was written (a migration does not import the models: they move on)
WAITING_ROWS = "state IN ('pending', 'sending')"


def upgrade() -> None:
    op.create_table(
        'reminder_tally',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('posyandu_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('sent', sa.Integer(), nullable=False),
        sa.Column('delivered', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['posyandu_id'], ['posyandu.id'], name=op.f('fk_reminder_tally_posyandu_id_posyandu'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_tally')),
        sa.UniqueConstraint('posyandu_id', 'day', name=op.f('uq_reminder_tally_posyandu_id_day')),
    )
    op.drop_index('ix_outbox_due', table_name='outbox')
    op.create_index('ix_outbox_waiting', 'outbox', ['not_before', 'id'], unique=False,
                    sqlite_where=sa.text(WAITING_ROWS), postgresql_where=sa.text(WAITING_ROWS))
    op.create_index('ix_outbox_created_at', 'outbox', ['created_at'], unique=False)
    op.create_index('ix_reminder_item_kind_due', 'reminder_item', ['kind', 'due_on'], unique=False)
    op.create_index('ix_reminder_item_outbox_id', 'reminder_item', ['outbox_id'], unique=False,
                    sqlite_where=sa.text('outbox_id IS NOT NULL'), postgresql_where=sa.text('outbox_id IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_reminder_item_outbox_id', table_name='reminder_item', sqlite_where=sa.text('outbox_id IS NOT NULL'),
                  postgresql_where=sa.text('outbox_id IS NOT NULL'))
    op.drop_index('ix_reminder_item_kind_due', table_name='reminder_item')
    op.drop_index('ix_outbox_created_at', table_name='outbox')
    op.drop_index('ix_outbox_waiting', table_name='outbox', sqlite_where=sa.text(WAITING_ROWS),
                  postgresql_where=sa.text(WAITING_ROWS))
    op.create_index('ix_outbox_due', 'outbox', ['state', 'not_before'], unique=False)
    op.drop_table('reminder_tally')
