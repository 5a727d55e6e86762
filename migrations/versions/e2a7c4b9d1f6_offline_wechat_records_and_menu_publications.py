"""What is sent to WeChat is kept whole (template data, menus), and what an offline server would have sent is marked

Revision ID: e2a7c4b9d1f6
Revises: d5e1f3a9c2b4
Create Date: 2026-12-07 05:10:00.000000

"""
from alembic import op
import sqlalchemy as sa

import carbon_credit.db


# revision identifiers, used by Alembic.
revision = 'e2a7c4b9d1f6'
down_revision = 'd5e1f3a9c2b4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('wechat_menu_publications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('menu', sa.JSON(), nullable=False),
    sa.Column('answer', sa.JSON(), nullable=False),
    sa.Column('offline', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('published_by', sa.Integer(), nullable=True),
    sa.Column('published_at', carbon_credit.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['published_by'], ['staff.id'], name=op.f('fk_wechat_menu_publications_published_by_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wechat_menu_publications'))
    )
    with op.batch_alter_table('wechat_menu_publications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wechat_menu_publications_published_at'), ['published_at'], unique=False)

    with op.batch_alter_table('wechat_mass_send_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offline', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('wechat_qrcodes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offline', sa.Boolean(), server_default=sa.false(), nullable=False))

    # Messages sent before kept no data: they get an empty mapping.
    with op.batch_alter_table('wechat_template_sends', schema=None) as batch_op:
        batch_op.add_column(sa.Column('data', sa.JSON(), server_default=sa.text("'{}'"), nullable=False))
        batch_op.add_column(sa.Column('url', sa.String(length=1024), nullable=True))
        batch_op.add_column(sa.Column('offline', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('wechat_template_sends', schema=None) as batch_op:
        batch_op.alter_column('data', server_default=None)


def downgrade():
    with op.batch_alter_table('wechat_template_sends', schema=None) as batch_op:
        batch_op.drop_column('offline')
        batch_op.drop_column('url')
        batch_op.drop_column('data')

    with op.batch_alter_table('wechat_qrcodes', schema=None) as batch_op:
        batch_op.drop_column('offline')

    with op.batch_alter_table('wechat_mass_send_batches', schema=None) as batch_op:
        batch_op.drop_column('offline')

    with op.batch_alter_table('wechat_menu_publications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wechat_menu_publications_published_at'))

    op.drop_table('wechat_menu_publications')
