"""The retail store (tau2-bench retail format) and its 16 customer-service tools."""

from waypost.domains.retail.tools.loader import (
    Tau2Db,
    clear_store,
    export_tau2_db,
    load_tau2_db,
    read_tau2_db,
    store_counts,
)
from waypost.domains.retail.tools.seed import seed_store
from waypost.domains.retail.tools.tools import (
    CONSEQUENTIAL_TOOLS,
    RETAIL_TOOLS,
    build_retail_registry,
)

__all__ = [
    "CONSEQUENTIAL_TOOLS",
    "RETAIL_TOOLS",
    "Tau2Db",
    "build_retail_registry",
    "clear_store",
    "export_tau2_db",
    "load_tau2_db",
    "read_tau2_db",
    "seed_store",
    "store_counts",
]
