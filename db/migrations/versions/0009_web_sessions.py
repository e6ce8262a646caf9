"""web_link and web_session: one-time sign-in links and sessions of the puskesmas web (issue 18)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 17:40:00
"""
import sqlalchemy as sa
from alembic import op

import db.types

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'web_link',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('identity_id', sa.Integer(), nullable=True),
        sa.Column('puskesmas_id', sa.Integer(), nullable=False),
        sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['identity_id'], ['identity.id'], name=op.f('fk_web_link_identity_id_identity'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['puskesmas_id'], ['puskesmas.id'], name=op.f('fk_web_link_puskesmas_id_puskesmas'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_web_link')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_web_link_token_hash')),
    )
    op.create_index(op.f('ix_web_link_identity_id'), 'web_link', ['identity_id'], unique=False)
    op.create_table(
        'web_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('identity_id', sa.Integer(), nullable=True),
        sa.Column('puskesmas_id', sa.Integer(), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('csrf', sa.String(length=64), nullable=False),
        sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('ended_at', db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['identity_id'], ['identity.id'], name=op.f('fk_web_session_identity_id_identity'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['puskesmas_id'], ['puskesmas.id'], name=op.f('fk_web_session_puskesmas_id_puskesmas'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_web_session')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_web_session_token_hash')),
    )
    op.create_index(op.f('ix_web_session_identity_id'), 'web_session', ['identity_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_web_session_identity_id'), table_name='web_session')
    op.drop_table('web_session')
    op.drop_index(op.f('ix_web_link_identity_id'), table_name='web_link')
    op.drop_table('web_link')
