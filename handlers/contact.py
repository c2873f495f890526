"""Placeholder until its capability lands."""

from typing import Any


def register(application: Any) -> None:
    """Nothing yet."""
