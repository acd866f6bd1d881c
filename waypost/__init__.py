"""Waypost: a self-hosted orchestrator for domain-specific LLM workflows."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("waypost")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
