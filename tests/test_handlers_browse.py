"""/browse, /progress, /item, /contact and their buttons."""

from __future__ import annotations

from auxil import updates


class TestBrowse:
    async def test_browse_lists_the_four_areas(self, bot):
        """/browse offers one button per area with its item count."""
        call = await bot.reply_to("/browse")
        assert call.callback_data == [f"browse:area:{a}:0" for a in (1, 2, 3, 4)]
        assert "23" in call.buttons[0][0]

    async def test_menu_button_sends_the_list(self, bot):
        """The welcome's browse button sends the area list as a new message."""
        calls = await bot.press("browse:open")
        assert calls[0].method == "answerCallbackQuery"
        assert bot.request.last("sendMessage").callback_data[0] == "browse:area:1:0"

    async def test_area_page_edits_the_same_message(self, bot):
        """An area button edits the message to its first page: 8 items, next, back."""
        calls = await bot.press("browse:area:1:0")
        edit = bot.request.last("editMessageText")
        assert [c.method for c in calls] == ["answerCallbackQuery", "editMessageText"]
        items = [d for d in edit.callback_data if d.startswith("browse:item:")]
        assert items == [f"browse:item:{n}:0" for n in range(1, 9)]
        assert "browse:area:1:1" in edit.callback_data  # next page
        assert edit.callback_data[-1] == "browse:areas"
        assert "1/3" in edit.text

    async def test_last_page_has_previous_but_no_next(self, bot):
        """The last page of area 1 (items 17–23) links back but not forward."""
        await bot.press("browse:area:1:2")
        data = bot.request.last("editMessageText").callback_data
        assert "browse:item:23:2" in data and "browse:area:1:1" in data
        assert "browse:area:1:3" not in data

    async def test_item_from_browse_has_a_back_button(self, bot):
        """An item opened from a page shows its card with a button back to that page."""
        await bot.press("browse:item:12:1")
        edit = bot.request.last("editMessageText")
        assert "第12项" in edit.text
        assert edit.callback_data[-1] == "browse:area:1:1"
        assert "sub:item:12" in edit.callback_data

    async def test_back_to_all_areas(self, bot):
        """'All areas' edits back to the area list."""
        await bot.press("browse:areas")
        assert bot.request.last("editMessageText").callback_data[0] == "browse:area:1:0"

    async def test_out_of_range_area_is_an_expired_button(self, bot):
        """A forged area or item number gets the expired alert, not an exception."""
        for data in ("browse:area:9:0", "browse:item:999:0", "browse:bogus"):
            calls = await bot.press(data)
            assert [c.method for c in calls] == ["answerCallbackQuery"], data
            assert "过期" in calls[0].params["text"]

    async def test_page_beyond_the_end_shows_the_last_page(self, bot):
        """A page number past the end is clamped to the last page."""
        await bot.press("browse:area:4:7")
        assert "1/1" in bot.request.last("editMessageText").text

    async def test_unchanged_edit_is_not_an_error(self, bot):
        """Telegram's 'message is not modified' (double tap) is swallowed."""
        bot.request.fail("editMessageText", 400, "Bad Request: message is not modified")
        calls = await bot.press("browse:areas")
        assert [c.method for c in calls] == ["answerCallbackQuery", "editMessageText"]


class TestProgress:
    async def test_progress_counts_and_bars(self, bot):
        """/progress shows overall and per-area counts with text bars and area buttons."""
        call = await bot.reply_to("/progress")
        assert "31/52" in call.text and "60%" in call.text
        assert "已完成 31 · 推进中 11 · 长期坚持 10" in call.text
        assert "<code>▓▓▓▓▓▓░░░░</code>" in call.text
        assert call.callback_data == [f"browse:area:{a}:0" for a in (1, 2, 3, 4)]

    async def test_progress_button(self, bot):
        """The welcome's progress button sends the same overview, in English for en users."""
        await bot.press("progress", from_user=updates.user(language_code="en"))
        assert "completed 31" in bot.request.last("sendMessage").text


class TestItemCommand:
    async def test_item_command(self, bot):
        """/item 12 shows item 12's card."""
        call = await bot.reply_to("/item 12")
        assert "第12项" in call.text

    async def test_item_command_accepts_fullwidth_and_words(self, bot):
        """/item 第１２项 is understood too."""
        call = await bot.reply_to("/item 第１２项")
        assert "第12项" in call.text

    async def test_missing_item_says_which_exist(self, bot):
        """/item 99 says the notice has items 1–52."""
        call = await bot.reply_to("/item 99")
        assert "1–52" in call.text

    async def test_item_without_number_explains_usage(self, bot):
        """/item alone (or with words) explains the usage."""
        for text in ("/item", "/item abc"):
            call = await bot.reply_to(text)
            assert "/item 12" in call.text

    async def test_item_button_sends_a_card(self, bot):
        """An item:N button answers the query and sends the card."""
        calls = await bot.press("item:13")
        assert calls[0].method == "answerCallbackQuery"
        assert "第13项" in bot.request.last("sendMessage").text

    async def test_item_button_for_a_missing_item(self, bot):
        """An item:N button for a number that no longer exists says so."""
        await bot.press("item:999")
        assert "没有第 999 项" in bot.request.last("sendMessage").text

    async def test_english_card_for_every_item_fits(self, make_app):
        """Every item's card, zh and en, fits one message and has its status badge."""
        bot = await make_app({"USER_BURST": "1000"})
        for lang in ("zh", "en"):
            for n in range(1, 53):
                call = await bot.reply_to(f"/item {n}", from_user=updates.user(language_code=lang))
                assert len(call.text) <= 4096
                assert any(b in call.text for b in ("✅", "🔄", "♾️"))


class TestContact:
    async def test_contact_command(self, bot):
        """/contact lists the published channels and the feedback button."""
        call = await bot.reply_to("/contact")
        assert "028-38183651" in call.text and "631755679@qq.com" in call.text
        assert call.callback_data == ["fb:new"]

    async def test_none_of_these_button_shows_contact(self, bot):
        """The 'none of these' (contact) button sends the channels."""
        await bot.press("contact")
        assert "眉山市东坡区金园东路10号" in bot.request.last("sendMessage").text
