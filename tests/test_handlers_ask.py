"""Free-text questions: every decision kind, in zh and en, escaping, long input, edits, groups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from auxil import updates

EN = updates.user(language_code="en")
GROUP = updates.chat(updates.GROUP_ID, "supergroup")


class TestItemAnswers:
    async def test_chinese_question_gets_the_item_card(self, bot):
        """A Chinese question about the wastewater plant gets item 12's card with its status."""
        call = await bot.reply_to("污水处理厂扩建了吗")
        assert "<b>第12项 · 污水处理能力已趋于饱和</b>" in call.text
        assert "推进中" in call.text
        assert "园区污水处理厂三期项目已开工建设" in call.text
        assert "2025年5月28日" in call.text
        assert call.params["parse_mode"] == "HTML"

    async def test_card_buttons_carry_the_item_number(self, bot):
        """The card offers related items, subscribe and feedback for THIS item."""
        call = await bot.reply_to("污水处理厂扩建了吗")
        data = call.callback_data
        assert "sub:item:12" in data and "fb:new:12" in data
        related = [d for d in data if d.startswith("item:")]
        assert 1 <= len(related) <= 3 and "item:12" not in related

    async def test_english_question_gets_summary_and_chinese_words(self, bot):
        """An English question gets the English summary AND the notice's Chinese words."""
        call = await bot.reply_to("What about power lines?", from_user=EN)
        assert "Item 13" in call.text and "In progress" in call.text
        assert "110KV" in call.text  # in the summary
        assert "已完成110KV爱化线接入工作" in call.text  # the notice's own words
        assert "28 May 2025" in call.text


class TestOtherDecisions:
    async def test_ambiguous_offers_three_items_and_none_of_these(self, bot):
        """A vague question offers up to 3 item buttons plus 'none of these' (contact)."""
        call = await bot.reply_to("招标")
        data = call.callback_data
        assert data[-1] == "contact"
        assert 1 <= len(data) - 1 <= 3 and all(d.startswith("item:") for d in data[:-1])

    async def test_contact_question_gets_the_channels(self, bot):
        """'电话多少' gets the phone, post address and email from the notice, and /feedback."""
        call = await bot.reply_to("你们电话多少")
        for channel in (
            "028-38183651",
            "眉山市东坡区金园东路10号",
            "631755679@qq.com",
            "/feedback",
        ):
            assert channel in call.text

    async def test_meta_count_gives_counts_by_status(self, bot):
        """'一共几个问题' gets 52 and the counts by status."""
        call = await bot.reply_to("一共有几个问题")
        assert "52" in call.text and "已完成 31 项" in call.text

    async def test_meta_inspection_names_group_and_period(self, bot):
        """A question about who inspected names the group and the period."""
        call = await bot.reply_to("是谁巡察的")
        assert "市委第三巡察组" in call.text and "2024年3月26日" in call.text

    async def test_none_is_honest_and_gives_channels_and_a_hint(self, bot):
        """An unrelated question gets 'not covered', the channels and one hint."""
        call = await bot.reply_to("今天天气怎么样")
        assert "没有涉及" in call.text
        assert "028-38183651" in call.text
        assert "/browse" in call.text

    async def test_a_detail_the_notice_does_not_give_points_to_its_item(self, bot):
        """Asked for a figure the notice does not give about an item, the bot says so, points
        to that item with a button, and gives the channels; it does not show the card."""
        call = await bot.reply_to("污水处理厂三期总投资多少")
        assert "第12项" in call.text and "没有说到" in call.text
        assert "028-38183651" in call.text
        assert "园区污水处理厂三期项目已开工建设" not in call.text
        assert call.callback_data[0] == "item:12"
        english = await bot.reply_to("How much did the sewage plant expansion cost?", from_user=EN)
        assert "item 12" in english.text and "not of what you asked" in english.text

    async def test_none_in_english(self, bot):
        """An unrelated English question gets the English 'not covered' answer."""
        call = await bot.reply_to("Who won the football match yesterday?", from_user=EN)
        assert "does not cover" in call.text


class TestUnansweredRecording:
    async def test_none_and_ambiguous_are_recorded_items_are_not(self, bot):
        """Unanswered (none, ambiguous) questions are stored for staff; answered ones are not."""
        await bot.send("今天天气怎么样")
        await bot.send("招标")
        await bot.send("污水处理厂扩建了吗")
        since = datetime.now(UTC) - timedelta(days=1)
        stored = await bot.services.store.top_unanswered(since, 10)
        assert {q.kind for q in stored} == {"none", "ambiguous"}
        assert len(stored) == 2


class TestBadInput:
    async def test_html_in_question_is_escaped(self, bot):
        """A question with HTML is quoted back escaped, never as markup."""
        call = await bot.reply_to("今天天气<b>x</b>&")
        assert "&lt;b&gt;x&lt;/b&gt;&amp;" in call.text
        assert "<b>x</b>" not in call.text

    async def test_very_long_message_is_answered_within_limits(self, bot):
        """A 5000-character message is answered, and no reply exceeds 4096 characters."""
        calls = await bot.send("污水" * 2500)
        replies = bot.replies(calls)
        assert replies
        assert all(len(c.text) <= 4096 for c in replies)

    async def test_long_unanswerable_message_is_trimmed_in_the_quote(self, bot):
        """A long unrelated message is quoted back trimmed (with …), not in full."""
        call = await bot.reply_to("天气" * 3000)
        assert "…" in call.text and len(call.text) < 4096


class TestEditsAndGroups:
    async def test_edited_question_is_answered_again(self, bot):
        """An edited question gets a new answer, marked as such, replying to the edit."""
        call = await bot.reply_to("污水处理厂扩建了吗", edited=True)
        assert "修改了问题" in call.text and "第12项" in call.text
        assert "reply_parameters" in call.params

    async def test_group_message_without_mention_is_ignored(self, bot):
        """In a group, the bot stays quiet unless it is addressed."""
        calls = await bot.send("污水处理厂扩建了吗", in_chat=GROUP)
        assert bot.replies(calls) == []

    async def test_group_mention_is_answered_as_a_reply(self, bot):
        """In a group, '@bot question' is answered, quoting the question."""
        text = "@rectification_bot 污水处理厂扩建了吗"
        call = await bot.reply_to(text, in_chat=GROUP, entities=updates.mention_entities(text))
        assert "第12项" in call.text
        assert call.params["chat_id"] == updates.GROUP_ID
        assert "reply_parameters" in call.params

    async def test_group_reply_to_the_bot_is_answered(self, bot):
        """In a group, replying to one of the bot's messages counts as addressing it."""
        earlier = updates.message("earlier", from_user=updates.BOT_USER, in_chat=GROUP)
        call = await bot.reply_to("电力设施呢", in_chat=GROUP, reply_to_message=earlier)
        assert "第13项" in call.text

    async def test_group_command_is_answered(self, bot):
        """Commands work in groups, also with the @bot suffix."""
        call = await bot.reply_to("/item@rectification_bot 12", in_chat=GROUP)
        assert "第12项" in call.text
