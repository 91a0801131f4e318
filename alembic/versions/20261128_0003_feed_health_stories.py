"""feed health, entry keys, stories, operator alerts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 08:10:39
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('operator_alerts',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('operator_id', sa.String(length=100), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('secret_env', sa.String(length=200), nullable=True),
    sa.Column('feed_id', sa.String(length=100), nullable=False),
    sa.Column('event', sa.String(length=20), nullable=False),
    sa.Column('episode_since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['feed_id'], ['feeds.id'], name=op.f('fk_operator_alerts_feed_id_feeds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operator_alerts')),
    sa.UniqueConstraint('operator_id', 'feed_id', 'event', 'episode_since', name='uq_operator_alerts_event')
    )
    with op.batch_alter_table('operator_alerts', schema=None) as batch_op:
        batch_op.create_index('ix_operator_alerts_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_operator_alerts_feed_id'), ['feed_id'], unique=False)

    op.create_table('story_sketches',
    sa.Column('key', sa.BigInteger(), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['story_id'], ['entries.id'], name=op.f('fk_story_sketches_story_id_entries')),
    sa.PrimaryKeyConstraint('key', 'story_id', name=op.f('pk_story_sketches'))
    )
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('story_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_entries_link_key'), ['link_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_entries_story_id'), ['story_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_entries_story_id_entries'), 'entries', ['story_id'], ['id'])

    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('redirected_url', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('redirect_candidate', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('body_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('failing_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('healthy_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('gone_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_new_entry_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('publish_interval_seconds', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('alerted_status', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('alerted_since', sa.DateTime(timezone=True), nullable=True))

    # Entry texts are a few KB: lz4 compresses them several times faster than pglz.
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql' and bind.execute(sa.text(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
    )).scalar():
        op.execute('ALTER TABLE entries ALTER COLUMN content SET COMPRESSION lz4')
        op.execute('ALTER TABLE entries ALTER COLUMN summary SET COMPRESSION lz4')



def downgrade() -> None:
    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.drop_column('alerted_since')
        batch_op.drop_column('alerted_status')
        batch_op.drop_column('publish_interval_seconds')
        batch_op.drop_column('last_new_entry_at')
        batch_op.drop_column('gone_since')
        batch_op.drop_column('healthy_since')
        batch_op.drop_column('failing_since')
        batch_op.drop_column('body_hash')
        batch_op.drop_column('redirect_candidate')
        batch_op.drop_column('redirected_url')

    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_entries_story_id_entries'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_entries_story_id'))
        batch_op.drop_index(batch_op.f('ix_entries_link_key'))
        batch_op.drop_column('updated_at')
        batch_op.drop_column('story_id')
        batch_op.drop_column('link_key')

    op.drop_table('story_sketches')
    with op.batch_alter_table('operator_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_operator_alerts_feed_id'))
        batch_op.drop_index('ix_operator_alerts_due')

    op.drop_table('operator_alerts')
