"""Observability: usage accounting and prices, the ledger, Prometheus metrics, Langfuse tracing."""
