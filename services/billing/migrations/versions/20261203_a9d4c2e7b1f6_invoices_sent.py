"""invoices sent: every invoice CLICK was asked to send, for the hourly caps per order, phone and company

Why: `crm_billing.service_layer.invoice_caps` (an invoice is an SMS to a phone: nobody may make CLICK
text a phone without end).

Revision ID: a9d4c2e7b1f6
Revises: f1a2b3c4d5e5
Create Date: 2026-12-03 12:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'a9d4c2e7b1f6'
down_revision: Union[str, Sequence[str], None] = 'f1a2b3c4d5e5'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('invoices_sent',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.String(length=36), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('invoice_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('company_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_invoices_sent_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices_sent'))
    )
    op.create_index('ix_invoices_sent_phone', 'invoices_sent', ['phone', 'created_at'])
    op.create_index('ix_invoices_sent_order', 'invoices_sent', ['order_id'])
    op.create_index(op.f('ix_invoices_sent_company_id'), 'invoices_sent', ['company_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_invoices_sent_company_id'), table_name='invoices_sent')
    op.drop_index('ix_invoices_sent_order', table_name='invoices_sent')
    op.drop_index('ix_invoices_sent_phone', table_name='invoices_sent')
    op.drop_table('invoices_sent')
