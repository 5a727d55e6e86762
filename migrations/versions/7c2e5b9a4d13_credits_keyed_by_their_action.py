"""Credits keyed by their action: a credit's id is its action's id

An action has at most one credit, so the credit takes the action's id as its
own: the credits lose their sequence, the action_id column and its unique
index (23 bytes per credit in PostgreSQL). Existing credits get their action's
id; nothing else refers to a credit's id any more (earn lots are kept per
account and expiry date since b7d3e5f1a9c2). The rebuilt table has its 8-byte columns first (no
padding), and a credit with a shared trace form keeps its figures as a bare
list. The credits' own (resident_id, local_day) index goes: a resident's
credits are found through their actions' (resident_id, occurred_at) index,
since a credit carries its action's id and its local day is the action's.

The credits table is rebuilt rather than updated in place: on PostgreSQL a
changed primary key would write every row and every index entry twice and
leave the old versions behind. SQLite copies the rows aside, drops and
re-creates the table and inserts them back, with foreign-key checks deferred to
the commit.

Revision ID: 7c2e5b9a4d13
Revises: 138998b7d45f
Create Date: 2026-12-07 17:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

import carbon_credit.db


# revision identifiers, used by Alembic.
revision = '7c2e5b9a4d13'
down_revision = '138998b7d45f'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


COLUMNS = {
    'resident_id': lambda: sa.Column('resident_id', sa.BigInteger(), nullable=False),
    'action_type': lambda: sa.Column('action_type', sa.String(length=48), nullable=False),
    'local_day': lambda: sa.Column('local_day', sa.Date(), nullable=False),
    'rule_set_id': lambda: sa.Column('rule_set_id', sa.Integer(), nullable=True),
    'rule_version': lambda: sa.Column('rule_version', sa.Integer(), nullable=True),
    'status': lambda: sa.Column('status', sa.String(length=16), nullable=False),
    'quantity': lambda: sa.Column('quantity', sa.Numeric(precision=14, scale=3), nullable=False),
    'cap_tag': lambda: sa.Column('cap_tag', sa.String(length=48), nullable=True),
    'grams': lambda: sa.Column('grams', sa.BigInteger(), nullable=False),
    'points': lambda: sa.Column('points', sa.BigInteger(), nullable=False),
    'trace': lambda: sa.Column('trace', sa.JSON(), nullable=False),
    'trace_form_id': lambda: sa.Column('trace_form_id', sa.BigInteger(), nullable=True),
    'created_at': lambda: sa.Column('created_at', carbon_credit.db.UTCDateTime(timezone=True), nullable=False),
}
# Before: as the columns were added. After: 8-byte columns first, then 4-byte ones, then the texts
# (which need no alignment), so PostgreSQL pads no row.
OLD_ORDER = ('resident_id', 'action_type', 'local_day', 'rule_set_id', 'rule_version', 'status', 'quantity',
             'cap_tag', 'grams', 'points', 'trace', 'trace_form_id', 'created_at')
NEW_ORDER = ('resident_id', 'grams', 'points', 'trace_form_id', 'created_at', 'local_day', 'rule_set_id',
             'rule_version', 'action_type', 'status', 'quantity', 'cap_tag', 'trace')


def _keyed_by_action():
    return [sa.Column('id', ID, autoincrement=False, nullable=False), *(COLUMNS[n]() for n in NEW_ORDER),
            sa.ForeignKeyConstraint(['id'], ['green_actions.id'], name=op.f('fk_credits_id_green_actions')),
            sa.PrimaryKeyConstraint('id', name=op.f('pk_credits'))]


def _own_sequence():
    return [sa.Column('id', ID, nullable=False), sa.Column('action_id', sa.BigInteger(), nullable=False),
            *(COLUMNS[n]() for n in OLD_ORDER),
            sa.ForeignKeyConstraint(['action_id'], ['green_actions.id'],
                                    name=op.f('fk_credits_action_id_green_actions')),
            sa.PrimaryKeyConstraint('id', name=op.f('pk_credits')),
            sa.UniqueConstraint('action_id', name=op.f('uq_credits_action_id'))]


def _trace(sqlite: bool, compact: bool) -> str:
    """The trace column as the new table stores it: a credit with a trace form keeps its figures as a list
    (``["0","3"]``) where it kept ``{"used_before": ["0","3"]}``; a whole trace is copied as it is."""
    if compact:
        figures = "json_extract(trace, '$.used_before')" if sqlite else "trace -> 'used_before'"
    else:
        figures = "json_object('used_before', json(trace))" if sqlite else "json_build_object('used_before', trace)"
    return f"CASE WHEN trace_form_id IS NULL THEN trace ELSE {figures} END"


def _rebuild_credits(definition, id_from: str, action_id_from: str | None, compact_traces: bool,
                     own_sequence: bool) -> None:
    """Re-create ``credits`` as ``definition`` with its rows; ``id_from`` names the old column that becomes id.

    ``own_sequence`` gives the credits ids of their own again (a sequence after the highest id) and their
    (resident_id, local_day) index.
    """
    sqlite = op.get_bind().dialect.name == 'sqlite'
    names = [n for n in OLD_ORDER if n != 'trace']
    if sqlite:
        op.execute('PRAGMA defer_foreign_keys = ON')  # until the commit; reset by SQLite then
        op.execute('CREATE TABLE credits_old AS SELECT * FROM credits')
        op.drop_table('credits')
    else:
        op.rename_table('credits', 'credits_old')
        op.execute('DROP INDEX IF EXISTS ix_credits_resident_day')  # the credits with ids of their own had it
        op.drop_constraint('pk_credits', 'credits_old', type_='primary')
    op.create_table('credits', *definition)
    targets = ['id', *(['action_id'] if action_id_from else []), *names, 'trace']
    sources = [id_from, *([action_id_from] if action_id_from else []), *names, _trace(sqlite, compact_traces)]
    op.execute(f'INSERT INTO credits ({", ".join(targets)}) SELECT {", ".join(sources)} FROM credits_old')
    op.drop_table('credits_old')  # on PostgreSQL with the old sequence, which belonged to its id
    if own_sequence:
        op.create_index('ix_credits_resident_day', 'credits', ['resident_id', 'local_day'], unique=False)
        if not sqlite:
            op.execute("SELECT setval(pg_get_serial_sequence('credits', 'id'), (SELECT coalesce(max(id), 0) + 1 "
                       "FROM credits), false)")


def upgrade():
    _rebuild_credits(_keyed_by_action(), id_from='action_id', action_id_from=None, compact_traces=True,
                     own_sequence=False)


def downgrade():
    # The credits keep their ids (their actions').
    _rebuild_credits(_own_sequence(), id_from='id', action_id_from='id', compact_traces=False, own_sequence=True)
