"""Subscribing offline, the PTB way: every path through /subscribe, the item-card button, the
deep link, /subscriptions (remove, frequency), /unsubscribe, alert buttons, blocking the bot."""

from __future__ import annotations

from typing import Any

import pytest
from auxil import updates
from auxil.harness import BotHarness
from conftest import MakeApp

from knowledge.publish import LANGUAGE_NS

USER = updates.USER_ID


@pytest.fixture
async def bot(make_app: MakeApp) -> BotHarness:
    harness = await make_app()
    # These tests send no alerts: keep the background sender out of the record.
    await harness.services.extras["broadcaster"].stop()
    return harness


async def scopes(bot: BotHarness, user_id: int = USER) -> list[tuple[str, int | None]]:
    return [(s.scope, s.target) for s in await bot.services.store.list_subscriptions(user_id)]


def chat_member_update(bot: BotHarness, old: str, new: str, user_id: int = USER) -> Any:
    person = updates.user(user_id)
    def member(status: str) -> dict[str, Any]:
        data = {"status": status, "user": {"id": 1, "is_bot": True, "first_name": "bot"}}
        return data | ({"until_date": 0} if status == "kicked" else {})

    change = {
        "chat": updates.chat(user_id),
        "from": person,
        "date": 0,
        "old_chat_member": member(old),
        "new_chat_member": member(new),
    }
    return updates.make_update(bot.bot, my_chat_member=change)


class TestSubscribeCommand:
    async def test_menu_offers_all_area_item(self, bot: BotHarness) -> None:
        """/subscribe alone shows the three choices."""
        reply = await bot.reply_to("/subscribe")
        assert reply.callback_data == ["sub:all", "sub:areas", "sub:pick"]
        assert await scopes(bot) == []

    async def test_number_subscribes_to_item(self, bot: BotHarness) -> None:
        """/subscribe 12 follows item 12 and names it in the confirmation."""
        reply = await bot.reply_to("/subscribe 12")
        assert "第12项" in reply.text and "污水处理能力已趋于饱和" in reply.text
        assert await scopes(bot) == [("item", 12)]

    async def test_all_keyword(self, bot: BotHarness) -> None:
        """/subscribe all follows everything."""
        await bot.reply_to("/subscribe all")
        assert await scopes(bot) == [("all", None)]

    async def test_unknown_item_is_refused(self, bot: BotHarness) -> None:
        """/subscribe 99 says the notice has 52 items and subscribes to nothing."""
        reply = await bot.reply_to("/subscribe 99")
        assert "99" in reply.text and "52" in reply.text
        assert await scopes(bot) == []

    async def test_twice_is_said_once(self, bot: BotHarness) -> None:
        """Subscribing again to the same item says so and keeps one subscription."""
        await bot.reply_to("/subscribe 12")
        reply = await bot.reply_to("/subscribe 12")
        assert "已经订阅" in reply.text
        assert await scopes(bot) == [("item", 12)]

    async def test_english_user_gets_english(self, bot: BotHarness) -> None:
        """An English client gets the English confirmation and title, and that language is kept
        for alerts."""
        reply = await bot.reply_to("/subscribe 12", from_user=updates.user(language_code="en"))
        assert "Following: Item 12" in reply.text
        assert await bot.services.store.kv_get(LANGUAGE_NS, str(USER)) == "en"


class TestButtonsAndLinks:
    async def test_item_card_button(self, bot: BotHarness) -> None:
        """The card's sub:item:13 button follows item 13."""
        calls = await bot.press("sub:item:13")
        assert calls[0].method == "answerCallbackQuery"
        assert "第13项" in bot.replies(calls)[-1].text
        assert await scopes(bot) == [("item", 13)]

    async def test_start_all_button(self, bot: BotHarness) -> None:
        """The welcome's sub:all button follows all items."""
        await bot.press("sub:all")
        assert await scopes(bot) == [("all", None)]

    async def test_deep_link(self, bot: BotHarness) -> None:
        """/start sub_12 follows item 12."""
        reply = await bot.reply_to("/start sub_12")
        assert "第12项" in reply.text
        assert await scopes(bot) == [("item", 12)]

    async def test_area_path(self, bot: BotHarness) -> None:
        """Menu → one area lists the four areas; sub:area:2 follows area 2."""
        (edit,) = bot.replies(await bot.press("sub:areas"))
        assert edit.method == "editMessageText"
        assert edit.callback_data == ["sub:area:1", "sub:area:2", "sub:area:3", "sub:area:4",
                                      "sub:menu"]
        reply = bot.replies(await bot.press("sub:area:2"))[-1]
        assert "第2方面" in reply.text
        assert await scopes(bot) == [("area", 2)]

    async def test_item_path(self, bot: BotHarness) -> None:
        """Menu → one item → area 3 shows items 42–48 as number buttons."""
        (areas,) = bot.replies(await bot.press("sub:pick"))
        assert "sub:pick:3" in areas.callback_data
        (items,) = bot.replies(await bot.press("sub:pick:3"))
        assert [d for d in items.callback_data if d.startswith("sub:item:")] == [
            f"sub:item:{n}" for n in range(42, 49)
        ]
        assert "42." in items.text
        await bot.press("sub:item:45")
        assert await scopes(bot) == [("item", 45)]

    async def test_covered_by_all(self, bot: BotHarness) -> None:
        """Adding an item when following all says it was already included."""
        await bot.press("sub:all")
        reply = bot.replies(await bot.press("sub:item:12"))[-1]
        assert "已订阅全部事项" in reply.text


class TestManaging:
    async def test_list_with_remove_buttons(self, bot: BotHarness) -> None:
        """/subscriptions lists each subscription with its own remove button and the frequency."""
        await bot.reply_to("/subscribe 12")
        await bot.reply_to("/subscribe all")
        subs = await bot.services.store.list_subscriptions(USER)
        reply = await bot.reply_to("/subscriptions")
        assert "第12项" in reply.text and "全部事项" in reply.text and "立即" in reply.text
        assert [f"sub:rm:{s.id}" for s in subs] == reply.callback_data[:2]
        assert "sub:freq:weekly" in reply.callback_data

    async def test_remove_one(self, bot: BotHarness) -> None:
        """A remove button drops that subscription and redraws the list."""
        await bot.reply_to("/subscribe 12")
        await bot.reply_to("/subscribe 13")
        first = (await bot.services.store.list_subscriptions(USER))[0]
        (edit,) = bot.replies(await bot.press(f"sub:rm:{first.id}"))
        assert "第12项" not in edit.text and "第13项" in edit.text
        assert await scopes(bot) == [("item", 13)]

    async def test_weekly_digest_choice(self, bot: BotHarness) -> None:
        """The weekly button switches the user to the digest and says when it comes."""
        await bot.reply_to("/subscribe 12")
        (edit,) = bot.replies(await bot.press("sub:freq:weekly"))
        assert "每周汇总" in edit.text and "09:00" in edit.text
        user = await bot.services.store.get_user(USER)
        assert user is not None and user.frequency == "weekly"

    async def test_empty_list(self, bot: BotHarness) -> None:
        """With nothing followed, /subscriptions says so and offers to add."""
        reply = await bot.reply_to("/subscriptions")
        assert "还没有订阅" in reply.text and reply.callback_data == ["sub:menu"]

    async def test_unsubscribe_all_after_confirm(self, bot: BotHarness) -> None:
        """/unsubscribe asks first; only 'yes' removes everything."""
        await bot.reply_to("/subscribe 12")
        await bot.reply_to("/subscribe all")
        ask = await bot.reply_to("/unsubscribe")
        assert ask.callback_data == ["sub:unsuball:yes", "sub:unsuball:no"]
        await bot.press("sub:unsuball:no")
        assert len(await scopes(bot)) == 2
        await bot.press("sub:unsuball:yes")
        assert await scopes(bot) == []

    async def test_unsubscribe_with_nothing(self, bot: BotHarness) -> None:
        """/unsubscribe without subscriptions just says so."""
        reply = await bot.reply_to("/unsubscribe")
        assert "没有订阅" in reply.text and not reply.callback_data


class TestAlertButtons:
    async def test_unsub_button_removes_that_subscription(self, bot: BotHarness) -> None:
        """unsub:ID under an alert removes exactly that subscription and confirms it."""
        await bot.reply_to("/subscribe 12")
        await bot.reply_to("/subscribe 20")
        first = (await bot.services.store.list_subscriptions(USER))[0]
        calls = await bot.press(f"unsub:{first.id}")
        assert "第12项" in bot.replies(calls)[0].text
        assert await scopes(bot) == [("item", 20)]

    async def test_someone_elses_subscription_is_untouched(self, bot: BotHarness) -> None:
        """A forged unsub:ID of another user's subscription removes nothing."""
        await bot.reply_to("/subscribe 12", from_user=updates.user(555))
        (theirs,) = await bot.services.store.list_subscriptions(555)
        calls = await bot.press(f"unsub:{theirs.id}")
        assert calls[0].method == "answerCallbackQuery" and calls[0].params.get("show_alert")
        assert await scopes(bot, 555) == [("item", 12)]

    async def test_manage_button_shows_the_list(self, bot: BotHarness) -> None:
        """sub:list under an alert sends the subscriptions list."""
        await bot.reply_to("/subscribe 12")
        reply = bot.replies(await bot.press("sub:list"))[-1]
        assert "你的订阅" in reply.text


class TestMembership:
    async def test_block_and_unblock(self, bot: BotHarness) -> None:
        """Blocking the bot marks the user inactive; unblocking makes them active again."""
        await bot.reply_to("/subscribe 12")
        await bot.process(chat_member_update(bot, "member", "kicked"))
        user = await bot.services.store.get_user(USER)
        assert user is not None and not user.active
        assert await bot.services.store.all_subscriptions() == []
        await bot.process(chat_member_update(bot, "kicked", "member"))
        user = await bot.services.store.get_user(USER)
        assert user is not None and user.active
