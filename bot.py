"""Run the bot: settings → one python-telegram-bot Application → polling, webhook or console.

    python bot.py             # polling (or BOT_MODE=webhook), needs TELEGRAM_BOT_TOKEN
    python bot.py --console   # the same bot in this terminal, no token, no network

`build_application` is the one place the Application is put together; the console, the tests
and the benchmark all use it. Start-up order: the store is opened in `initialize` (before a
persistence loads from it), then post_init loads a newer published notice if staff published
one, sets the command menus and runs the capabilities' startup hooks. On SIGINT/SIGTERM PTB
stops fetching updates, post_stop runs the shutdown hooks (workers finish while the store is
open), PTB flushes the persistence, and `BotApplication.shutdown` closes the store last.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import math
import sys
from collections.abc import Awaitable, Sequence
from typing import Any

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    ContextTypes,
    Defaults,
)
from telegram.request import BaseRequest

import handlers
from handlers.common import CustomContext, Services, settle, shutdown_hooks, startup_hooks
from knowledge import KnowledgeBase
from settings import Settings, SettingsError
from store import open_store
from store.persistence import StorePersistence

logger = logging.getLogger("bot")

OFFLINE_TOKEN = "1:offline"  # console, tests and bench: never sent anywhere
MAX_CONCURRENT_UPDATES = 1024

COMMANDS: dict[str, tuple[tuple[str, str], ...]] = {
    "zh": (
        ("start", "开始：通报简介与菜单"),
        ("browse", "按领域浏览整改事项"),
        ("progress", "整改进度统计"),
        ("item", "查看某一项，例如 /item 12"),
        ("contact", "通报公布的联系方式"),
        ("feedback", "提意见建议"),
        ("subscribe", "订阅整改进展"),
        ("lang", "切换语言 / Language"),
        ("help", "使用帮助"),
    ),
    "en": (
        ("start", "Start: the notice and the menu"),
        ("browse", "Browse the items by area"),
        ("progress", "Progress by status"),
        ("item", "Show one item, e.g. /item 12"),
        ("contact", "Channels published in the notice"),
        ("feedback", "Send an opinion"),
        ("subscribe", "Follow the progress"),
        ("lang", "Language / 切换语言"),
        ("help", "How to use the bot"),
    ),
}


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Updates of different users run concurrently; one user's updates run in order.

    Concurrency keeps a slow answer for one user from delaying everyone else; the per-user
    order keeps a conversation (feedback steps, quick button presses) from racing itself."""

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}  # updates waiting or running per key

    @staticmethod
    def key(update: object) -> int | None:
        """The user (or chat) an update belongs to, or None for updates of nobody."""
        if not isinstance(update, Update):
            return None
        if update.effective_user is not None:
            return update.effective_user.id
        return update.effective_chat.id if update.effective_chat is not None else None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = self.key(update)
        if key is None:
            await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[key] -= 1
            if not self._users[key]:  # forget idle users so the dicts stay small
                del self._users[key], self._locks[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


class BotApplication(Application):  # type: ignore[type-arg]
    """An Application that opens the store before a persistence reads from it, and closes it
    after the persistence's last flush."""

    services: Services

    async def initialize(self) -> None:
        if not self.services.extras.get("store_open"):
            await self.services.store.open()
            self.services.extras["store_open"] = True
        await super().initialize()
        # A persistence may have replaced bot_data: put the services back where handlers look.
        self.bot_data["services"] = self.services

    async def shutdown(self) -> None:
        try:
            await super().shutdown()
        finally:
            if self.services.extras.pop("store_open", False):
                await self.services.store.close()


async def post_init(application: Application) -> None:  # type: ignore[type-arg]
    """Loads the newest published notice, sets the command menus, runs startup hooks."""
    services: Services = application.services  # type: ignore[attr-defined]
    latest = await services.store.latest_notice()
    if latest is not None:
        try:
            services.kb = KnowledgeBase.from_text(latest.text, source=latest.source)
            logger.info("answering from the notice published on %s", latest.notice_date)
        except Exception:  # a stored notice that no longer parses must not stop the bot
            logger.exception("the latest published notice does not load; using the bundled one")
    await set_commands(application)
    for hook in startup_hooks(application):
        await hook(application)
    logger.info("started as @%s", application.bot.username)


async def post_stop(application: Application) -> None:  # type: ignore[type-arg]
    """Runs the shutdown hooks (e.g. stop workers) once updates have stopped, while the store
    is still open; PTB then flushes the persistence and `shutdown` closes the store."""
    await settle(application)  # background writes (e.g. unanswered questions) land first
    for hook in reversed(shutdown_hooks(application)):
        try:
            await hook(application)
        except Exception:
            logger.exception("a shutdown hook failed")


async def start_offline(application: Application, *, start: bool = True) -> None:  # type: ignore[type-arg]
    """What run_polling does before fetching updates, for the console, tests and bench:
    initialize, post_init, and (with `start`) the job queue."""
    await application.initialize()
    await post_init(application)
    if start:
        await application.start()


async def stop_offline(application: Application) -> None:  # type: ignore[type-arg]
    """What run_polling does on SIGINT: stop, the shutdown hooks, shutdown (store closed)."""
    await settle(application)
    if application.running:
        await application.stop()
    await post_stop(application)
    await application.shutdown()


async def set_commands(application: Application) -> None:  # type: ignore[type-arg]
    """The command menu in Chinese (default and zh clients) and English (en clients)."""
    bot = application.bot
    zh = [BotCommand(name, text) for name, text in COMMANDS["zh"]]
    en = [BotCommand(name, text) for name, text in COMMANDS["en"]]
    await bot.set_my_commands(zh)
    await bot.set_my_commands(zh, language_code="zh")
    await bot.set_my_commands(en, language_code="en")


TELEGRAM_OVERALL_RATE = 30  # messages/s Telegram allows a bot overall (without paid broadcasts)


def broadcast_rate_limiter(broadcast_rate: float) -> AIORateLimiter:
    """The rate limiter every Bot API call goes through, the alert sender's included.

    Its overall limit is Telegram's 30/s, or 1.2 × BROADCAST_RATE when that is configured
    higher (an operator who raises BROADCAST_RATE asserts a higher allowance, e.g. paid
    broadcasts): the sender paces its own sends with a token bucket, and the 20% headroom is
    for answers to users during a broadcast. At the default rate (25/s) nothing changes."""
    overall = max(TELEGRAM_OVERALL_RATE, math.ceil(broadcast_rate * 1.2))
    return AIORateLimiter(overall_max_rate=overall, max_retries=2)


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    updater: bool = True,
    rate_limiter: bool = True,
    kb: KnowledgeBase | None = None,
) -> Application:  # type: ignore[type-arg]
    """The bot's one Application, with every capability registered.

    `request` replaces the HTTP transport (the console's and the tests' local Bot API);
    `updater=False` leaves out polling/webhook; `rate_limiter=False` is for the benchmark,
    which measures dispatch rather than Telegram's pacing."""
    builder = (
        ApplicationBuilder()
        .application_class(BotApplication)
        .token(settings.token or OFFLINE_TOKEN)
        .context_types(ContextTypes(context=CustomContext))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .concurrent_updates(PerUserUpdateProcessor())
        .post_init(post_init)
        .post_stop(post_stop)
    )
    if settings.base_url:
        builder.base_url(f"{settings.base_url}/bot").base_file_url(f"{settings.base_url}/file/bot")
    if request is not None:
        builder.request(request)
        if updater:
            builder.get_updates_request(request)
    if not updater:
        builder.updater(None)
    if rate_limiter:
        builder.rate_limiter(broadcast_rate_limiter(settings.broadcast_rate))
    store = open_store(settings.database_url)
    # Conversations and drafts live in the store, so a restart (or another instance) keeps them.
    builder.persistence(StorePersistence(store))
    application = builder.build()
    services = Services(settings, store=store, kb=kb or KnowledgeBase.load_default())
    application.services = services  # type: ignore[attr-defined]
    application.bot_data["services"] = services
    handlers.register_all(application)
    return application


def webhook_path(settings: Settings) -> str:
    """A URL path nobody can guess, derived from the secret (or the token)."""
    seed = settings.webhook_secret or settings.token
    return "tg-" + hashlib.sha256(seed.encode()).hexdigest()[:32]


def webhook_secret(settings: Settings) -> str:
    """The secret Telegram sends back in a header (WEBHOOK_SECRET, else derived from the token)."""
    if settings.webhook_secret:
        return settings.webhook_secret
    return hashlib.sha256(b"secret:" + settings.token.encode()).hexdigest()


def configure_logging(level: int = logging.INFO) -> None:
    """Readable log lines on stderr; httpx's request lines (which contain the token) muted."""
    logging.basicConfig(
        stream=sys.stderr,
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
    )
    for noisy in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="The rectification notice bot.")
    parser.add_argument(
        "--console",
        action="store_true",
        help="run the bot in this terminal as one local user (no token, no network)",
    )
    parser.add_argument(
        "--lang", choices=("zh", "en"), default="zh", help="console user's language"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Start the bot; returns the process exit code (2 for a settings problem)."""
    args = parse_args(argv)
    try:
        settings = Settings.load(require_token=not args.console)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.console:
        configure_logging(logging.WARNING)
        import console

        return console.run(settings, language=args.lang)
    configure_logging()
    try:
        application = build_application(settings)
    except ValueError as exc:  # e.g. a DATABASE_URL the store cannot use
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if settings.mode == "webhook":
        path = webhook_path(settings)
        application.run_webhook(
            listen=settings.listen,
            port=settings.port,
            url_path=path,
            webhook_url=f"{settings.webhook_url.rstrip('/')}/{path}",
            secret_token=webhook_secret(settings),
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
