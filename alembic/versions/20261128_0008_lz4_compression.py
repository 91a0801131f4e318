"""long texts compressed with lz4 instead of pglz (PostgreSQL 14+ built with lz4)

Entries' texts and matches' hits are written on every poll and are mostly a few
KB, which PostgreSQL compresses: lz4 does it several times faster than the
default pglz and smaller. Only new values are compressed this way. Servers
without lz4 (or SQLite) keep their default.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 15:00:00
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ('entries', 'title'),
    ('entries', 'summary'),
    ('entries', 'content'),
    ('matches', 'hits'),
)


def _set_compression(method: str) -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    statements = ' '.join(
        f'ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {method};'
        for table, column in COLUMNS
    )
    op.execute(
        f'DO $$ BEGIN {statements} '
        'EXCEPTION WHEN feature_not_supported OR invalid_parameter_value '
        'OR syntax_error THEN NULL; END $$'
    )


def upgrade() -> None:
    _set_compression('lz4')


def downgrade() -> None:
    _set_compression('default')
