"""encryption at rest: matches' hits and terms as (encrypted) text; subscribers' blind
index, security phrase and OpenPGP key

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 09:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.alter_column('hits', existing_type=sa.JSON(), type_=sa.Text(), postgresql_using='hits::text')
        batch_op.alter_column('terms', existing_type=sa.JSON(), type_=sa.Text(), postgresql_using='terms::text')
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address_index', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('security_phrase', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('pgp_key', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_subscribers_address_index'), ['address_index'], unique=False)
    # Rows written before: their addresses are plain text (or rw0:-marked); index them now.
    from worker.security.crypto import keyring

    ring = keyring()
    connection = op.get_bind()
    subscribers = sa.table('subscribers', sa.column('id', sa.String), sa.column('address', sa.Text), sa.column('address_index', sa.String))
    for subscriber_id, address in connection.execute(sa.select(subscribers.c.id, subscribers.c.address)).all():
        connection.execute(
            subscribers.update().where(subscribers.c.id == subscriber_id).values(address_index=ring.blind_index(ring.decrypt(address)))
        )


def downgrade() -> None:
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscribers_address_index'))
        batch_op.drop_column('pgp_key')
        batch_op.drop_column('security_phrase')
        batch_op.drop_column('address_index')
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.alter_column('terms', existing_type=sa.Text(), type_=sa.JSON(), postgresql_using='terms::json')
        batch_op.alter_column('hits', existing_type=sa.Text(), type_=sa.JSON(), postgresql_using='hits::json')
