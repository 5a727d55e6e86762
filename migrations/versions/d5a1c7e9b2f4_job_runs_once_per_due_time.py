"""Job runs carry their due time, one per job and due time, so several schedulers run each due time once

Revision ID: d5a1c7e9b2f4
Revises: e2a7c4b9d1f6
Create Date: 2026-12-07 06:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import carbon_credit.db


# revision identifiers, used by Alembic.
revision = 'd5a1c7e9b2f4'
down_revision = 'e2a7c4b9d1f6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_at', carbon_credit.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_job_runs_name_due_at'), ['name', 'due_at'])


def downgrade():
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_job_runs_name_due_at'), type_='unique')
        batch_op.drop_column('due_at')
