"""retail store, the root of the ``retail`` branch (users, payment methods, products, variants, orders and their parts)

The tables hold the tau2-bench retail record format field for field, so the store can be loaded
from and exported back to ``db.json`` exactly. Money is a double (tau2 computes with floats and
rounds to cents); list and dict order is kept with ``position`` columns and JSON columns.

Revision ID: retail_0001
Revises: (root of the retail branch)
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "retail_0001"
down_revision = None
branch_labels = ("retail",)
depends_on = None


def upgrade() -> None:
    # Databases created before retail became a plug-in have these tables from the core chain's
    # old revision 0002: adopt them as they are.
    if sa.inspect(op.get_bind()).has_table("retail_users"):
        return
    op.create_table(
        "retail_users",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("first_name", sa.String(128), nullable=False),
        sa.Column("last_name", sa.String(128), nullable=False),
        sa.Column("email", sa.String(256), nullable=False),
        sa.Column("address1", sa.String(256), nullable=False),
        sa.Column("address2", sa.String(256), nullable=False),
        sa.Column("city", sa.String(128), nullable=False),
        sa.Column("country", sa.String(64), nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("zip", sa.String(16), nullable=False),
        sa.Column("order_ids", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_retail_users"),
    )
    op.create_index("ix_retail_users_email", "retail_users", ["email"])
    op.create_index(
        "ix_retail_users_first_name_last_name_zip",
        "retail_users",
        ["first_name", "last_name", "zip"],
    )
    op.create_table(
        "retail_payment_methods",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("payment_method_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("brand", sa.String(32), nullable=True),
        sa.Column("last_four", sa.String(4), nullable=True),
        sa.Column("balance", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("user_id", "payment_method_id", name="pk_retail_payment_methods"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["retail_users.user_id"],
            name="fk_retail_payment_methods_user_id_retail_users",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "retail_products",
        sa.Column("product_id", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("product_id", name="pk_retail_products"),
    )
    op.create_index("ix_retail_products_name", "retail_products", ["name"])
    op.create_table(
        "retail_variants",
        sa.Column("item_id", sa.String(32), nullable=False),
        sa.Column("product_id", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("available", sa.Boolean, nullable=False),
        sa.Column("price", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("item_id", name="pk_retail_variants"),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["retail_products.product_id"],
            name="fk_retail_variants_product_id_retail_products",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_retail_variants_product_id", "retail_variants", ["product_id"])
    op.create_table(
        "retail_orders",
        sa.Column("order_id", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("address1", sa.String(256), nullable=False),
        sa.Column("address2", sa.String(256), nullable=False),
        sa.Column("city", sa.String(128), nullable=False),
        sa.Column("country", sa.String(64), nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("zip", sa.String(16), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("cancel_reason", sa.String(64), nullable=True),
        sa.Column("exchange_items", sa.JSON, nullable=True),
        sa.Column("exchange_new_items", sa.JSON, nullable=True),
        sa.Column("exchange_payment_method_id", sa.String(64), nullable=True),
        sa.Column("exchange_price_difference", sa.Float, nullable=True),
        sa.Column("return_items", sa.JSON, nullable=True),
        sa.Column("return_payment_method_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("order_id", name="pk_retail_orders"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["retail_users.user_id"],
            name="fk_retail_orders_user_id_retail_users",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_retail_orders_user_id", "retail_orders", ["user_id"])
    op.create_index("ix_retail_orders_status", "retail_orders", ["status"])
    op.create_table(
        "retail_order_items",
        sa.Column("order_id", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("item_id", sa.String(32), nullable=False),
        sa.Column("product_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("price", sa.Float, nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("order_id", "position", name="pk_retail_order_items"),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["retail_orders.order_id"],
            name="fk_retail_order_items_order_id_retail_orders",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "retail_fulfillments",
        sa.Column("order_id", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("tracking_ids", sa.JSON, nullable=False),
        sa.Column("item_ids", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("order_id", "position", name="pk_retail_fulfillments"),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["retail_orders.order_id"],
            name="fk_retail_fulfillments_order_id_retail_orders",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "retail_payment_transactions",
        sa.Column("order_id", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("transaction_type", sa.String(16), nullable=False),
        sa.Column("amount", sa.Float, nullable=False),
        sa.Column("payment_method_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "position", name="pk_retail_payment_transactions"),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["retail_orders.order_id"],
            name="fk_retail_payment_transactions_order_id_retail_orders",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("retail_payment_transactions")
    op.drop_table("retail_fulfillments")
    op.drop_table("retail_order_items")
    op.drop_index("ix_retail_orders_status", table_name="retail_orders")
    op.drop_index("ix_retail_orders_user_id", table_name="retail_orders")
    op.drop_table("retail_orders")
    op.drop_index("ix_retail_variants_product_id", table_name="retail_variants")
    op.drop_table("retail_variants")
    op.drop_index("ix_retail_products_name", table_name="retail_products")
    op.drop_table("retail_products")
    op.drop_table("retail_payment_methods")
    op.drop_index("ix_retail_users_first_name_last_name_zip", table_name="retail_users")
    op.drop_index("ix_retail_users_email", table_name="retail_users")
    op.drop_table("retail_users")
