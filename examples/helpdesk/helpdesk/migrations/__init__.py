"""The helpdesk's Alembic version location (branch ``helpdesk``)."""
