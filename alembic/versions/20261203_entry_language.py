"""entries.language encrypted: a matched entry's language would narrow down, in a feed
of several languages, which public item it is. Text, to hold the ciphertext; values
written before stay readable (no marker) until ``rotate-key`` encrypts them.

Revision ID: entry_language
Revises: story_signatures
Create Date: 2026-12-03 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'entry_language'
down_revision: str | None = 'story_signatures'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.alter_column(
            'language', existing_type=sa.String(length=20), type_=sa.Text(), existing_nullable=True
        )


def downgrade() -> None:
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.alter_column(
            'language', existing_type=sa.Text(), type_=sa.String(length=20), existing_nullable=True
        )
