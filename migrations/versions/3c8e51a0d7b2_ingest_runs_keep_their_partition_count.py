"""Ingest runs keep their partition count

Revision ID: 3c8e51a0d7b2
Revises: ad93b19f5051
Create Date: 2026-11-24 07:05:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3c8e51a0d7b2'
down_revision = 'ad93b19f5051'
branch_labels = None
depends_on = None


def upgrade():
    # Runs started before this revision read the file in its own order, which is one partition.
    with op.batch_alter_table('ingest_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('partitions', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    with op.batch_alter_table('ingest_runs', schema=None) as batch_op:
        batch_op.drop_column('partitions')
