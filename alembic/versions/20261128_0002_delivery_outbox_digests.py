"""delivery outbox: digests, destinations, status codes, subscriber frequency

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 08:00:23.687876
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('digest_items',
    sa.Column('delivery_id', sa.String(length=40), nullable=False),
    sa.Column('match_id', sa.Integer(), nullable=False),
    sa.Column('subscriber_id', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_digest_items_delivery_id_deliveries')),
    sa.ForeignKeyConstraint(['match_id'], ['matches.id'], name=op.f('fk_digest_items_match_id_matches')),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'], name=op.f('fk_digest_items_subscriber_id_subscribers')),
    sa.PrimaryKeyConstraint('delivery_id', 'match_id', name=op.f('pk_digest_items')),
    sa.UniqueConstraint('subscriber_id', 'match_id', name=op.f('uq_digest_items_subscriber_id'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=10), nullable=False, server_default='alert'))
        batch_op.add_column(sa.Column('period_start', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('period_end', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('destination', sa.String(length=300), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('last_status', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column('match_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_index('ix_deliveries_destination', ['destination', 'status'], unique=False)
        batch_op.create_unique_constraint('uq_deliveries_digest_period', ['subscriber_id', 'period_start'])

    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('frequency', sa.String(length=20), nullable=False, server_default='immediate'))
        batch_op.add_column(sa.Column('deliver_at', sa.String(length=20), nullable=False, server_default='08:00'))
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=False, server_default='UTC'))
        batch_op.add_column(sa.Column('unsubscribe_token_hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_subscribers_unsubscribe_token_hash'), ['unsubscribe_token_hash'])



def downgrade() -> None:
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_subscribers_unsubscribe_token_hash'), type_='unique')
        batch_op.drop_column('unsubscribe_token_hash')
        batch_op.drop_column('timezone')
        batch_op.drop_column('deliver_at')
        batch_op.drop_column('frequency')

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_constraint('uq_deliveries_digest_period', type_='unique')
        batch_op.drop_index('ix_deliveries_destination')
        batch_op.alter_column('match_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('expires_at')
        batch_op.drop_column('last_status')
        batch_op.drop_column('destination')
        batch_op.drop_column('period_end')
        batch_op.drop_column('period_start')
        batch_op.drop_column('kind')

    op.drop_table('digest_items')
