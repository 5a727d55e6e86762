"""Token epochs on staff and residents; sign-in counters for the throttle

Revision ID: c4d9e2a7f1b3
Revises: b7f1c2d4e5a6
Create Date: 2026-12-07 02:00:00.000000

Every bearer token carries the account's token_epoch; raising it (log-out, a
password change or reset, disabling a staff member, blocking a resident)
refuses the tokens issued before. sign_in_counters holds the sign-in throttle's
counts when no Redis is configured.
"""
from alembic import op
import sqlalchemy as sa

from carbon_credit.db import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'c4d9e2a7f1b3'
down_revision = 'b7f1c2d4e5a6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_epoch', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_epoch', sa.Integer(), server_default='0', nullable=False))
    op.create_table(
        'sign_in_counters',
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('window_start', UTCDateTime(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_sign_in_counters')),
    )
    op.create_index(op.f('ix_sign_in_counters_window_start'), 'sign_in_counters', ['window_start'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_sign_in_counters_window_start'), table_name='sign_in_counters')
    op.drop_table('sign_in_counters')
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_column('token_epoch')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('token_epoch')
