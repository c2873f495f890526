"""bot.build_application: transport, start-up (commands, newer notice, hooks), per-user order."""

from __future__ import annotations

import asyncio
from pathlib import Path

from auxil import updates
from auxil.harness import offline_settings
from auxil.request import RecordingRequest
from telegram.ext import AIORateLimiter

from bot import (
    PerUserUpdateProcessor,
    build_application,
    start_offline,
    stop_offline,
    webhook_path,
    webhook_secret,
)
from handlers.common import on_shutdown, on_startup
from settings import Settings
from store import open_store

FOLLOW_UP = Path(__file__).parent / "data" / "followup_notice_TEST_FIXTURE.txt"
TOKEN = "123456:ABCdef"


class TestBuild:
    def test_base_url_is_used_for_every_call(self, tmp_path, knowledge_base):
        """TELEGRAM_BASE_URL (the server root) becomes …/bot<token> and …/file/bot<token>."""
        settings = offline_settings(
            tmp_path, {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": "http://127.0.0.1:8081"}
        )
        app = build_application(settings, kb=knowledge_base)
        assert app.bot.base_url == f"http://127.0.0.1:8081/bot{TOKEN}"
        assert app.bot.base_file_url == f"http://127.0.0.1:8081/file/bot{TOKEN}"

    def test_production_wiring(self, tmp_path, knowledge_base):
        """By default: rate limiter, per-user concurrent updates, a persistence, an updater."""
        app = build_application(offline_settings(tmp_path), kb=knowledge_base)
        assert isinstance(app.bot.rate_limiter, AIORateLimiter)
        assert isinstance(app.update_processor, PerUserUpdateProcessor)
        assert app.persistence is not None and app.updater is not None

    def test_webhook_path_and_secret_hide_the_token(self):
        """The webhook path and secret are derived, stable, and do not contain the token."""
        settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN})
        assert webhook_path(settings) == webhook_path(settings)
        assert TOKEN not in webhook_path(settings) and TOKEN not in webhook_secret(settings)
        explicit = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "WEBHOOK_SECRET": "s3cret"})
        assert webhook_secret(explicit) == "s3cret"


class TestStartup:
    async def test_commands_are_set_in_zh_and_en(self, tmp_path, knowledge_base):
        """post_init sets the default, zh and en command menus."""
        request = RecordingRequest()
        app = build_application(
            offline_settings(tmp_path),
            request=request,
            updater=False,
            rate_limiter=False,
            kb=knowledge_base,
        )
        await start_offline(app)
        await stop_offline(app)
        calls = request.calls_of("setMyCommands")
        assert [c.params.get("language_code") for c in calls] == [None, "zh", "en"]
        assert calls[2].params["commands"][0] == {
            "command": "start",
            "description": "Start: the notice and the menu",
        }

    async def test_newer_published_notice_is_loaded(self, tmp_path, knowledge_base):
        """A notice published into the store replaces the bundled one at start-up."""
        settings = offline_settings(tmp_path)
        store = open_store(settings.database_url)
        await store.open()
        await store.add_notice(
            FOLLOW_UP.read_text(encoding="utf-8"), FOLLOW_UP.name, "2025-09-30", published_by=None
        )
        await store.close()
        app = build_application(
            settings,
            request=RecordingRequest(),
            updater=False,
            rate_limiter=False,
            kb=knowledge_base,
        )
        await start_offline(app)
        try:
            assert app.services.kb.notice.date.isoformat() == "2025-09-30"
        finally:
            await stop_offline(app)

    async def test_hooks_run_while_the_store_is_open(self, tmp_path, knowledge_base):
        """Startup hooks run after the store opens; shutdown hooks before it closes."""
        app = build_application(
            offline_settings(tmp_path),
            request=RecordingRequest(),
            updater=False,
            rate_limiter=False,
            kb=knowledge_base,
        )
        seen: list[str] = []

        async def up(application):
            await application.services.store.kv_set("t", "k", "up")
            seen.append("up")

        async def down(application):
            seen.append(await application.services.store.kv_get("t", "k"))

        on_startup(app, up)
        on_shutdown(app, down)
        await start_offline(app)
        await stop_offline(app)
        assert seen == ["up", "up"]


class TestPerUserOrder:
    async def test_one_user_in_order_others_concurrently(self, knowledge_base):
        """Updates of one user run one after another; another user's run alongside."""
        processor = PerUserUpdateProcessor()
        log: list[str] = []

        async def work(name: str) -> None:
            log.append(f"start {name}")
            await asyncio.sleep(0.05)
            log.append(f"end {name}")

        bot = build_application(
            Settings(database_url="sqlite:///unused.sqlite3"), updater=False, kb=knowledge_base
        ).bot
        a1 = updates.make_message_update(bot, "x", from_user=updates.user(1))
        a2 = updates.make_message_update(bot, "y", from_user=updates.user(1))
        b1 = updates.make_message_update(bot, "z", from_user=updates.user(2))
        await asyncio.gather(
            processor.process_update(a1, work("a1")),
            processor.process_update(a2, work("a2")),
            processor.process_update(b1, work("b1")),
        )
        assert log.index("end a1") < log.index("start a2")
        assert log.index("start b1") < log.index("end a1")
        assert processor._locks == {}  # idle users are forgotten
