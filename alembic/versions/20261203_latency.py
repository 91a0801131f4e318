"""latency promise and last good config: feeds.min/max_poll_interval_seconds (the bounds a feed
was scheduled with, so a change reschedules it); operator_alerts.feed_id nullable (alerts about
the configuration itself)

Revision ID: latency
Revises: websub
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'latency'
down_revision: str | None = 'websub'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('min_poll_interval_seconds', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('max_poll_interval_seconds', sa.Integer(), nullable=True))
    with op.batch_alter_table('operator_alerts', schema=None) as batch_op:
        batch_op.alter_column('feed_id', existing_type=sa.String(length=100), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('operator_alerts', schema=None) as batch_op:
        batch_op.alter_column('feed_id', existing_type=sa.String(length=100), nullable=False)
    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.drop_column('max_poll_interval_seconds')
        batch_op.drop_column('min_poll_interval_seconds')
