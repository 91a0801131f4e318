"""self-service subscriptions: subscriber status and tokens, rate limits

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 08:38:19.184835
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('rate_limits',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limits'))
    )
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('manage_token_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('confirm_token_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('confirm_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('webhook_secret', sa.Text(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_subscribers_confirm_token_hash'), ['confirm_token_hash'])
        batch_op.create_unique_constraint(batch_op.f('uq_subscribers_manage_token_hash'), ['manage_token_hash'])



def downgrade() -> None:
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_subscribers_manage_token_hash'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_subscribers_confirm_token_hash'), type_='unique')
        batch_op.drop_column('webhook_secret')
        batch_op.drop_column('confirmed_at')
        batch_op.drop_column('confirm_expires_at')
        batch_op.drop_column('confirm_token_hash')
        batch_op.drop_column('manage_token_hash')
        batch_op.drop_column('status')

    op.drop_table('rate_limits')
