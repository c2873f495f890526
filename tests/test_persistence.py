"""StorePersistence: PTB conversations and user_data kept in the store across restarts.

A real Application with a persistent ConversationHandler, driven offline: a recording
BaseRequest answers the Bot API calls with Bot-API-shaped JSON, real Updates go through
`application.process_update`, and the store is a real SQLite file in tmp_path.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.ext import (
    Application,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PersistenceInput,
    filters,
)
from telegram.request import BaseRequest, RequestData

from store.persistence import StorePersistence, add_write_through
from store.sqlite import SQLiteStore

TOKEN = "123456:TEST-TOKEN"
USER = 4242
KIND, TEXT, CONTACT = range(3)
UPDATE_IDS = itertools.count(1)


class RecordingRequest(BaseRequest):
    """A Bot API that records every call and answers like Telegram, with no network."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._message_id = 1000

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        """Record the call and return `{"ok": true, "result": …}`."""
        name = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data is not None else {}
        self.calls.append((name, dict(params)))
        result: Any = True
        if name == "getMe":
            result = {"id": 123456, "is_bot": True, "first_name": "Bot", "username": "test_bot"}
        elif name == "sendMessage":
            self._message_id += 1
            result = {
                "message_id": self._message_id,
                "date": int(time.time()),
                "chat": {"id": params["chat_id"], "type": "private"},
                "text": params["text"],
            }
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def texts(self) -> list[str]:
        """The texts of every sendMessage so far."""
        return [str(params["text"]) for name, params in self.calls if name == "sendMessage"]


def message(application: Application[Any, Any, Any, Any, Any, Any], text: str) -> Update:
    """A private text message from USER, with the bot_command entity commands need."""
    entities = []
    if text.startswith("/"):
        entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    update_id = next(UPDATE_IDS)
    data = {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": USER, "type": "private", "first_name": "张"},
            "from": {"id": USER, "is_bot": False, "first_name": "张", "language_code": "zh"},
            "text": text,
            "entities": entities,
        },
    }
    return Update.de_json(data, application.bot)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Starts a draft and asks for the kind."""
    assert update.message is not None and context.user_data is not None
    context.user_data["draft"] = {"step": "kind"}
    await update.message.reply_text("kind?")
    return KIND


async def kind(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Stores the kind and asks for the text."""
    assert update.message is not None and context.user_data is not None
    context.user_data["draft"]["kind"] = update.message.text
    await update.message.reply_text("text?")
    return TEXT


async def text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Stores the text and asks for contact details, echoing the draft so far."""
    assert update.message is not None and context.user_data is not None
    context.user_data["draft"]["text"] = update.message.text
    draft = json.dumps(context.user_data["draft"], ensure_ascii=False)
    await update.message.reply_text(f"contact? draft={draft}")
    return CONTACT


async def contact(update: Update, _: ContextTypes.DEFAULT_TYPE) -> int:
    """Ends the conversation."""
    assert update.message is not None
    await update.message.reply_text("done")
    return ConversationHandler.END


async def restart_point(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
    """Answers text outside the conversation, to show the step was lost."""
    assert update.message is not None
    await update.message.reply_text("outside")


def build(
    store: SQLiteStore, write_through: bool = False
) -> tuple[Application[Any, Any, Any, Any, Any, Any], RecordingRequest]:
    """An Application with the persistent feedback conversation over `store`."""
    request = RecordingRequest()
    application = (
        Application.builder()
        .token(TOKEN)
        .request(request)
        .get_updates_request(RecordingRequest())
        .persistence(StorePersistence(store))
        .updater(None)
        .build()
    )
    application.add_handler(
        ConversationHandler(
            entry_points=[CommandHandler("feedback", start)],
            states={
                KIND: [MessageHandler(filters.TEXT & ~filters.COMMAND, kind)],
                TEXT: [MessageHandler(filters.TEXT & ~filters.COMMAND, text)],
                CONTACT: [MessageHandler(filters.TEXT & ~filters.COMMAND, contact)],
            },
            fallbacks=[],
            name="feedback",
            persistent=True,
        )
    )
    # Same group, after the conversation: only text the conversation does not take.
    application.add_handler(MessageHandler(filters.TEXT, restart_point))
    if write_through:
        add_write_through(application)
    return application, request


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the bot's SQLite file lives."""
    return tmp_path / "data" / "bot.sqlite3"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SQLiteStore]:
    """An opened SQLite store, closed afterwards."""
    opened = SQLiteStore(db_path)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


class TestConversationSurvivesRestart:
    """A persistent ConversationHandler continues after the bot restarts."""

    async def test_clean_restart_resumes_at_the_same_step(self, db_path: Path) -> None:
        """Two steps, shutdown, new Application on the same file: same step, same draft."""
        first_store = SQLiteStore(db_path)
        application, _ = build(first_store)  # the persistence opens the store itself
        await application.initialize()
        await application.process_update(message(application, "/feedback"))
        await application.process_update(message(application, "投诉举报"))
        await application.shutdown()
        await first_store.close()

        second_store = SQLiteStore(db_path)
        application, request = build(second_store)
        await application.initialize()
        try:
            await application.process_update(message(application, "污水处理厂晚上有异味"))
        finally:
            await application.shutdown()
            await second_store.close()
        (reply,) = request.texts()
        assert reply.startswith("contact? draft=")
        assert json.loads(reply.removeprefix("contact? draft=")) == {
            "step": "kind",
            "kind": "投诉举报",
            "text": "污水处理厂晚上有异味",
        }

    async def test_write_through_survives_a_kill(self, db_path: Path) -> None:
        """With add_write_through, a bot that never shuts down (SIGKILL) loses no step."""
        dead_store = SQLiteStore(db_path)
        application, _ = build(dead_store, write_through=True)
        await application.initialize()
        await application.process_update(message(application, "/feedback"))
        await application.process_update(message(application, "意见建议"))
        # No shutdown: nothing more is written, as after a SIGKILL.

        store = SQLiteStore(db_path)
        restarted, request = build(store, write_through=True)
        await restarted.initialize()
        try:
            await restarted.process_update(message(restarted, "路灯坏了"))
        finally:
            await restarted.shutdown()
            await store.close()
            await dead_store.close()
        (reply,) = request.texts()
        assert json.loads(reply.removeprefix("contact? draft=")) == {
            "step": "kind",
            "kind": "意见建议",
            "text": "路灯坏了",
        }

    async def test_without_write_through_a_kill_loses_the_step(self, db_path: Path) -> None:
        """The control: without it, PTB only writes at its interval, so a kill loses the step."""
        dead_store = SQLiteStore(db_path)
        application, _ = build(dead_store)
        await application.initialize()
        await application.process_update(message(application, "/feedback"))
        await application.process_update(message(application, "意见建议"))

        store = SQLiteStore(db_path)
        restarted, request = build(store)
        await restarted.initialize()
        try:
            await restarted.process_update(message(restarted, "路灯坏了"))
        finally:
            await restarted.shutdown()
            await store.close()
            await dead_store.close()
        assert request.texts() == ["outside"]

    async def test_ended_conversation_is_removed(self, store: SQLiteStore) -> None:
        """After the last step the conversation's row is deleted, the draft stays."""
        application, request = build(store, write_through=True)
        await application.initialize()
        try:
            for line in ["/feedback", "其他", "正文内容", "匿名"]:
                await application.process_update(message(application, line))
        finally:
            await application.shutdown()
        texts = request.texts()
        assert texts[:2] == ["kind?", "text?"] and texts[2].startswith("contact?")
        assert texts[3:] == ["done"]
        assert await store.kv_items("conversations:feedback") == {}
        stored = await store.kv_get("user_data", str(USER))
        assert stored is not None and stored["draft"]["text"] == "正文内容"


class TestStorePersistence:
    """Each BasePersistence method against a real SQLite store."""

    async def test_user_and_chat_data_round_trip_with_int_keys(self, store: SQLiteStore) -> None:
        """update_* then get_* returns the data keyed by int ids; drop_* forgets it."""
        persistence = StorePersistence(store)
        await persistence.update_user_data(7, {"draft": {"text": "😀中文"}, "n": [1, 2]})
        await persistence.update_chat_data(-1001, {"lang": "en"})
        fresh = StorePersistence(store)
        assert await fresh.get_user_data() == {7: {"draft": {"text": "😀中文"}, "n": [1, 2]}}
        assert await fresh.get_chat_data() == {-1001: {"lang": "en"}}
        await fresh.drop_user_data(7)
        await fresh.drop_chat_data(-1001)
        assert await fresh.get_user_data() == {}
        assert await fresh.get_chat_data() == {}

    async def test_conversations_round_trip_with_tuple_keys(self, store: SQLiteStore) -> None:
        """States come back under their tuple keys, per handler name; None deletes one."""
        persistence = StorePersistence(store)
        await persistence.update_conversation("feedback", (42, 42), 1)
        await persistence.update_conversation("feedback", (-100, 7), "TEXT")
        await persistence.update_conversation("publish", (42, 42), 2)
        await persistence.update_conversation("feedback", (-100, 7), None)
        fresh = StorePersistence(store)
        assert await fresh.get_conversations("feedback") == {(42, 42): 1}
        assert await fresh.get_conversations("publish") == {(42, 42): 2}
        assert await fresh.get_conversations("unknown") == {}

    async def test_unchanged_data_is_not_rewritten(self, store: SQLiteStore) -> None:
        """A periodic run with nothing changed writes nothing (the row keeps its time)."""
        persistence = StorePersistence(store)
        await persistence.update_user_data(7, {"a": 1})
        await persistence.update_conversation("feedback", (7, 7), 1)

        async def stamps() -> list[str]:
            async with (
                store._read() as db,
                db.execute("SELECT updated_at FROM kv ORDER BY namespace, key") as cursor,
            ):
                return [row[0] for row in await cursor.fetchall()]

        before = await stamps()
        await persistence.update_user_data(7, {"a": 1})
        await persistence.update_conversation("feedback", (7, 7), 1)
        assert await stamps() == before
        await persistence.update_user_data(7, {"a": 2})
        assert await stamps() != before

    async def test_non_json_data_is_refused_clearly(self, store: SQLiteStore) -> None:
        """A value JSON cannot hold raises TypeError naming what could not be stored."""
        persistence = StorePersistence(store)
        with pytest.raises(TypeError, match=r"user_data\[7\].*JSON"):
            await persistence.update_user_data(7, {"bad": object()})

    async def test_refresh_picks_up_another_instances_write(self, store: SQLiteStore) -> None:
        """refresh=True replaces the dict in place with what another instance stored."""
        mine = StorePersistence(store, refresh=True)
        other = StorePersistence(store)
        await mine.update_user_data(7, {"step": 1})
        local = {"step": 1}
        await other.update_user_data(7, {"step": 2})
        await mine.refresh_user_data(7, local)
        assert local == {"step": 2}

    async def test_refresh_keeps_local_changes_when_store_is_unchanged(
        self, store: SQLiteStore
    ) -> None:
        """refresh=True does not undo this instance's not-yet-written changes."""
        mine = StorePersistence(store, refresh=True)
        await mine.update_chat_data(9, {"step": 1})
        local = {"step": 5}
        await mine.refresh_chat_data(9, local)
        assert local == {"step": 5}

    async def test_bot_and_callback_data_off_by_default(self, store: SQLiteStore) -> None:
        """By default bot_data and callback_data are neither read nor expected."""
        persistence = StorePersistence(store)
        assert not persistence.store_data.bot_data
        assert not persistence.store_data.callback_data
        assert persistence.store_data.user_data and persistence.store_data.chat_data
        assert await persistence.get_bot_data() == {}
        assert await persistence.get_callback_data() is None

    async def test_bot_and_callback_data_when_enabled(self, store: SQLiteStore) -> None:
        """With PersistenceInput enabling them, both round-trip in PTB's shapes."""
        everything = PersistenceInput()
        persistence = StorePersistence(store, store_data=everything)
        await persistence.update_bot_data({"broadcast": "running"})
        await persistence.update_callback_data(([("uuid", 1.5, {"btn": "item:12"})], {"m": "uuid"}))
        fresh = StorePersistence(store, store_data=everything)
        assert await fresh.get_bot_data() == {"broadcast": "running"}
        assert await fresh.get_callback_data() == (
            [("uuid", 1.5, {"btn": "item:12"})],
            {"m": "uuid"},
        )

    async def test_flush_leaves_nothing_unwritten(self, store: SQLiteStore) -> None:
        """flush is not needed: a value is in the store as soon as update_* returns."""
        persistence = StorePersistence(store)
        await persistence.update_conversation("feedback", (1, 1), 2)
        assert await store.kv_get("conversations:feedback", "[1, 1]") == 2
        await persistence.flush()
        assert await store.kv_get("conversations:feedback", "[1, 1]") == 2
