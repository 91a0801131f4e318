"""operator alerts share the outbox state machine: operator_alerts.last_status

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('operator_alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_status', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('operator_alerts', schema=None) as batch_op:
        batch_op.drop_column('last_status')
