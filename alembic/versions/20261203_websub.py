"""WebSub push: websub_subscriptions (one per feed that advertises a hub)

Revision ID: websub
Revises: sources
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'websub'
down_revision: str | None = 'sources'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'websub_subscriptions',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('feed_id', sa.String(length=100), nullable=False),
        sa.Column('hub', sa.Text(), nullable=False),
        sa.Column('topic', sa.Text(), nullable=False),
        sa.Column('secret', sa.Text(), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['feed_id'], ['feeds.id'], name=op.f('fk_websub_subscriptions_feed_id_feeds')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_websub_subscriptions')),
        sa.UniqueConstraint('feed_id', name=op.f('uq_websub_subscriptions_feed_id')),
    )
    op.create_index(
        'ix_websub_subscriptions_due', 'websub_subscriptions', ['next_attempt_at'], unique=False
    )


def downgrade() -> None:
    op.drop_index('ix_websub_subscriptions_due', table_name='websub_subscriptions')
    op.drop_table('websub_subscriptions')
