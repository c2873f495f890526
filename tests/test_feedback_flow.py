"""The /feedback conversation offline: every step, edit, cancel, timeout, limits, stale buttons,
escaping, and what is committed (the feedback and its queued deliveries) on confirm."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from auxil import updates
from auxil.feedback_bot import WASTEWATER, fill_form, last_reply
from auxil.harness import STAFF_ID, BotHarness

from handlers.feedback import DRAFT_KEY, stop_outbox

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBUserWarning")

OTHER_USER = 5151
MakeApp = Callable[..., Awaitable[BotHarness]]
QUICK = {"USER_BURST": "1000"}  # a test types faster than flood control lets a person
REFERENCE = re.compile(r"MS-\d{8}-\d{4}")


@pytest.fixture
async def bot(make_app: MakeApp) -> BotHarness:
    """The bot (no SMTP, no staff chat) with its outbox worker stopped."""
    harness = await make_app(QUICK)
    await stop_outbox(harness.application)
    return harness


@pytest.fixture
async def mailing_bot(make_app: MakeApp) -> BotHarness:
    """The bot with SMTP and a staff chat configured (the worker stopped: nothing is sent)."""
    harness = await make_app(
        QUICK | {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": "1", "STAFF_CHAT_ID": "-100"}
    )
    await stop_outbox(harness.application)
    return harness


def draft(bot: BotHarness, user_id: int = updates.USER_ID) -> dict | None:  # type: ignore[type-arg]
    return bot.application.user_data[user_id].get(DRAFT_KEY)


class TestSteps:
    async def test_feedback_asks_for_the_kind(self, bot: BotHarness) -> None:
        """/feedback names the destination address and offers the three kinds and cancel."""
        reply = await bot.reply_to("/feedback")
        assert "631755679@qq.com" in reply.text
        assert reply.callback_data == [
            "fb:kind:suggestion", "fb:kind:complaint", "fb:kind:other", "fb:cancel",
        ]  # fmt: skip

    async def test_kind_then_text_prompt(self, bot: BotHarness) -> None:
        """Choosing a kind asks for the text with its length limits."""
        await bot.send("/feedback")
        reply = last_reply(await bot.press("fb:kind:complaint"))
        assert "投诉举报" in reply.text and "10–2000" in reply.text
        assert draft(bot)["kind"] == "complaint"  # type: ignore[index]

    async def test_text_offers_matching_items(self, bot: BotHarness) -> None:
        """The item step suggests the wastewater item (12) from the citizen's own words."""
        await bot.send("/feedback")
        await bot.press("fb:kind:suggestion")
        reply = last_reply(await bot.send(WASTEWATER))
        assert "fb:item:12" in reply.callback_data and "fb:item:0" in reply.callback_data

    async def test_typed_item_number_is_accepted(self, bot: BotHarness) -> None:
        """Typing 第13项 at the item step chooses item 13 and moves to the contact step."""
        await bot.send("/feedback")
        await bot.press("fb:kind:suggestion")
        await bot.send(WASTEWATER)
        reply = await bot.reply_to("第13项")
        assert "fb:anon" in reply.callback_data
        assert draft(bot)["item"] == 13  # type: ignore[index]

    async def test_unknown_item_number_is_asked_again(self, bot: BotHarness) -> None:
        """A number the notice does not have is refused and the item question repeated."""
        await bot.send("/feedback")
        await bot.press("fb:kind:suggestion")
        await bot.send(WASTEWATER)
        reply = await bot.reply_to("99")
        assert "没有第 99 项" in reply.text and "fb:item:0" in reply.callback_data

    async def test_contact_details_go_into_the_preview(self, bot: BotHarness) -> None:
        """A name and phone typed at the contact step appear in the preview."""
        preview = await fill_form(bot, contact="王女士 138-0000-1234")
        assert "姓名 王女士" in preview.text and "电话 138-0000-1234" in preview.text

    async def test_unreadable_contact_is_asked_again(self, bot: BotHarness) -> None:
        """Something that is neither a name nor a phone gets an explanation, not a preview."""
        await bot.send("/feedback")
        await bot.press("fb:kind:other")
        await bot.send(WASTEWATER)
        await bot.press("fb:item:0")
        reply = await bot.reply_to("12345")
        assert "没有看懂" in reply.text and "fb:confirm" not in reply.callback_data

    async def test_preview_shows_what_and_where(self, bot: BotHarness) -> None:
        """The preview shows kind, item, anonymity, the text and the channels."""
        preview = await fill_form(bot, item=12)
        for part in ("意见建议", "第12项", "匿名", WASTEWATER, "028-38183651", "金园东路10号"):
            assert part in preview.text
        assert preview.callback_data == ["fb:confirm", "fb:edit", "fb:cancel"]

    async def test_item_card_button_prefills_and_skips_the_item_step(self, bot: BotHarness) -> None:
        """fb:new:12 shows the item in the first step and goes from text straight to contact."""
        first = last_reply(await bot.press("fb:new:12"))
        assert "第 12 项" in first.text
        await bot.press("fb:kind:suggestion")
        reply = last_reply(await bot.send(WASTEWATER))
        assert "fb:anon" in reply.callback_data
        preview = last_reply(await bot.press("fb:anon"))
        assert "第12项" in preview.text

    async def test_english_user_gets_english(self, bot: BotHarness) -> None:
        """A user whose Telegram language is English is asked in English."""
        reply = await bot.reply_to("/feedback", from_user=updates.user(language_code="en"))
        assert "Step 1" in reply.text


class TestConfirm:
    async def test_confirm_commits_then_gives_the_reference(self, mailing_bot: BotHarness) -> None:
        """Confirm stores the feedback with an email and a staff-copy row, then replies with
        the reference and a plain 'what happens next' that promises no reply."""
        await fill_form(mailing_bot, item=12)
        reply = last_reply(await mailing_bot.press("fb:confirm"))
        reference = REFERENCE.search(reply.text).group()  # type: ignore[union-attr]
        store = mailing_bot.services.store
        stored = await store.get_feedback(reference)
        assert stored is not None and stored.state == "received" and stored.item == 12
        email = await store.outbox_by_key(f"email:{reference}")
        staff = await store.outbox_by_key(f"staff_copy:{reference}")
        assert email is not None and email.state == "pending"
        assert staff is not None and staff.payload["chat_id"] == -100
        assert "不承诺答复" in reply.text and "匿名" in reply.text
        assert draft(mailing_bot) is None

    async def test_without_smtp_it_is_stored_and_alternatives_shown(self, bot: BotHarness) -> None:
        """With no SMTP the feedback is 'stored', nothing is queued, phone and post are shown."""
        await fill_form(bot)
        reply = last_reply(await bot.press("fb:confirm"))
        reference = REFERENCE.search(reply.text).group()  # type: ignore[union-attr]
        assert "028-38183651" in reply.text and "金园东路10号" in reply.text
        assert (await bot.services.store.get_feedback(reference)).state == "stored"  # type: ignore[union-attr]
        assert sum((await bot.services.store.outbox_counts()).values()) == 0

    async def test_confirm_removes_the_preview_buttons(self, bot: BotHarness) -> None:
        """The preview stays as a record of what was sent, without its buttons."""
        await fill_form(bot)
        calls = await bot.press("fb:confirm")
        assert any(c.method == "editMessageReplyMarkup" for c in calls)

    async def test_myfeedback_lists_only_ones_own(self, bot: BotHarness) -> None:
        """/myfeedback shows the citizen's reference and state; another citizen sees nothing."""
        await fill_form(bot, contact="张先生 13800000000")
        reference = REFERENCE.search(last_reply(await bot.press("fb:confirm")).text).group()  # type: ignore[union-attr]
        mine = await bot.reply_to("/myfeedback")
        assert reference in mine.text and "已保存" in mine.text
        other = await bot.reply_to("/myfeedback", from_user=updates.user(OTHER_USER))
        assert reference not in other.text and "13800000000" not in other.text
        assert "还没有" in other.text


class TestEditAndCancel:
    async def test_edit_text_returns_to_the_preview(self, bot: BotHarness) -> None:
        """Edit → text → a new text goes straight back to the preview, with the new text."""
        await fill_form(bot)
        menu = last_reply(await bot.press("fb:edit"))
        assert set(menu.callback_data) >= {
            "fb:edit:kind",
            "fb:edit:text",
            "fb:edit:item",
            "fb:edit:contact",
        }
        await bot.press("fb:edit:text")
        preview = await bot.reply_to("改一下：污水处理厂雨天外溢的问题请尽快解决。")
        assert "fb:confirm" in preview.callback_data and "改一下" in preview.text

    async def test_edit_kind_returns_to_the_preview(self, bot: BotHarness) -> None:
        """Edit → kind → another kind shows the preview with it."""
        await fill_form(bot)
        await bot.press("fb:edit:kind")
        preview = last_reply(await bot.press("fb:kind:complaint"))
        assert "投诉举报" in preview.text and "fb:confirm" in preview.callback_data

    @pytest.mark.parametrize(
        "steps", [0, 1, 2, 3, 4], ids=["kind", "text", "item", "contact", "preview"]
    )
    async def test_cancel_works_at_every_step(self, bot: BotHarness, steps: int) -> None:
        """/cancel at any step drops the draft and ends the form; free text then is a question."""
        script = ["/feedback", "fb:kind:other", WASTEWATER, "fb:item:0", "fb:anon"]
        for action in script[: steps + 1]:
            await (bot.press(action) if action.startswith("fb:") else bot.send(action))
        reply = await bot.reply_to("/cancel")
        assert "已取消" in reply.text and draft(bot) is None
        after = await bot.send("污水处理厂扩建了吗")
        assert all("第 2 步" not in c.text for c in after)

    async def test_cancel_button(self, bot: BotHarness) -> None:
        """The cancel button ends the form too."""
        await bot.send("/feedback")
        reply = last_reply(await bot.press("fb:cancel"))
        assert "已取消" in reply.text


class TestLimits:
    async def test_too_short_and_too_long_texts(self, bot: BotHarness) -> None:
        """Under 10 or over 2000 characters is refused with the length; the step stays."""
        await bot.send("/feedback")
        await bot.press("fb:kind:suggestion")
        assert "至少写 10" in (await bot.reply_to("太短了")).text
        assert "最多 2000" in (await bot.reply_to("长" * 2001)).text
        assert draft(bot)["text"] is None  # type: ignore[index]

    async def test_identical_text_within_a_day_is_refused_kindly(self, bot: BotHarness) -> None:
        """Sending the same text again the same day is refused at the text step."""
        await fill_form(bot)
        await bot.press("fb:confirm")
        await bot.send("/feedback")
        await bot.press("fb:kind:suggestion")
        reply = await bot.reply_to(WASTEWATER)
        assert "完全相同" in reply.text and "/myfeedback" in reply.text

    async def test_daily_limit(self, make_app: MakeApp) -> None:
        """After FEEDBACK_DAILY_LIMIT opinions, /feedback says so and does not open the form."""
        bot = await make_app(QUICK | {"FEEDBACK_DAILY_LIMIT": "1"})
        await stop_outbox(bot.application)
        await fill_form(bot)
        await bot.press("fb:confirm")
        reply = await bot.reply_to("/feedback")
        assert "最多通过机器人提交 1 条" in reply.text and not reply.callback_data


class TestFilesAndOddInput:
    async def test_photo_with_caption_is_text_and_attachment(self, bot: BotHarness) -> None:
        """A photo whose caption is the opinion keeps the photo and moves on."""
        from auxil.feedback_bot import photo_update

        await bot.send("/feedback")
        await bot.press("fb:kind:complaint")
        calls = await bot.process(photo_update(bot.bot, "PHOTO1", caption=WASTEWATER))
        assert "fb:item:0" in last_reply(calls).callback_data
        assert draft(bot)["attachments"][0]["file_id"] == "PHOTO1"  # type: ignore[index]

    async def test_photo_without_caption_asks_for_words(self, bot: BotHarness) -> None:
        """A bare photo is kept and the text is still asked for."""
        from auxil.feedback_bot import photo_update

        await bot.send("/feedback")
        await bot.press("fb:kind:complaint")
        calls = await bot.process(photo_update(bot.bot, "PHOTO1"))
        assert "已添加附件（共 1 个）" in last_reply(calls).text
        assert len(draft(bot)["attachments"]) == 1  # type: ignore[index]

    async def test_too_big_document_is_refused(self, bot: BotHarness) -> None:
        """A document over 20 MB is not kept and the citizen is pointed to the email."""
        from auxil.feedback_bot import document_update

        await bot.send("/feedback")
        await bot.press("fb:kind:complaint")
        calls = await bot.process(document_update(bot.bot, "BIG", "video.mp4", size=30_000_000))
        assert "20 MB" in last_reply(calls).text and draft(bot)["attachments"] == []  # type: ignore[index]

    async def test_text_at_a_button_step_repeats_the_question(self, bot: BotHarness) -> None:
        """Typing at the kind step repeats the kind question instead of answering a question."""
        await bot.send("/feedback")
        reply = await bot.reply_to("随便说点什么")
        assert "请点上面的按钮" in reply.text and "fb:kind:other" in reply.callback_data

    async def test_user_html_is_escaped(self, bot: BotHarness) -> None:
        """Markup in the citizen's text and name is shown literally in the preview."""
        preview = await fill_form(
            bot,
            text="<b>路灯</b> & <script>坏了</script>很久没人修",
            contact="<i>李</i> 13900000000",
        )
        assert "&lt;b&gt;路灯&lt;/b&gt; &amp; &lt;script&gt;" in preview.text
        assert "&lt;i&gt;李&lt;/i&gt;" in preview.text and "<script>" not in preview.text


class TestStaleAndGroups:
    async def test_stale_button_outside_the_form(self, bot: BotHarness) -> None:
        """A form button pressed after the form ended gets a clear alert and loses its keyboard."""
        calls = await bot.press("fb:confirm")
        answer = next(c for c in calls if c.method == "answerCallbackQuery")
        assert answer.params.get("show_alert") is True and "/feedback" in answer.params["text"]
        assert any(c.method == "editMessageReplyMarkup" for c in calls)

    async def test_old_button_inside_the_form_repeats_the_step(self, bot: BotHarness) -> None:
        """A kind button pressed at the text step is answered as expired and the step repeated."""
        await bot.send("/feedback")
        await bot.press("fb:kind:suggestion")
        calls = await bot.press("fb:item:3")
        assert any(
            c.method == "answerCallbackQuery" and "过期" in c.params.get("text", "") for c in calls
        )
        assert "第 2 步" in last_reply(calls).text

    async def test_feedback_in_a_group_points_to_a_private_chat(self, bot: BotHarness) -> None:
        """/feedback in a group does not open the form there."""
        group = updates.chat(updates.GROUP_ID, "group")
        reply = await bot.reply_to("/feedback", in_chat=group)
        assert "私聊" in reply.text and not reply.callback_data


class TestTimeoutAndResume:
    async def test_idle_form_keeps_the_draft_and_resumes(self, make_app: MakeApp) -> None:
        """After the timeout the citizen is told the draft is kept; /feedback offers to
        continue, and continuing asks the step where they stopped."""
        bot = await make_app(QUICK | {"FEEDBACK_TIMEOUT": "0.3"})
        await bot.send("/feedback")
        await bot.press("fb:kind:complaint")
        await asyncio.sleep(0.8)
        assert any("草稿已为您保存" in t for t in bot.request.sent_texts())
        offer = await bot.reply_to("/feedback")
        assert offer.callback_data == ["fb:resume", "fb:restart", "fb:cancel"]
        resumed = last_reply(await bot.press("fb:resume"))
        assert "第 2 步" in resumed.text and "投诉举报" in resumed.text

    async def test_restart_throws_the_draft_away(self, bot: BotHarness) -> None:
        """Start again from the draft offer gives an empty draft at the kind step."""
        await bot.send("/feedback")
        await bot.press("fb:kind:complaint")
        await bot.send(WASTEWATER)
        await bot.send("/feedback")
        reply = last_reply(await bot.press("fb:restart"))
        assert "fb:kind:other" in reply.callback_data and draft(bot)["text"] is None  # type: ignore[index]


class TestStaffCommands:
    async def test_export_sends_a_csv_to_staff(
        self, bot: BotHarness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """/feedback_export from staff uploads a CSV document starting with the UTF-8 BOM."""
        uploads: list[tuple[str, bytes, str]] = []
        record = bot.request.do_request

        async def keep_uploads(url: str, method: str, *a: Any, **kw: Any) -> Any:
            data = kw.get("request_data") or (a[0] if a else None)
            if data is not None and data.multipart_data:
                uploads.extend(data.multipart_data.values())
            return await record(url, method, *a, **kw)

        monkeypatch.setattr(bot.request, "do_request", keep_uploads)
        await fill_form(bot)
        await bot.press("fb:confirm")
        calls = await bot.send("/feedback_export", from_user=updates.user(STAFF_ID))
        assert any(c.method == "sendDocument" and "1 条" in c.params["caption"] for c in calls)
        ((name, content, _),) = uploads
        assert name.endswith(".csv") and content.startswith("\ufeff".encode())
        assert WASTEWATER.encode() in content

    async def test_export_is_refused_and_logged_for_citizens(
        self, bot: BotHarness, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A citizen asking for the export is refused and the attempt logged."""
        with caplog.at_level(logging.WARNING, logger="handlers.feedback"):
            reply = await bot.reply_to("/feedback_export")
        assert "工作人员" in reply.text
        assert f"user {updates.USER_ID} was refused" in caplog.text
