"""Campaigns can be ended early: the planned end is kept beside the real one

Revision ID: d5e1f3a9c2b4
Revises: c4d9e2f1a7b3
Create Date: 2026-12-07 05:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import carbon_credit.db


# revision identifiers, used by Alembic.
revision = 'd5e1f3a9c2b4'
down_revision = 'c4d9e2f1a7b3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('planned_until', carbon_credit.db.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('planned_until')
