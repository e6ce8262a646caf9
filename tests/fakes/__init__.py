"""Test doubles for external services (a fake Telegram Bot API server, ...)."""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["FakeTelegram", "SentCall", "StoredFile", "Upload", "WaitTimeout"]


def __getattr__(name: str) -> Any:
    """Import lazily, so ``python -m tests.fakes.telegram_api`` runs without a double import."""
    if name in __all__:
        return getattr(import_module(".telegram_api", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
