"""Telegram handlers: one module per capability, each exposing `register(application)`.

`register_all` adds them in the order of MODULES, and the order matters: python-telegram-bot
runs the first matching handler of each group, so conversations (feedback, publishing) must
see their messages before the free-text question handler, and the catch-all handlers for
stale buttons and non-text messages come last.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

MODULES: tuple[str, ...] = (
    "errors",  # error handler: logs first, then reports to staff
    "throttle",  # group -1: per-user flood control, runs before everything
    "membership",  # my_chat_member: a user who blocked the bot is marked inactive
    "feedback",  # /feedback conversation, /myfeedback, /feedback_export
    "publish",  # staff: a newer notice as a .txt document, preview, confirm
    "subscribe",  # /subscribe, /subscriptions, /unsubscribe, alert buttons
    "start",  # /start with deep links, /help
    "language",  # /lang
    "browse",  # /browse areas → items
    "progress",  # /progress
    "item",  # /item N and item-card buttons
    "contact",  # /contact
    "admin",  # staff: /unanswered
    "inline",  # inline mode: @bot 污水
    "nontext",  # photos, stickers, voice … get a hint
    "ask",  # free text → the matcher (last of the text handlers)
    "stale",  # any callback nobody else took: "this button has expired"
)


def register_all(application: Any) -> None:
    """Register every capability's handlers, in order."""
    for name in MODULES:
        import_module(f"handlers.{name}").register(application)
