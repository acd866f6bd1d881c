"""Each tenant's quotas as the server applies them: before a run starts (429 when a quota is
already reached) and before each of its model calls (``QuotaGuard``)."""

from __future__ import annotations

import time
from typing import Any

from waypost.observability.quota import QuotaBook, QuotaGuard, QuotaLimits, QuotaUsage
from waypost.runtime.errors import NotFound
from waypost.runtime.settings import Settings
from waypost.server.identity import IdentityStore
from waypost.server.models import Run

__all__ = ["TenantQuotas"]

_CACHE_S = 5.0  # `waypost tenants set-quota` in another process applies within this


class TenantQuotas:
    def __init__(self, settings: Settings, identities: IdentityStore, book: QuotaBook) -> None:
        self.settings = settings
        self.identities = identities
        self.book = book
        self._cache: dict[str, tuple[QuotaLimits, float]] = {}

    def limits(self, tenant: str) -> QuotaLimits:
        now = time.monotonic()
        found = self._cache.get(tenant)
        if found is not None and now < found[1]:
            return found[0]
        try:
            row = self.identities.tenant(tenant)
            limits = QuotaLimits(
                row.tokens_per_day, row.tokens_per_month, row.usd_per_day, row.usd_per_month
            )
        except NotFound:
            limits = QuotaLimits()
        self._cache[tenant] = (limits, now + _CACHE_S)
        return limits

    def forget(self, tenant: str) -> None:
        self._cache.pop(tenant, None)

    def check(self, tenant: str) -> None:
        """``QuotaExceeded`` (429) when the tenant has reached a quota already."""
        self.book.check(tenant, self.limits(tenant))

    def guards(self, run: Run) -> list[Any]:
        """The callbacks that reserve each of ``run``'s model calls (none without quotas)."""
        self.forget(run.tenant)  # a run resumed after a raise must see the new quota at once
        limits = self.limits(run.tenant)
        if not limits.any:
            return []
        return [QuotaGuard(self.book, run.tenant, limits, prices=self.settings.models.prices)]

    def usage(self, tenant: str) -> dict[str, dict[str, float | None]]:
        used: QuotaUsage = self.book.current(tenant)
        return used.against(self.limits(tenant))
