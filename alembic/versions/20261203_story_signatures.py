"""story signatures: MinHash signatures and LSH band keys of stories; entries.identity

Stories are found by band keys (at most a few rows per band read) and compared by
their stored signatures instead of re-shingling their text. ``entries.identity``
(encrypted) lets ``rotate-key`` recompute the keyed identity key; ``entries.published``
(encrypted) holds the publication time when an encryption key is set. Additive: the old
``story_sketches`` table stays (older code still reads it).

Revision ID: story_signatures
Revises: audit_truncate
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'story_signatures'
down_revision: str | None = 'audit_truncate'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('story_signatures',
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['story_id'], ['entries.id'], name=op.f('fk_story_signatures_story_id_entries')),
    sa.PrimaryKeyConstraint('story_id', name=op.f('pk_story_signatures'))
    )
    op.create_table('story_bands',
    sa.Column('key', sa.BigInteger(), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['story_id'], ['entries.id'], name=op.f('fk_story_bands_story_id_entries')),
    sa.PrimaryKeyConstraint('key', 'story_id', name=op.f('pk_story_bands'))
    )
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('identity', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('published', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_column('published')
        batch_op.drop_column('identity')
    op.drop_table('story_bands')
    op.drop_table('story_signatures')
