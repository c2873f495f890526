"""Non-text messages, stale buttons, the throttle, staff commands, errors, inline mode."""

from __future__ import annotations

import logging

import pytest
from auxil import updates
from auxil.harness import STAFF_ID

from handlers.throttle import TokenBuckets

STAFF = updates.user(STAFF_ID)
GROUP = updates.chat(updates.GROUP_ID, "group")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class TestNonText:
    @pytest.mark.parametrize(
        "fields",
        [
            {"photo": [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]},
            {
                "sticker": {
                    "file_id": "s",
                    "file_unique_id": "s",
                    "type": "regular",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                }
            },
            {"voice": {"file_id": "v", "file_unique_id": "v", "duration": 1}},
            {"location": {"latitude": 30.0, "longitude": 103.8}},
            {"document": {"file_id": "d", "file_unique_id": "d", "file_name": "a.pdf"}},
        ],
        ids=["photo", "sticker", "voice", "location", "document"],
    )
    async def test_private_non_text_gets_a_hint(self, bot, fields):
        """A photo, sticker, voice, location or document in private gets a polite hint."""
        call = await bot.reply_to(None, **fields)
        assert "文字" in call.text and "/feedback" in call.text

    async def test_group_photo_is_ignored(self, bot):
        """Photos in a group are not answered."""
        photo = [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]
        calls = await bot.send(None, in_chat=GROUP, photo=photo)
        assert bot.replies(calls) == []


class TestStaleButtons:
    @pytest.mark.parametrize("data", ["nonsense", "item:abc", "lang:fr", "x" * 64])
    async def test_unknown_or_forged_data_says_expired(self, bot, data):
        """Any callback data nobody handles gets the 'expired' alert and nothing else."""
        calls = await bot.press(data)
        assert [c.method for c in calls] == ["answerCallbackQuery"]
        assert "过期" in calls[0].params["text"] and calls[0].params["show_alert"] is True

    async def test_expired_in_english(self, bot):
        """English users get the English expired message."""
        calls = await bot.press("nonsense", from_user=updates.user(language_code="en"))
        assert "expired" in calls[0].params["text"]


class TestThrottle:
    async def test_flood_gets_one_notice_then_silence(self, bot):
        """Over the burst, one 'slow down' notice, then updates are dropped silently."""
        clock = FakeClock()
        bot.services.extras["throttle"] = TokenBuckets(rate=1.0, burst=3, clock=clock)
        answered = [len(bot.replies(await bot.send("/contact"))) for _ in range(6)]
        texts = bot.request.sent_texts()
        assert answered == [1, 1, 1, 1, 0, 0]
        assert "太快" in texts[3]

    async def test_bucket_refills(self, bot):
        """After waiting, the user is answered again."""
        clock = FakeClock()
        bot.services.extras["throttle"] = TokenBuckets(rate=1.0, burst=1, clock=clock)
        await bot.send("/contact")
        assert bot.replies(await bot.send("/contact"))[0].text.startswith("您发得太快")
        clock.now += 2
        assert "028-38183651" in (await bot.reply_to("/contact")).text

    async def test_other_users_are_not_affected(self, bot):
        """One user's flood does not throttle another user."""
        bot.services.extras["throttle"] = TokenBuckets(rate=1.0, burst=1, clock=FakeClock())
        for _ in range(3):
            await bot.send("/contact")
        other = updates.user(777)
        assert "028-38183651" in (await bot.reply_to("/contact", from_user=other)).text

    async def test_staff_are_exempt(self, bot):
        """Staff are never throttled."""
        bot.services.extras["throttle"] = TokenBuckets(rate=1.0, burst=1, clock=FakeClock())
        for _ in range(4):
            assert "028-38183651" in (await bot.reply_to("/contact", from_user=STAFF)).text

    async def test_default_settings_build_the_bucket(self, make_app):
        """Without a preset bucket the settings' USER_BURST applies."""
        bot = await make_app({"USER_BURST": "2", "USER_RATE": "0.001"})
        answered = [len(bot.replies(await bot.send("/contact"))) for _ in range(4)]
        assert answered == [1, 1, 1, 0]


class TestUnanswered:
    async def test_refused_for_citizens(self, bot):
        """/unanswered is refused politely to non-staff."""
        call = await bot.reply_to("/unanswered")
        assert "工作人员" in call.text

    async def test_staff_see_most_frequent_first(self, bot):
        """Staff see unanswered questions, most frequent first, escaped."""
        await bot.send("今天天气<b>?</b>")
        for _ in range(2):
            await bot.send("股票行情", from_user=updates.user(99))
        call = await bot.reply_to("/unanswered 7", from_user=STAFF)
        lines = call.text.splitlines()
        assert "7" in lines[0]
        assert "股票行情" in lines[1] and "2" in lines[1]
        assert "&lt;b&gt;" in call.text

    async def test_staff_with_nothing_recorded(self, bot):
        """With nothing recorded, staff are told so."""
        call = await bot.reply_to("/unanswered", from_user=STAFF)
        assert "没有" in call.text


class TestErrorHandler:
    async def test_error_is_logged_reported_and_apologised(self, make_app, caplog):
        """A failing handler is logged, reported (escaped) to ADMIN_CHAT_ID, and the user
        gets an apology."""
        bot = await make_app({"ADMIN_CHAT_ID": "-500"})
        bot.request.fail("sendMessage", 400, "Bad Request: can't parse <entities> & co")
        with caplog.at_level(logging.ERROR):
            calls = await bot.send("/contact")
        assert "exception while handling an update" in caplog.text
        sends = [c for c in calls if c.method == "sendMessage"]
        report, apology = sends[1], sends[2]
        assert report.params["chat_id"] == -500
        assert "BadRequest" in report.text and "&lt;entities&gt; &amp; co" in report.text
        assert apology.params["chat_id"] == updates.USER_ID and "抱歉" in apology.text

    async def test_without_admin_chat_only_the_user_hears(self, bot):
        """Without ADMIN_CHAT_ID no report is sent, only the apology."""
        bot.request.fail("sendMessage", 400, "Bad Request: boom")
        calls = await bot.send("/contact")
        sends = [c for c in calls if c.method == "sendMessage"]
        assert len(sends) == 2 and "抱歉" in sends[1].text

    async def test_button_error_apologises_in_the_chat(self, bot):
        """When a button's handler fails after answering the query, the apology is a message."""
        bot.request.fail("sendMessage", 400, "Bad Request: boom")
        calls = await bot.press("contact")
        assert [c.method for c in calls] == ["answerCallbackQuery", "sendMessage", "sendMessage"]
        assert "抱歉" in calls[-1].text

    async def test_transient_errors_are_logged_only(self, make_app, caplog):
        """A user who blocked the bot (403) is logged, not reported and not apologised to."""
        bot = await make_app({"ADMIN_CHAT_ID": "-500"})
        bot.request.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
        with caplog.at_level(logging.ERROR):
            calls = await bot.send("/contact")
        assert "exception while handling an update" in caplog.text
        assert len(calls) == 1


class TestInline:
    async def test_inline_query_offers_item_cards(self, bot):
        """'@bot 污水' offers item 12's card as an article with a deep link button."""
        calls = await bot.inline("污水")
        results = calls[-1].params["results"]
        assert calls[-1].method == "answerInlineQuery"
        first = results[0]
        assert first["title"].startswith("12.")
        assert "第12项" in first["input_message_content"]["message_text"]
        assert first["reply_markup"]["inline_keyboard"][0][0]["url"].endswith("start=item_12")

    async def test_empty_inline_query_offers_popular_items(self, bot):
        """An empty inline query still offers a few items."""
        calls = await bot.inline("")
        assert len(calls[-1].params["results"]) >= 3

    async def test_inline_in_english(self, bot):
        """English users get English titles."""
        calls = await bot.inline("power", from_user=updates.user(language_code="en"))
        assert calls[-1].params["results"][0]["title"].startswith("13. ")
