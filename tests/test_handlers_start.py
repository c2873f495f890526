"""/start (welcome, menu, deep links), /help, /lang and unknown commands."""

from __future__ import annotations

from auxil import updates


class TestStart:
    async def test_welcome_names_notice_date_and_issuer(self, bot):
        """/start names the notice, its date and issuer, in HTML, with the main menu."""
        call = await bot.reply_to("/start")
        assert "2025年5月28日" in call.text
        assert "中共眉山高新技术产业园区工作委员会" in call.text
        assert "52" in call.text
        assert call.params["parse_mode"] == "HTML"
        assert call.callback_data == ["browse:open", "progress", "contact", "fb:new", "sub:all"]

    async def test_welcome_in_english_for_english_clients(self, bot):
        """A user whose Telegram is in English is welcomed in English."""
        call = await bot.reply_to("/start", from_user=updates.user(language_code="en-GB"))
        assert "28 May 2025" in call.text
        assert call.buttons[0][0].endswith("Browse by area")

    async def test_start_remembers_the_user(self, bot):
        """/start records the user and chat in the store (alerts need somewhere to write)."""
        await bot.send("/start")
        stored = await bot.services.store.get_user(updates.USER_ID)
        assert stored is not None and stored.chat_id == updates.USER_ID

    async def test_deep_link_opens_item(self, bot):
        """/start item_12 shows item 12's card instead of the welcome."""
        call = await bot.reply_to("/start item_12")
        assert "第12项" in call.text and "污水处理能力已趋于饱和" in call.text

    async def test_unknown_deep_link_falls_back_to_welcome(self, bot):
        """An unknown /start payload still gets the welcome."""
        call = await bot.reply_to("/start nonsense_1")
        assert "您好" in call.text

    async def test_help_lists_commands(self, bot):
        """/help lists the commands and the inline-mode hint with the bot's username."""
        call = await bot.reply_to("/help")
        for command in ("/browse", "/progress", "/item 12", "/contact", "/lang"):
            assert command in call.text
        assert "@rectification_bot" in call.text


class TestLanguage:
    async def test_lang_offers_two_buttons(self, bot):
        """/lang without an argument asks with 中文 / English buttons."""
        call = await bot.reply_to("/lang")
        assert call.callback_data == ["lang:zh", "lang:en"]

    async def test_button_switches_and_persists(self, bot):
        """Pressing English stores the choice; later answers are in English."""
        calls = await bot.press("lang:en")
        assert bot.request.last("editMessageText").text == "Language set to English."
        assert any(c.method == "answerCallbackQuery" for c in calls)
        stored = await bot.services.store.get_user(updates.USER_ID)
        assert stored is not None and stored.language == "en"
        call = await bot.reply_to("/progress")
        assert "Progress" in call.text

    async def test_choice_beats_the_question_language(self, bot):
        """After /lang zh an English question is answered in Chinese."""
        await bot.send("/lang zh", from_user=updates.user(language_code="en"))
        call = await bot.reply_to(
            "What about power lines?", from_user=updates.user(language_code="en")
        )
        assert "第13项" in call.text

    async def test_choice_survives_a_cold_cache(self, bot):
        """The choice is read back from the store when the in-memory cache is empty."""
        await bot.send("/lang en")
        bot.services.extras["languages"].clear()
        call = await bot.reply_to("/contact")
        assert "Channels published" in call.text


class TestUnknownCommand:
    async def test_unknown_command_points_to_help(self, bot):
        """An unknown /command in a private chat gets a pointer to /help."""
        call = await bot.reply_to("/frobnicate")
        assert "/help" in call.text

    async def test_unknown_command_in_group_is_ignored(self, bot):
        """In a group, unknown commands (maybe for another bot) are not answered."""
        calls = await bot.send("/frobnicate", in_chat=updates.chat(updates.GROUP_ID, "group"))
        assert bot.replies(calls) == []
