"""Shared fixtures: the knowledge base (loaded once) and `make_app`, the whole bot offline.

`make_app(overrides)` builds the real Application with `bot.build_application` (real SQLite
store in tmp_path, the real KnowledgeBase, every capability registered) on a RecordingRequest,
runs the same start-up as `run_polling` (initialize, post_init, start), and stops it after the
test. The start-up calls (getMe, setMyCommands) are cleared from the record. The rate limiter
is off (it paces outgoing calls to Telegram's limits and would only slow tests down).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from auxil.harness import STAFF_ID, BotHarness, offline_settings
from auxil.request import RecordingRequest

from bot import build_application, start_offline, stop_offline
from knowledge import KnowledgeBase

__all__ = ["STAFF_ID"]
MakeApp = Callable[..., Awaitable[BotHarness]]


@pytest.fixture(scope="session")
def knowledge_base() -> KnowledgeBase:
    """The bundled notice's knowledge base, built once for the whole run."""
    return KnowledgeBase.load_default()


@pytest.fixture
async def make_app(tmp_path: Path, knowledge_base: KnowledgeBase) -> AsyncIterator[MakeApp]:
    """A factory: `await make_app({"ENV_NAME": "value", …})` → a started BotHarness."""
    started: list[BotHarness] = []

    async def make(
        overrides: dict[str, str] | None = None, *, rate_limiter: bool = False
    ) -> BotHarness:
        data_dir = tmp_path / f"app{len(started)}"
        request = RecordingRequest()
        application = build_application(
            offline_settings(data_dir, overrides),
            request=request,
            updater=False,
            rate_limiter=rate_limiter,
            kb=knowledge_base,
        )
        await start_offline(application)
        request.clear()
        harness = BotHarness(application, request)
        started.append(harness)
        return harness

    yield make
    for harness in reversed(started):
        await stop_offline(harness.application)


@pytest.fixture
async def bot(make_app: MakeApp) -> BotHarness:
    """The bot with default test settings."""
    return await make_app()
