"""web subscribers: subscribers.language (en, ru, ky) for pages and e-mails (operator_alerts
without a feed, for a YAML subscriber who unsubscribed, came with the latency revision)

Revision ID: web_subscribers
Revises: latency
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'web_subscribers'
down_revision: str | None = 'latency'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.drop_column('language')
