"""Accounts leave room on each page for in-place balance updates

Revision ID: ad93b19f5051
Revises: f677f62f2797
Create Date: 2026-11-24 06:50:31.952913

"""
from alembic import op



# revision identifiers, used by Alembic.
revision = 'ad93b19f5051'
down_revision = 'f677f62f2797'
branch_labels = None
depends_on = None


def upgrade():
    # PostgreSQL only (SQLite has no fillfactor). Pages written from now on keep 20 % free; existing
    # pages follow after `VACUUM FULL accounts`, which an operator can run in a quiet hour.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE accounts SET (fillfactor = 80)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE accounts RESET (fillfactor)")
