"""The whole bot, offline: `bot.build_application` wired to a RecordingRequest.

Updates go through `application.process_update` (the real handler order, filters and
serialisation); assertions look at the Bot API calls the bot made::

    async def test_x(make_app):
        bot = await make_app({"ADMIN_IDS": "1"})
        calls = await bot.send("污水处理")          # the calls this update caused
        assert "第12项" in calls[-1].text
        await bot.press("item:13")
        bot.request.last("answerCallbackQuery")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application

from auxil import updates
from auxil.request import Call, RecordingRequest
from handlers.common import Services, application_services, settle
from settings import Settings

STAFF_ID = 1  # the test settings' ADMIN_IDS


def offline_settings(data_dir: Path, overrides: dict[str, str] | None = None) -> Settings:
    """Settings for an offline bot with its data in `data_dir`; staff is user STAFF_ID;
    `overrides` are environment variables (e.g. {"ADMIN_CHAT_ID": "-500"})."""
    env = {
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{data_dir / 'bot.sqlite3'}",
        "ADMIN_IDS": str(STAFF_ID),
    }
    return Settings.from_env(env | (overrides or {}), require_token=False)


class BotHarness:
    """An initialised Application plus its recording transport."""

    def __init__(self, application: Application, request: RecordingRequest) -> None:  # type: ignore[type-arg]
        self.application = application
        self.request = request

    @property
    def bot(self) -> Any:
        return self.application.bot

    @property
    def services(self) -> Services:
        return application_services(self.application)

    async def process(self, update: Update) -> list[Call]:
        """Handle one update and the background work it started; return the calls it caused."""
        before = len(self.request.calls)
        await self.application.process_update(update)
        await settle(self.application)
        return self.request.calls[before:]

    async def send(self, text: str | None, **kw: Any) -> list[Call]:
        """A message from a user (see `updates.make_message_update` for the options)."""
        return await self.process(updates.make_message_update(self.bot, text, **kw))

    async def press(self, data: str, **kw: Any) -> list[Call]:
        """A button press with this callback data."""
        return await self.process(updates.make_callback_update(self.bot, data, **kw))

    async def inline(self, query: str, **kw: Any) -> list[Call]:
        """An inline query."""
        return await self.process(updates.make_inline_update(self.bot, query, **kw))

    @staticmethod
    def replies(calls: list[Call]) -> list[Call]:
        """The sendMessage and editMessageText calls among `calls`."""
        return [c for c in calls if c.method in {"sendMessage", "editMessageText"}]

    async def reply_to(self, text: str, **kw: Any) -> Call:
        """Send a message and return the one reply it got (AssertionError unless exactly one)."""
        replies = self.replies(await self.send(text, **kw))
        assert len(replies) == 1, [c.text[:80] for c in replies]
        return replies[0]
