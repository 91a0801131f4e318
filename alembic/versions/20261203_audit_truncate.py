"""audit log: refuse TRUNCATE too (PostgreSQL), as UPDATE and DELETE are refused

Revision ID: audit_truncate
Revises: web_subscribers
Create Date: 2026-12-03 09:30:00
"""

from collections.abc import Sequence

from alembic import op


revision: str = 'audit_truncate'
down_revision: str | None = 'web_subscribers'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE "
            "ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
