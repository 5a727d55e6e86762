"""One earn lot per account and expiry date: a credit's earn tops it up; the credit is the per-trip record

Earn lots of one account that expire on the same date are folded into the
earliest one (points, grams and remaining summed, the earliest created_at), a
lot of grams alone gets the expiry its earn date gives, and the per-credit link
(ledger_entries.credit_id) goes: every credit is in the credits table already.
Balances do not change. A downgrade brings the column back empty; it cannot
split a folded lot again.

Revision ID: b7d3e5f1a9c2
Revises: d5a1c7e9b2f4
Create Date: 2026-12-07 18:00:00.000000

"""
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa

import carbon_credit.db


# revision identifiers, used by Alembic.
revision = 'b7d3e5f1a9c2'
down_revision = 'd5a1c7e9b2f4'
branch_labels = None
depends_on = None

SHANGHAI = ZoneInfo('Asia/Shanghai')
EARN = sa.text("kind = 'earn'")


def _expiry(earned_at: datetime) -> datetime:
    """timeutil.expiry_for as it stands today: the end of the year after the earn, Shanghai calendar."""
    if earned_at.tzinfo is None:
        earned_at = earned_at.replace(tzinfo=timezone.utc)
    year = earned_at.astimezone(SHANGHAI).year
    return datetime.combine(date(year + 2, 1, 1), time(), SHANGHAI).astimezone(timezone.utc)


def _date_lots_of_grams_alone(bind) -> None:
    """Earns without points had no expiry; they join the lot of their earn date's expiry like any other earn."""
    entries = sa.table('ledger_entries', sa.column('id', sa.BigInteger()), sa.column('kind', sa.String()),
                       sa.column('created_at', carbon_credit.db.UTCDateTime(timezone=True)),
                       sa.column('expires_at', carbon_credit.db.UTCDateTime(timezone=True)))
    undated = bind.execute(sa.select(entries.c.id, entries.c.created_at).where(
        entries.c.kind == 'earn', entries.c.expires_at.is_(None))).all()
    if undated:
        bind.execute(entries.update().where(entries.c.id == sa.bindparam('lot'))
                     .values(expires_at=sa.bindparam('expiry')),
                     [{'lot': lot, 'expiry': _expiry(created)} for lot, created in undated])


def _fold_earn_lots(bind) -> None:
    """Every account's earn lots of one expiry date summed into the earliest of them; the others deleted."""
    bind.execute(sa.text(
        "CREATE TEMPORARY TABLE earn_lot_sums AS "
        "SELECT min(id) AS id, sum(points) AS points, sum(grams) AS grams, sum(remaining) AS remaining, "
        "min(created_at) AS created_at FROM ledger_entries WHERE kind = 'earn' "
        "GROUP BY account_id, expires_at HAVING count(*) > 1"))
    bind.execute(sa.text(
        "UPDATE ledger_entries SET points = s.points, grams = s.grams, remaining = s.remaining, "
        "created_at = s.created_at, reason = '' FROM earn_lot_sums AS s WHERE ledger_entries.id = s.id"))
    bind.execute(sa.text(
        "DELETE FROM ledger_entries WHERE kind = 'earn' AND id NOT IN "
        "(SELECT min(id) FROM ledger_entries WHERE kind = 'earn' GROUP BY account_id, expires_at)"))
    bind.execute(sa.text("UPDATE ledger_entries SET reason = '' WHERE kind = 'earn' AND reason <> ''"))
    bind.execute(sa.text("DROP TABLE earn_lot_sums"))


def upgrade():
    bind = op.get_bind()
    _date_lots_of_grams_alone(bind)
    _fold_earn_lots(bind)
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_ledger_entries_credit_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_ledger_entries_credit_id_credits'), type_='foreignkey')
        batch_op.drop_column('credit_id')
        batch_op.create_index('uq_ledger_entries_earn_lot', ['account_id', 'expires_at'], unique=True,
                              postgresql_where=EARN, sqlite_where=EARN)


def downgrade():
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('uq_ledger_entries_earn_lot', postgresql_where=EARN, sqlite_where=EARN)
        batch_op.add_column(sa.Column('credit_id', sa.BigInteger(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_ledger_entries_credit_id_credits'), 'credits', ['credit_id'],
                                    ['id'])
        batch_op.create_unique_constraint(batch_op.f('uq_ledger_entries_credit_id'), ['credit_id'])
