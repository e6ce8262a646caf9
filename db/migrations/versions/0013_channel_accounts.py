"""Several channel accounts (issue 20): each chat row records the account (a bot token, a WhatsApp number) it
wrote to, and everything sent to it goes out through that account; the rows before it belong to "default"

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 00:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('identity') as batch:
        batch.add_column(sa.Column('account', sa.String(length=32), server_default='default', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('identity') as batch:
        batch.drop_column('account')
