"""Tests of the fake Bot API server itself, with python-telegram-bot's real Bot as the client."""

from __future__ import annotations

import asyncio
import datetime as dtm
import http.server
import json
import threading
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from fakebotapi import FakeBotApi, free_port
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Conflict, Forbidden, RetryAfter

TOKEN = "123456:TEST"


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as server:
        yield server


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    client = Bot(TOKEN, base_url=f"{api.root}/bot", base_file_url=f"{api.root}/file/bot")
    async with client:
        yield client


def _seconds(err: RetryAfter) -> float:
    """retry_after in seconds, whichever type this PTB version returns."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value: Any = err.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


KEYBOARD = InlineKeyboardMarkup(
    [[InlineKeyboardButton("第12项", callback_data="item:12")],
     [InlineKeyboardButton("返回", callback_data="browse:back")]]
)  # fmt: skip


class TestBasics:
    async def test_get_me_answers_the_bot_user(self, bot: Bot, api: FakeBotApi) -> None:
        """getMe returns the configured bot user, with the token's number as id."""
        me = await bot.get_me()
        assert me.id == 123456
        assert me.is_bot
        assert me.username == api.bot_user["username"]

    async def test_send_message_echoes_keyboard_and_counts_ids(
        self, bot: Bot, api: FakeBotApi
    ) -> None:
        """sendMessage returns a valid Message with the inline keyboard and per-chat ids."""
        first = await bot.send_message(42, "你好", reply_markup=KEYBOARD)
        second = await bot.send_message(42, "再见")
        other = await bot.send_message(43, "hello")
        assert first.text == "你好"
        assert first.chat.id == 42
        assert first.from_user is not None and first.from_user.id == 123456
        assert first.reply_markup == KEYBOARD
        assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)
        call = api.calls("sendMessage", chat_id=42)[0]
        assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "item:12"
        assert call.callback_data() == ["item:12", "browse:back"]
        assert [m["text"] for m in api.messages_to(42)] == ["你好", "再见"]

    async def test_numeric_text_stays_a_string(self, bot: Bot, api: FakeBotApi) -> None:
        """Form-encoded text that looks like a number is recorded as the string sent."""
        await bot.send_message(42, "12")
        assert api.calls("sendMessage")[0].params["text"] == "12"

    async def test_html_is_validated_and_stripped(self, bot: Bot, api: FakeBotApi) -> None:
        """Valid HTML is shown without tags; an unescaped '<' is a 400 like Telegram's."""
        message = await bot.send_message(42, "<b>第12项</b> &lt;污水&gt;", parse_mode="HTML")
        assert message.text == "第12项 <污水>"
        with pytest.raises(BadRequest, match="parse entities"):
            await bot.send_message(42, "a <script> b", parse_mode="HTML")
        with pytest.raises(BadRequest, match="parse entities"):
            await bot.send_message(42, "Tom & Jerry", parse_mode="HTML")

    async def test_too_long_text_and_callback_data_are_rejected(self, bot: Bot) -> None:
        """Texts over 4096 characters and callback data over 64 bytes get 400."""
        with pytest.raises(BadRequest, match="too long"):
            await bot.send_message(42, "字" * 4097)
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x" * 65)]])
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await bot.send_message(42, "hi", reply_markup=markup)

    async def test_unknown_method_is_not_found(self, bot: Bot) -> None:
        """A method the fake does not know answers 404, as Telegram does."""
        from telegram.error import EndPointNotFound

        with pytest.raises(EndPointNotFound):
            await bot.do_api_request("noSuchMethod", api_kwargs={"chat_id": 1})

    async def test_wrong_token_is_unauthorized(self, api: FakeBotApi) -> None:
        """With a token configured, a request with another token gets 401."""
        from telegram.error import InvalidToken

        api.token = "999:OTHER"
        client = Bot(TOKEN, base_url=f"{api.root}/bot")
        with pytest.raises(InvalidToken):
            await client.initialize()
        await client.shutdown()


class TestUpdates:
    async def test_long_poll_returns_update_queued_while_waiting(
        self, bot: Bot, api: FakeBotApi
    ) -> None:
        """getUpdates waits and returns as soon as a user writes, with a bot_command entity."""
        started = time.monotonic()
        poll = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.3)
        assert not poll.done()
        api.user_says(7, "/start item_12")
        updates = await asyncio.wait_for(poll, 5)
        assert time.monotonic() - started < 3
        assert len(updates) == 1
        message = updates[0].message
        assert message is not None and message.text == "/start item_12"
        assert message.from_user is not None and message.from_user.language_code == "zh-hans"
        assert message.entities[0].type == "bot_command" and message.entities[0].length == 6

    async def test_long_poll_times_out_empty(self, bot: Bot) -> None:
        """getUpdates with nothing queued answers [] after its timeout."""
        started = time.monotonic()
        assert await bot.get_updates(timeout=1) == ()
        assert 0.9 < time.monotonic() - started < 3

    async def test_offset_confirms_updates(self, bot: Bot, api: FakeBotApi) -> None:
        """Updates below the offset are gone; later ones are returned."""
        api.user_says(7, "one")
        api.user_says(7, "two", language_code="en")
        first = await bot.get_updates(timeout=0)
        assert [u.message.text for u in first if u.message] == ["one", "two"]
        again = await bot.get_updates(offset=first[0].update_id + 1, timeout=0)
        assert [u.message.text for u in again if u.message] == ["two"]
        assert await bot.get_updates(offset=first[1].update_id + 1, timeout=0) == ()
        assert api.updates_pending() == 0

    async def test_allowed_updates_filters_types(self, bot: Bot, api: FakeBotApi) -> None:
        """Update types outside allowed_updates are not delivered."""
        api.user_blocks_bot(7)
        api.user_says(7, "hi")
        updates = await bot.get_updates(timeout=0, allowed_updates=["message"])
        assert [u.message.text for u in updates if u.message] == ["hi"]
        assert all(u.my_chat_member is None for u in updates)

    async def test_button_press_references_the_bot_message(self, bot: Bot, api: FakeBotApi) -> None:
        """user_presses queues a callback_query carrying the bot's message and the data."""
        sent = await bot.send_message(7, "card", reply_markup=KEYBOARD)
        api.user_presses(7, sent.message_id, "item:12")
        (update,) = await bot.get_updates(timeout=0)
        query = update.callback_query
        assert query is not None and query.data == "item:12"
        assert query.message is not None and query.message.message_id == sent.message_id
        assert query.from_user.id == 7
        assert await bot.answer_callback_query(query.id, "ok")
        with pytest.raises(ValueError, match="no button"):
            api.user_presses(7, sent.message_id, "item:99")
        api.user_presses(7, sent.message_id, "forged:1", force=True)

    async def test_concurrent_get_updates_conflict(self, bot: Bot, api: FakeBotApi) -> None:
        """A second getUpdates terminates the pending one with 409, as with two bot instances."""
        first = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.3)
        async with Bot(TOKEN, base_url=f"{api.root}/bot") as other:
            second = asyncio.create_task(other.get_updates(timeout=1))
            with pytest.raises(Conflict):
                await asyncio.wait_for(first, 5)
            assert await asyncio.wait_for(second, 5) == ()


class TestOtherUpdates:
    async def test_edited_message_and_inline_query(self, bot: Bot, api: FakeBotApi) -> None:
        """user_edits queues an edited_message; user_inline_query an inline_query."""
        said = api.user_says(4, "污水")
        api.user_edits(4, said["message"], "/item 12")
        api.user_inline_query(4, "电网")
        updates = await bot.get_updates(timeout=0)
        edited = updates[1].edited_message
        assert edited is not None and edited.message_id == said["message"]["message_id"]
        assert edited.text == "/item 12" and edited.entities[0].type == "bot_command"
        assert updates[2].inline_query is not None and updates[2].inline_query.query == "电网"

    async def test_user_sends_sticker_and_group_message(self, bot: Bot, api: FakeBotApi) -> None:
        """user_sends queues any message fields; group messages come from a negative chat id."""
        sticker = {"file_id": "S1", "file_unique_id": "US1", "type": "regular", "width": 512,
                   "height": 512, "is_animated": False, "is_video": False}  # fmt: skip
        api.user_sends(4, sticker=sticker)
        api.user_says(4, "/help@rectification_test_bot", chat_type="group")
        first, second = await bot.get_updates(timeout=0)
        assert first.message is not None and first.message.sticker is not None
        assert second.message is not None and second.message.chat.type == "group"
        assert second.message.chat.id < 0
        assert second.message.entities[0].length == len("/help@rectification_test_bot")


class TestEdits:
    async def test_edit_text_changes_the_stored_message(self, bot: Bot, api: FakeBotApi) -> None:
        """editMessageText returns the edited message and messages_to shows the new text."""
        sent = await bot.send_message(7, "page 1", reply_markup=KEYBOARD)
        edited = await bot.edit_message_text("page 2", chat_id=7, message_id=sent.message_id)
        assert not isinstance(edited, bool) and edited.text == "page 2"
        assert edited.reply_markup is None
        assert [m["text"] for m in api.messages_to(7)] == ["page 2"]

    async def test_unchanged_edit_is_not_modified(self, bot: Bot) -> None:
        """Editing to the same text and keyboard is a 400 'message is not modified'."""
        sent = await bot.send_message(7, "same", reply_markup=KEYBOARD)
        with pytest.raises(BadRequest, match="not modified"):
            await bot.edit_message_text(
                "same", chat_id=7, message_id=sent.message_id, reply_markup=KEYBOARD
            )

    async def test_edit_reply_markup_and_missing_message(self, bot: Bot, api: FakeBotApi) -> None:
        """editMessageReplyMarkup replaces the keyboard; an unknown message is a 400."""
        sent = await bot.send_message(7, "card", reply_markup=KEYBOARD)
        await bot.edit_message_reply_markup(
            chat_id=7, message_id=sent.message_id, reply_markup=None
        )
        assert "reply_markup" not in api.messages_to(7)[0]
        with pytest.raises(BadRequest, match="not found"):
            await bot.edit_message_text("x", chat_id=7, message_id=999)


class TestFailures:
    @pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
    async def test_fail_next_429_raises_retry_after(self, bot: Bot, api: FakeBotApi) -> None:
        """fail_next(429) makes exactly the next send to that chat a RetryAfter with its delay."""
        api.fail_next("sendMessage", 42, code=429, retry_after=3)
        await bot.send_message(41, "other chat unaffected")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(42, "hi")
        assert _seconds(caught.value) == 3
        await bot.send_message(42, "second try works")
        failed = api.calls("sendMessage", chat_id=42)[0]
        assert not failed.ok and failed.error_code == 429

    async def test_blocked_user_gets_403(self, bot: Bot, api: FakeBotApi) -> None:
        """After user_blocks_bot, sends to that chat raise Forbidden; a kicked update is queued."""
        api.user_blocks_bot(9)
        with pytest.raises(Forbidden, match="blocked"):
            await bot.send_message(9, "news")
        (update,) = await bot.get_updates(timeout=0)
        assert update.my_chat_member is not None
        assert update.my_chat_member.new_chat_member.status == "kicked"
        api.user_unblocks_bot(9)
        await bot.send_message(9, "welcome back")

    async def test_silent_block_queues_no_update(self, bot: Bot, api: FakeBotApi) -> None:
        """block() makes sends answer 403 without a my_chat_member update; unblock() undoes it."""
        api.block(11)
        with pytest.raises(Forbidden):
            await bot.send_message(11, "alert")
        assert api.updates_pending() == 0
        api.unblock(11)
        await bot.send_message(11, "alert")

    async def test_fail_next_403_any_chat(self, bot: Bot, api: FakeBotApi) -> None:
        """fail_next without a chat applies to the next call of that method to any chat."""
        api.fail_next("sendDocument", code=403)
        with pytest.raises(Forbidden):
            await bot.send_document(5, b"data", filename="a.txt")


class TestFiles:
    async def test_user_document_can_be_downloaded(self, bot: Bot, api: FakeBotApi) -> None:
        """A document the user sends is served by getFile and the file URL."""
        api.user_sends_document(3, "notice.txt", "关于巡察整改情况的通报", caption="new")
        (update,) = await bot.get_updates(timeout=0)
        assert update.message is not None and update.message.document is not None
        assert update.message.document.file_name == "notice.txt"
        file = await bot.get_file(update.message.document.file_id)
        assert bytes(await file.download_as_bytearray()).decode() == "关于巡察整改情况的通报"

    async def test_send_document_and_photo_multipart(self, bot: Bot, api: FakeBotApi) -> None:
        """Uploads are recorded with their bytes and answered with document/photo objects."""
        doc = await bot.send_document(3, b"a,b\n1,2\n", filename="export.csv", caption="CSV")
        photo = await bot.send_photo(3, b"\x89PNG fake", caption="chart")
        assert doc.document is not None and doc.document.file_name == "export.csv"
        assert doc.caption == "CSV"
        assert photo.photo and photo.caption == "chart"
        call = api.calls("sendDocument")[0]
        assert call.files["document"][1] == b"a,b\n1,2\n"
        assert call.chat_id == 3
        again = await bot.get_file(doc.document.file_id)
        assert bytes(await again.download_as_bytearray()) == b"a,b\n1,2\n"


class TestCommandsAndChats:
    async def test_commands_per_language(self, bot: Bot, api: FakeBotApi) -> None:
        """setMyCommands stores menus per language; getMyCommands and deleteMyCommands use them."""
        await bot.set_my_commands([BotCommand("browse", "浏览")], language_code="zh")
        await bot.set_my_commands([BotCommand("browse", "Browse")], language_code="en")
        assert (await bot.get_my_commands(language_code="en"))[0].description == "Browse"
        assert api.commands("zh")[0]["description"] == "浏览"
        await bot.delete_my_commands(language_code="en")
        assert await bot.get_my_commands(language_code="en") == ()

    async def test_get_chat_and_misc(self, bot: Bot, api: FakeBotApi) -> None:
        """getChat knows users who wrote; chat actions, menu button and close answer True."""
        api.user_says(8, "hi")
        chat = await bot.get_chat(8)
        assert chat.id == 8 and chat.type == "private"
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.get_chat(12345)
        assert await bot.send_chat_action(8, "typing")
        assert await bot.set_chat_menu_button()
        assert await bot.answer_inline_query("1", [])


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], Any]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], Any]]]]:
    received: list[tuple[dict[str, str], Any]] = []
    handler = type("Handler", (_Receiver,), {"received": received})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class TestWebhook:
    async def test_updates_are_posted_with_the_secret(
        self, bot: Bot, api: FakeBotApi, receiver: tuple[str, list[Any]]
    ) -> None:
        """With a webhook set, queued updates are POSTed with the secret header, in order."""
        url, received = receiver
        api.user_says(5, "before")
        assert await bot.set_webhook(url, secret_token="s3cret")
        api.user_says(5, "after")
        deadline = time.monotonic() + 5
        while len(received) < 2 and time.monotonic() < deadline:  # noqa: ASYNC110 - bounded poll of a list another thread fills
            await asyncio.sleep(0.05)
        assert [body["message"]["text"] for _, body in received] == ["before", "after"], received
        headers = {k.lower(): v for k, v in received[0][0].items()}
        assert headers["x-telegram-bot-api-secret-token"] == "s3cret"
        info = await bot.get_webhook_info()
        assert info.url == url and info.pending_update_count == 0

    async def test_get_updates_conflicts_while_webhook_set(
        self, bot: Bot, receiver: tuple[str, list[Any]]
    ) -> None:
        """getUpdates answers 409 while a webhook is set, and works again after deleteWebhook."""
        await bot.set_webhook(receiver[0])
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates(timeout=0)
        await bot.delete_webhook()
        assert await bot.get_updates(timeout=0) == ()

    async def test_failed_delivery_is_retried(self, bot: Bot, api: FakeBotApi) -> None:
        """Updates stay queued (with last_error) while the webhook is down, then arrive."""
        received: list[tuple[dict[str, str], Any]] = []
        handler = type("Handler", (_Receiver,), {"received": received})
        port = free_port()
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook")
        api.user_says(5, "queued")
        await asyncio.sleep(0.5)
        info = await bot.get_webhook_info()
        assert info.pending_update_count == 1
        assert info.last_error_message
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 5
            while not received and time.monotonic() < deadline:  # noqa: ASYNC110 - bounded poll of a list another thread fills
                await asyncio.sleep(0.05)
        finally:
            server.shutdown()
            server.server_close()
            thread.join(5)
        assert [body["message"]["text"] for _, body in received] == ["queued"]
        assert api.updates_pending() == 0


class TestWaiting:
    def test_wait_for_from_sync_code(self, api: FakeBotApi) -> None:
        """wait_for returns the matching call made after the last user action."""
        api.user_says(1, "q")

        async def client() -> None:
            async with Bot(TOKEN, base_url=f"{api.root}/bot") as b:
                await asyncio.sleep(0.2)
                await b.send_message(1, "答复: 污水处理厂")

        thread = threading.Thread(target=asyncio.run, args=(client(),))
        thread.start()
        call = api.wait_for("sendMessage", chat_id=1, text="污水", timeout=5)
        thread.join(5)
        assert call.text == "答复: 污水处理厂"
        assert call.at <= time.monotonic()

    async def test_wait_for_defaults_to_after_the_last_user_action(
        self, bot: Bot, api: FakeBotApi
    ) -> None:
        """A reply sent before the latest user action is not taken for the answer to it."""
        await bot.send_message(1, "old answer")
        api.user_says(1, "new question")
        with pytest.raises(AssertionError, match="calls seen since then: none"):
            api.wait_for("sendMessage", chat_id=1, timeout=0.2)
        assert api.wait_for("sendMessage", chat_id=1, since=0, timeout=1).text == "old answer"

    def test_wait_for_times_out_with_a_clear_message(self, api: FakeBotApi) -> None:
        """wait_for raises AssertionError naming what it waited for after the timeout."""
        started = time.monotonic()
        with pytest.raises(AssertionError, match="sendMessage"):
            api.wait_for("sendMessage", chat_id=1, timeout=0.3)
        assert time.monotonic() - started < 2

    async def test_wait_for_async_and_wait_calls(self, bot: Bot, api: FakeBotApi) -> None:
        """wait_for_async does not block the loop; wait_calls counts matches."""
        api.user_says(1, "q")
        waiter = asyncio.create_task(api.wait_for_async("sendMessage", chat_id=1, timeout=5))
        await bot.send_message(1, "a")
        await bot.send_message(1, "b")
        assert (await waiter).text == "a"
        assert [c.text for c in api.wait_calls(2, "sendMessage", timeout=1)] == ["a", "b"]
