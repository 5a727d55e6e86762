"""Credits stored on their actions' rows; ``credits`` becomes a view of the credited actions

An action has at most one credit and the credit already carried the action's
id, so each trip kept two rows: two headers and line pointers, two primary
keys, and the resident, type, status and quantity twice (about 110 bytes per
trip in PostgreSQL). The credit's own columns (grams, points, trace form,
credited_at, local day, rule set and version, cap tag, trace) move onto
``green_actions``, NULL until an action is credited, and ``credits`` becomes a
view with the names and rows it always had, so every reader keeps working.

The action's status already was its credit's (credited or capped), and its
quantity the credit's. On PostgreSQL the columns are added at the end of the
table and every credited action is rewritten once: a ``VACUUM FULL
green_actions`` (or pg_repack) afterwards gives the space of the old row
versions back. A database created from the models has the columns in the
order that pads nothing.

Revision ID: 5b2d8f4c1e07
Revises: 4e8b1d6f2a95
Create Date: 2026-12-08 02:10:00.000000

"""
from alembic import op
import sqlalchemy as sa

import carbon_credit.db


# revision identifiers, used by Alembic.
revision = '5b2d8f4c1e07'
down_revision = '4e8b1d6f2a95'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

# The credit's columns on the action: (column on green_actions, column of the old credits table).
MOVED = (
    (lambda: sa.Column('grams', sa.BigInteger(), nullable=True), 'grams'),
    (lambda: sa.Column('points', sa.BigInteger(), nullable=True), 'points'),
    (lambda: sa.Column('trace_form_id', sa.BigInteger(), nullable=True), 'trace_form_id'),
    (lambda: sa.Column('credited_at', carbon_credit.db.UTCDateTime(timezone=True), nullable=True), 'created_at'),
    (lambda: sa.Column('local_day', sa.Date(), nullable=True), 'local_day'),
    (lambda: sa.Column('rule_set_id', sa.Integer(), nullable=True), 'rule_set_id'),
    (lambda: sa.Column('rule_version', sa.Integer(), nullable=True), 'rule_version'),
    (lambda: sa.Column('cap_tag', sa.String(length=48), nullable=True), 'cap_tag'),
    (lambda: sa.Column('trace', sa.JSON(), nullable=True), 'trace'),
)
VIEW = ("CREATE VIEW credits AS SELECT id, resident_id, grams, points, trace_form_id, credited_at AS created_at, "
        "local_day, rule_set_id, rule_version, action_type, status, quantity, cap_tag, trace FROM green_actions "
        "WHERE local_day IS NOT NULL")


def upgrade():
    for column, _old in MOVED:
        op.add_column('green_actions', column())
    sets = ", ".join(f"{column().name} = c.{old}" for column, old in MOVED)
    op.execute(f"UPDATE green_actions SET {sets}, status = c.status FROM credits c WHERE c.id = green_actions.id")
    op.drop_table('credits')
    op.execute(VIEW)


def downgrade():
    op.execute("DROP VIEW credits")
    op.create_table(
        'credits',
        sa.Column('id', ID, autoincrement=False, nullable=False),
        sa.Column('resident_id', sa.BigInteger(), nullable=False),
        sa.Column('grams', sa.BigInteger(), nullable=False),
        sa.Column('points', sa.BigInteger(), nullable=False),
        sa.Column('trace_form_id', sa.BigInteger(), nullable=True),
        sa.Column('created_at', carbon_credit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('local_day', sa.Date(), nullable=False),
        sa.Column('rule_set_id', sa.Integer(), nullable=True),
        sa.Column('rule_version', sa.Integer(), nullable=True),
        sa.Column('action_type', sa.String(length=48), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('quantity', sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column('cap_tag', sa.String(length=48), nullable=True),
        sa.Column('trace', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['id'], ['green_actions.id'], name=op.f('fk_credits_id_green_actions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_credits')),
    )
    olds = [old for _column, old in MOVED]
    news = [column().name for column, _old in MOVED]
    op.execute(f"INSERT INTO credits (id, resident_id, action_type, status, quantity, {', '.join(olds)}) "
               f"SELECT id, resident_id, action_type, status, quantity, {', '.join(news)} FROM green_actions "
               "WHERE local_day IS NOT NULL")
    for name in reversed(news):
        op.drop_column('green_actions', name)
