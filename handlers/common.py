"""What every handler module shares: the services, a typed context, language, staff checks.

Handlers reach shared services through `context.services` (a `CustomContext`), never through
untyped `bot_data` look-ups. Deep-link payloads of /start (`item_12`, `sub_12`) are dispatched
through a small registry so that each capability owns its own payload prefix.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot

from settings import Settings

if TYPE_CHECKING:
    from knowledge import KnowledgeBase
    from store.base import Store


@dataclass
class Services:
    """Long-lived services. bot.py creates them before `register_all` (so `register` can read
    settings), opens the store in post_init, runs the startup hooks, and closes all in
    post_shutdown."""

    settings: Settings
    store: Store
    kb: KnowledgeBase  # replaced when staff publish a newer notice
    extras: dict[str, Any] = field(default_factory=dict)  # e.g. the outbox worker


class CustomContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Context with typed access to the services."""

    @property
    def services(self) -> Services:
        services = self.application.bot_data.get("services")
        if not isinstance(services, Services):
            raise RuntimeError("services are not set up: post_init has not run")
        return services


DeepLink = Callable[[Update, CustomContext, str], Awaitable[None]]
_DEEP_LINKS: dict[str, DeepLink] = {}


def register_deep_link(prefix: str, callback: DeepLink) -> None:
    """Let `/start <prefix><rest>` call `callback(update, context, rest)`."""
    _DEEP_LINKS[prefix] = callback


def find_deep_link(payload: str) -> tuple[DeepLink, str] | None:
    """The callback registered for this /start payload, and the rest of the payload."""
    for prefix, callback in _DEEP_LINKS.items():
        if payload.startswith(prefix):
            return callback, payload[len(prefix) :]
    return None


def is_staff(update: Update, context: CustomContext) -> bool:
    """Whether the update's sender is configured as staff (ADMIN_IDS)."""
    user = update.effective_user
    return user is not None and user.id in context.services.settings.admin_ids


def esc(text: object) -> str:
    """Escape any user-supplied or notice text for parse_mode=HTML."""
    return html.escape(str(text), quote=False)


def application_services(application: Application[Any, Any, Any, Any, Any, Any]) -> Services:
    """The services from an Application (for jobs and workers outside a callback)."""
    services = application.bot_data.get("services")
    if not isinstance(services, Services):
        raise RuntimeError("services are not set up: post_init has not run")
    return services


Hook = Callable[[Application[Any, Any, Any, Any, Any, Any]], Awaitable[None]]


def on_startup(application: Application[Any, Any, Any, Any, Any, Any], hook: Hook) -> None:
    """Run `hook(application)` in post_init, after the store is open (e.g. start a worker)."""
    application.bot_data.setdefault("startup_hooks", []).append(hook)


def on_shutdown(application: Application[Any, Any, Any, Any, Any, Any], hook: Hook) -> None:
    """Run `hook(application)` in post_shutdown, before the store is closed (e.g. stop a worker)."""
    application.bot_data.setdefault("shutdown_hooks", []).append(hook)
