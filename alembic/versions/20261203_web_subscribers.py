"""web subscribers: subscribers.language (en, ru, ky) for pages and e-mails; operator_alerts
without a feed (a YAML subscriber who unsubscribed)

Revision ID: web_subscribers
Revises: sources
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'web_subscribers'
down_revision: str | None = 'sources'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))
    with op.batch_alter_table('operator_alerts', schema=None) as batch_op:
        batch_op.alter_column('feed_id', existing_type=sa.String(length=100), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('operator_alerts', schema=None) as batch_op:
        batch_op.alter_column('feed_id', existing_type=sa.String(length=100), nullable=False)
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.drop_column('language')
