"""Transit digests keep their day, not their payload: one per resident and day, built when sent

A digest of the bulk ingest was a row per resident and day holding its whole
message (about 125 bytes of JSON) and a 25-character dedupe key in a unique
index of its own. It now holds its ``digest_day``; the outbox builds the message
from that day's credits when it sends it. One unique index on (resident_id,
digest_day) serves both the resident's look-ups (it replaces the index on
resident_id) and, NULLs being distinct, one digest per resident and day. Keys,
payloads and errors a row does not have are NULL, and the dedupe key's unique
index leaves them out.

Existing rows are carried: every digest queued before ("transit:<day>:<resident>")
gets its day, which takes over from its key, and keeps its payload, which the
outbox still sends as it is. Columns added to an existing PostgreSQL table go
last, so a digest row of an upgraded table is 8 bytes longer than one of a
table created at this revision (alignment); rows are unchanged otherwise.

Revision ID: 138998b7d45f
Revises: b7d3e5f1a9c2
Create Date: 2026-12-07 17:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '138998b7d45f'
down_revision = 'b7d3e5f1a9c2'
branch_labels = None
depends_on = None

DIGEST_KEYS = "kind = 'credit' AND dedupe_key LIKE 'transit:____-__-__:%'"
NOT_NULL = sa.text("dedupe_key IS NOT NULL")


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest_day', sa.Date(), nullable=True))
        batch_op.alter_column('payload', existing_type=sa.JSON(), nullable=True)
        batch_op.alter_column('dedupe_key', existing_type=sa.String(length=128), nullable=True)
        batch_op.alter_column('last_error', existing_type=sa.String(length=256), nullable=True)
        batch_op.drop_constraint('uq_notifications_dedupe_key', type_='unique')
        batch_op.drop_index('ix_notifications_resident_id')
    day = ("CAST(substr(dedupe_key, 9, 10) AS DATE)" if op.get_bind().dialect.name == "postgresql"
           else "substr(dedupe_key, 9, 10)")
    op.execute(f"UPDATE notifications SET digest_day = {day}, dedupe_key = NULL WHERE {DIGEST_KEYS} "
               "AND dedupe_key = 'transit:' || substr(dedupe_key, 9, 10) || ':' || CAST(resident_id AS VARCHAR(20))")
    op.create_index('uq_notifications_dedupe_key', 'notifications', ['dedupe_key'], unique=True,
                    postgresql_where=NOT_NULL, sqlite_where=NOT_NULL)
    op.create_index('uq_notifications_resident_day', 'notifications', ['resident_id', 'digest_day'], unique=True)


def downgrade():
    bind = op.get_bind()
    _write_digest_payloads(bind)
    op.execute("UPDATE notifications SET dedupe_key = 'transit:' || CAST(digest_day AS VARCHAR(10)) || ':' || "
               "CAST(resident_id AS VARCHAR(20)) WHERE dedupe_key IS NULL AND digest_day IS NOT NULL")
    op.execute("UPDATE notifications SET last_error = '' WHERE last_error IS NULL")
    op.drop_index('uq_notifications_resident_day', table_name='notifications')
    op.drop_index('uq_notifications_dedupe_key', table_name='notifications')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_resident_id', ['resident_id'], unique=False)
        batch_op.create_unique_constraint('uq_notifications_dedupe_key', ['dedupe_key'])
        batch_op.alter_column('last_error', existing_type=sa.String(length=256), nullable=False)
        batch_op.alter_column('dedupe_key', existing_type=sa.String(length=128), nullable=False)
        batch_op.alter_column('payload', existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column('digest_day')


def _write_digest_payloads(bind):
    """Before this revision a digest held its message: write each digest's as it stands now.

    The figures the outbox builds: the day's credits that moved points or grams, of
    trips recorded under an ingest run's source, in the order they happened, and
    the balance now.
    """
    notes = sa.table('notifications', sa.column('id', sa.BigInteger), sa.column('resident_id', sa.BigInteger),
                     sa.column('digest_day', sa.Date), sa.column('payload', sa.JSON))
    credits = sa.table('credits', sa.column('id', sa.BigInteger), sa.column('action_id', sa.BigInteger),
                       sa.column('resident_id', sa.BigInteger), sa.column('local_day', sa.Date),
                       sa.column('action_type', sa.String), sa.column('status', sa.String),
                       sa.column('points', sa.BigInteger), sa.column('grams', sa.BigInteger))
    actions = sa.table('green_actions', sa.column('id', sa.BigInteger), sa.column('idem_scope', sa.String),
                       sa.column('occurred_at', sa.DateTime))
    runs = sa.table('ingest_runs', sa.column('source', sa.String))
    accounts = sa.table('accounts', sa.column('resident_id', sa.BigInteger), sa.column('balance', sa.BigInteger))
    digests = bind.execute(sa.select(notes.c.id, notes.c.resident_id, notes.c.digest_day)
                           .where(notes.c.payload.is_(None), notes.c.digest_day.is_not(None))).all()
    for start in range(0, len(digests), 400):
        wanted = {(resident_id, day): note_id for note_id, resident_id, day in digests[start:start + 400]}
        residents, days = sorted({r for r, _ in wanted}), sorted({d for _, d in wanted})
        figures = {}
        for resident_id, day, action_type, points, grams in bind.execute(
                sa.select(credits.c.resident_id, credits.c.local_day, credits.c.action_type, credits.c.points,
                          credits.c.grams)
                .join(actions, actions.c.id == credits.c.action_id)
                .where(credits.c.resident_id.in_(residents), credits.c.local_day.in_(days),
                       credits.c.status == 'credited', actions.c.idem_scope.in_(sa.select(runs.c.source)))
                .order_by(actions.c.occurred_at, credits.c.id)):
            if (resident_id, day) not in wanted or not (points or grams):
                continue
            figure = figures.setdefault((resident_id, day), {"points": 0, "grams": 0, "trips": 0, "types": []})
            figure["points"] += points
            figure["grams"] += grams
            figure["trips"] += 1
            if action_type not in figure["types"]:
                figure["types"].append(action_type)
        balances = dict(bind.execute(sa.select(accounts.c.resident_id, accounts.c.balance)
                                     .where(accounts.c.resident_id.in_(residents))).all())
        for (resident_id, day), note_id in wanted.items():
            figure = figures.get((resident_id, day), {"points": 0, "grams": 0, "trips": 0, "types": []})
            payload = {"action_type": figure["types"][0] if figure["types"] else "", "points": figure["points"],
                       "grams": figure["grams"], "balance": balances.get(resident_id), "occurred_at": day.isoformat(),
                       "action_types": figure["types"], "trips": figure["trips"]}
            bind.execute(notes.update().where(notes.c.id == note_id).values(payload=payload))
