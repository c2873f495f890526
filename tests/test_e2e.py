"""End-to-end: the real `bot.py` process against the fake Bot API, in polling and webhook mode.

A simulated citizen asks in Chinese and in English, sends /start, presses buttons; the tests
assert the replies the bot sent over HTTP. One bot process per mode serves a test class (each
test uses its own user), and separate tests start a fresh process to check SIGTERM.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from auxil.botproc import BotProcess, running_bot
from fakebotapi import Call, FakeBotApi

pytestmark = pytest.mark.e2e

MODES = ["polling", "webhook"]
REPLY = ("sendMessage", "editMessageText")


@pytest.fixture(scope="class", params=MODES)
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FakeBotApi, BotProcess]]:
    """One fake server and one bot process in the given mode, shared by a class's tests."""
    data_dir = tmp_path_factory.mktemp(f"bot-{request.param}")
    with FakeBotApi() as api, running_bot(api, data_dir, mode=request.param) as bot:
        yield api, bot
        assert bot.alive(), "bot.py died during the tests; stderr:\n" + bot.stderr()


def reply_to(
    api: FakeBotApi, user_id: int, *, text: str | None = None, timeout: float = 15
) -> Call:
    """The bot's next message or edit in the user's chat (containing text, if given)."""
    return api.wait_for(
        lambda c: c.method in REPLY and c.ok, chat_id=user_id, text=text, timeout=timeout
    )


class TestConversation:
    def test_chinese_question_gets_item_12(self, live: tuple[FakeBotApi, BotProcess]) -> None:
        """A Chinese question about the wastewater plant is answered with item 12's card."""
        api, _ = live
        api.user_says(101, "污水厂扩建得怎么样了")
        reply = reply_to(api, 101)
        assert "第12项" in reply.text and "污水处理" in reply.text, reply.text
        assert "item:" in " ".join(reply.callback_data())
        assert "fb:new:12" in reply.callback_data() or "sub:item:12" in reply.callback_data()

    def test_english_question_is_answered_in_english(
        self, live: tuple[FakeBotApi, BotProcess]
    ) -> None:
        """An English-speaking user's question about the wastewater plant gets an English card."""
        api, _ = live
        api.user_says(102, "what happened with the wastewater plant", language_code="en")
        reply = reply_to(api, 102)
        assert "Item 12" in reply.text, reply.text
        assert "astewater" in reply.text
        assert "第12项" not in reply.text

    def test_start_shows_welcome_with_buttons(self, live: tuple[FakeBotApi, BotProcess]) -> None:
        """/start answers a welcome naming the notice, with a browse button."""
        api, _ = live
        api.user_says(103, "/start")
        reply = reply_to(api, 103)
        assert "通报" in reply.text, reply.text
        assert "browse:open" in reply.callback_data()

    def test_pressing_an_item_button_opens_that_item(
        self, live: tuple[FakeBotApi, BotProcess]
    ) -> None:
        """A related-item button under an answer shows that item and answers the callback."""
        api, _ = live
        api.user_says(104, "污水厂扩建得怎么样了")
        card = reply_to(api, 104, text="第12项")
        related = next(d for d in card.callback_data() if d.startswith("item:"))
        number = related.removeprefix("item:")
        press = api.user_presses(104, card, related)
        shown = reply_to(api, 104, text=f"第{number}项")
        assert shown.ok
        # Callback queries must be answered, or the user's client shows a spinner.
        answered = api.calls("answerCallbackQuery", since=0)
        query_id = press["callback_query"]["id"]
        assert any(c.params.get("callback_query_id") == query_id for c in answered), answered

    def test_browse_buttons_edit_the_same_message(
        self, live: tuple[FakeBotApi, BotProcess]
    ) -> None:
        """Browse: areas are sent once, then an area's items and the way back edit that message."""
        api, _ = live
        api.user_says(105, "/start")
        welcome = reply_to(api, 105)
        api.user_presses(105, welcome, "browse:open")
        areas = reply_to(api, 105, text=None)
        area = next(d for d in areas.callback_data() if d.startswith("browse:area:"))
        api.user_presses(105, areas, area)
        page = reply_to(api, 105)
        assert page.method == "editMessageText", page
        assert page.params["message_id"] == areas.result["message_id"]
        assert any(d.startswith("browse:item:") for d in page.callback_data()), page.callback_data()
        api.user_presses(105, areas.result["message_id"], "browse:areas")
        back = reply_to(api, 105)
        assert back.method == "editMessageText"
        assert back.callback_data() == areas.callback_data()

    def test_no_request_was_rejected(self, live: tuple[FakeBotApi, BotProcess]) -> None:
        """Every Bot API call the bot made in this class was valid (HTML, keyboards, edits)."""
        api, _ = live
        api.user_says(106, "<b>污水</b> & 电网?")
        reply_to(api, 106)
        failed = [
            (c.method, c.description, c.text[:200])
            for c in api.calls(since=0)
            if not c.ok and c.method != "getUpdates"
        ]
        assert failed == []


class TestModes:
    def test_updates_reach_the_bot_in_its_mode(self, live: tuple[FakeBotApi, BotProcess]) -> None:
        """Polling mode fetches with getUpdates; webhook mode sets our URL with the secret."""
        api, bot = live
        if bot.env["BOT_MODE"] == "webhook":
            hook = api.calls("setWebhook")[-1]
            assert hook.params["url"].startswith(bot.env["WEBHOOK_URL"] + "/")
            assert hook.params["secret_token"] == bot.env["WEBHOOK_SECRET"]
            assert not any(c.ok for c in api.calls("getUpdates"))
        else:
            assert api.calls("getUpdates")
            assert not api.webhook
        api.user_says(201, "/help")
        reply_to(api, 201)
        assert api.updates_pending() == 0

    def test_command_menus_are_set_in_both_languages(
        self, live: tuple[FakeBotApi, BotProcess]
    ) -> None:
        """Start-up sets the command menu for zh and en clients."""
        api, _ = live
        assert {c["command"] for c in api.commands("en")} >= {"start", "browse", "help"}
        assert {c["command"] for c in api.commands("zh")} >= {"start", "browse", "help"}


@pytest.mark.parametrize("mode", MODES)
class TestShutdown:
    def test_sigterm_exits_zero_quickly(self, mode: str, tmp_path: Path) -> None:
        """After answering a user, SIGTERM makes bot.py exit 0 within a few seconds."""
        with FakeBotApi() as api, running_bot(api, tmp_path, mode=mode) as bot:
            api.user_says(301, "污水厂扩建得怎么样了")
            reply_to(api, 301, text="第12项")
            started = time.monotonic()
            code = bot.stop(timeout=10)
            took = time.monotonic() - started
            assert code == 0, f"exit code {code} after SIGTERM; stderr:\n{bot.stderr()}"
            assert took < 5, f"shutdown took {took:.1f} s; stderr:\n{bot.stderr()}"
