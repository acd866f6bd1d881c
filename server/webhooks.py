"""Deliver a finished run to its ``webhook`` URL: bounded retries, a timeout on every attempt."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

__all__ = ["post_webhook"]

log = logging.getLogger(__name__)


async def post_webhook(
    url: str,
    payload: dict[str, Any],
    *,
    attempts: int = 3,
    timeout_s: float = 10.0,
    backoff_s: float = 0.5,
) -> bool:
    """POST ``payload`` as JSON; retry on transport errors and 5xx. True when delivered."""
    async with httpx.AsyncClient(timeout=timeout_s) as client:
        for attempt in range(attempts):
            try:
                response = await client.post(url, json=payload)
                if response.status_code < 500:
                    return response.is_success
            except httpx.HTTPError as exc:
                log.warning("webhook %s failed (attempt %d): %s", url, attempt + 1, exc)
            if attempt + 1 < attempts:
                await asyncio.sleep(backoff_s * 2**attempt)
    return False
