"""The retail store (tau2-bench retail format) and its 16 customer-service tools."""

from tools.retail.loader import (
    Tau2Db,
    clear_store,
    export_tau2_db,
    load_tau2_db,
    read_tau2_db,
    store_counts,
)
from tools.retail.seed import seed_store
from tools.retail.tools import RETAIL_TOOLS, build_retail_registry

__all__ = [
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
