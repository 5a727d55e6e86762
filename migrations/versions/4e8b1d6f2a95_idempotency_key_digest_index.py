"""The actions' idempotency key indexed as a 16-byte digest on PostgreSQL

The unique index on (idem_scope, external_id) held both texts in every entry:
about 64 bytes per action once the nightly trip files had filled it. On
PostgreSQL it becomes a unique index on the key's MD5 digest as a uuid (16
bytes, about 40 an entry), computed from ``<length of scope>:<scope><external
id>`` so no two keys run together. Lookups compare the same expression and the
two columns, so the index finds the row and the columns confirm it.

SQLite keeps its unique constraint on the two texts: the same rows, and no
MD5 function there.

Revision ID: 4e8b1d6f2a95
Revises: 7c2e5b9a4d13
Create Date: 2026-12-08 01:40:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '4e8b1d6f2a95'
down_revision = '7c2e5b9a4d13'
branch_labels = None
depends_on = None

DIGEST = "CAST(md5(CAST(length(idem_scope) AS TEXT) || ':' || idem_scope || external_id) AS UUID)"


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(f"CREATE UNIQUE INDEX uq_green_actions_idem_digest ON green_actions ({DIGEST})")
    op.drop_constraint('uq_green_actions_idem_scope_external_id', 'green_actions', type_='unique')


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.create_unique_constraint('uq_green_actions_idem_scope_external_id', 'green_actions',
                                ['idem_scope', 'external_id'])
    op.drop_index('uq_green_actions_idem_digest', table_name='green_actions')
