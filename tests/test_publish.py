"""Publishing a newer notice offline: staff upload, line-numbered rejection, the preview with
reach, confirm / cancel, refusal of non-staff, the alerts that follow, the server command, and
an instance picking up a notice another instance published."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from auxil import updates
from auxil.harness import BotHarness
from conftest import STAFF_ID, MakeApp

from handlers.publish import sync_notice
from knowledge import publish as publish_cli

FIXTURE = Path(__file__).resolve().parent / "data/followup_notice_TEST_FIXTURE.txt"
STAFF = updates.user(STAFF_ID)


def serve_files(bot: BotHarness, files: dict[str, bytes]) -> None:
    """Let getFile and the file download answer with `files` (file_id → content)."""
    request = bot.request
    original = request.do_request

    async def do_request(url: str, method: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        if name in files and "/file/" in url:
            return 200, files[name]
        if name == "getFile":
            data = args[0] if args else kwargs.get("request_data")
            file_id = str(data.parameters["file_id"]) if data is not None else ""
            result = {"file_id": file_id, "file_unique_id": file_id, "file_path": file_id,
                      "file_size": len(files.get(file_id, b""))}
            return 200, json.dumps({"ok": True, "result": result}).encode()
        return await original(url, method, *args, **kwargs)

    request.do_request = do_request  # type: ignore[method-assign]


async def upload(bot: BotHarness, content: bytes, *, user: dict[str, Any] = STAFF,
                 name: str = "notice.txt") -> list[Any]:
    """A staff member (by default) sends `content` as a .txt document."""
    file_id = f"file{abs(hash(content)) % 10**8}"
    serve_files(bot, {file_id: content})
    document = {"file_id": file_id, "file_unique_id": file_id, "file_name": name,
                "mime_type": "text/plain", "file_size": len(content)}
    return await bot.send(None, from_user=user, document=document)


def fixture_bytes(encoding: str = "utf-8") -> bytes:
    return FIXTURE.read_text(encoding="utf-8").encode(encoding)


async def subscribe(bot: BotHarness, user_id: int, text: str, language: str = "zh") -> None:
    await bot.send(text, from_user=updates.user(user_id, language_code=language))


async def wait_sends(bot: BotHarness, chats: set[int], within: float = 10) -> list[Any]:
    """The sendMessage calls to `chats`, once each chat got at least one (or `within` s)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        sends = [c for c in bot.request.calls_of("sendMessage")
                 if int(c.params["chat_id"]) in chats]
        if {int(c.params["chat_id"]) for c in sends} >= chats:
            return sends
        if asyncio.get_running_loop().time() > deadline:
            return sends
        await asyncio.sleep(0.05)


def confirm_data(calls: list[Any]) -> str:
    return next(d for c in calls for d in c.callback_data if d.startswith("pub:confirm:"))


class TestStaffOnly:
    async def test_publish_command_explains(self, bot: BotHarness) -> None:
        """/publish tells staff to send a .txt file and names the current notice's date."""
        reply = await bot.reply_to("/publish", from_user=STAFF)
        assert ".txt" in reply.text and "2025-05-28" in reply.text

    async def test_citizen_publish_command_refused(
        self, bot: BotHarness, caplog: pytest.LogCaptureFixture
    ) -> None:
        """/publish from a citizen is refused, and the attempt is logged."""
        with caplog.at_level(logging.WARNING, logger="handlers.publish"):
            reply = await bot.reply_to("/publish")
        assert "工作人员" in reply.text
        assert any("refused" in r.message for r in caplog.records)

    async def test_citizen_upload_refused(self, bot: BotHarness) -> None:
        """A citizen's .txt upload is refused and nothing is stored."""
        calls = await upload(bot, fixture_bytes(), user=updates.user())
        assert "工作人员" in bot.replies(calls)[-1].text
        assert await bot.services.store.list_notices() == []

    async def test_citizen_confirm_refused(self, bot: BotHarness) -> None:
        """A forged confirm button from a citizen publishes nothing."""
        calls = await upload(bot, fixture_bytes())
        pressed = await bot.press(confirm_data(calls))
        assert pressed[0].params.get("show_alert")
        assert await bot.services.store.list_notices() == []


class TestValidation:
    async def test_malformed_notice_rejected_with_line(self, bot: BotHarness) -> None:
        """A notice missing item 5 is rejected naming line 12; nothing changes."""
        text = "\n".join(
            line for line in FIXTURE.read_text(encoding="utf-8").splitlines()
            if not line.startswith("5.")
        )
        calls = await upload(bot, text.encode())
        reply = bot.replies(calls)[-1]
        assert ":12:" in reply.text and "item 5" in reply.text and "❌" in reply.text
        assert not reply.callback_data
        assert await bot.services.store.list_notices() == []
        assert bot.services.kb.notice.date.isoformat() == "2025-05-28"

    async def test_same_notice_rejected(self, bot: BotHarness) -> None:
        """Uploading the current notice again is refused."""
        current = bot.services.kb.notice.text.encode()
        reply = bot.replies(await upload(bot, current))[-1]
        assert "current notice itself" in reply.text

    async def test_older_date_rejected(self, bot: BotHarness) -> None:
        """A notice dated no later than the current one is refused with its date line."""
        text = FIXTURE.read_text(encoding="utf-8").replace("2025年9月30日", "2025年1月1日")
        reply = bot.replies(await upload(bot, text.encode()))[-1]
        last_line = len(text.rstrip("\n").splitlines())
        assert "not later" in reply.text and f"line {last_line}:" in reply.text

    async def test_gb18030_file_accepted(self, bot: BotHarness) -> None:
        """A notice saved in GB18030 (common for Chinese office files) previews fine."""
        calls = await upload(bot, fixture_bytes("gb18030"))
        assert confirm_data(calls)


class TestPreviewAndConfirm:
    async def test_preview_lists_changes_and_reach(self, bot: BotHarness) -> None:
        """The preview shows items 12, 13, 20, 29 with status moves and subscribers reached,
        and nothing is published yet."""
        await subscribe(bot, 11, "/subscribe 12")
        await subscribe(bot, 12, "/subscribe all")
        calls = await upload(bot, fixture_bytes())
        preview = "\n".join(c.text for c in bot.replies(calls))
        for n in (12, 13, 20, 29):
            assert f"第{n}项" in preview
        assert "推进中 → 已完成" in preview
        assert "第12项 item 12 · 污水处理能力已趋于饱和 [2 subscribers]" in preview
        assert "第13项 item 13 · 电力设施建设进度滞后 [1 subscriber]" in preview
        assert "subscribers reached: 2" in preview
        assert bot.replies(calls)[-1].callback_data[1].startswith("pub:cancel:")
        assert await bot.services.store.list_notices() == []

    async def test_confirm_publishes_and_alerts(self, bot: BotHarness) -> None:
        """Confirming stores the notice, makes it current and sends each subscriber one alert
        in their language with what they follow."""
        await subscribe(bot, 11, "/subscribe 12")
        await subscribe(bot, 12, "/subscribe all", language="en")
        await subscribe(bot, 13, "/subscribe 45")
        calls = await upload(bot, fixture_bytes())
        bot.request.clear()
        done = bot.replies(await bot.press(confirm_data(calls), from_user=STAFF))[-1]
        assert "2025-09-30" in done.text
        assert bot.services.kb.notice.date.isoformat() == "2025-09-30"
        notices = await bot.services.store.list_notices()
        assert [n.notice_date for n in notices] == ["2025-05-28", "2025-09-30"]
        sends = await wait_sends(bot, {11, 12})
        by_chat = {int(c.params["chat_id"]): c for c in sends}
        assert sorted(by_chat) == [11, 12] and len(sends) == 2
        assert "第12项" in by_chat[11].text and "推进中 → <b>已完成</b>" in by_chat[11].text
        assert "Item 29" in by_chat[12].text and "30 September 2025" in by_chat[12].text
        assert any(d.startswith("unsub:") for d in by_chat[11].callback_data)

    async def test_answers_come_from_the_new_notice(self, bot: BotHarness) -> None:
        """After publication, /item 12 shows the new status and the new notice's date."""
        calls = await upload(bot, fixture_bytes())
        await bot.press(confirm_data(calls), from_user=STAFF)
        card = await bot.reply_to("/item 12")
        assert "已建成并投入运行" in card.text and "2025年9月30日" in card.text

    async def test_item_shows_timeline(self, bot: BotHarness) -> None:
        """After publication, /item 12 lists its status in each notice with the dates."""
        assert "进展时间线" not in (await bot.reply_to("/item 12")).text
        calls = await upload(bot, fixture_bytes())
        await bot.press(confirm_data(calls), from_user=STAFF)
        card = await bot.reply_to("/item 12")
        assert "进展时间线" in card.text
        assert "2025年5月28日 · 推进中\n2025年9月30日 · 已完成" in card.text

    async def test_confirm_twice_publishes_once(self, bot: BotHarness) -> None:
        """A second press of the same confirm button says the preview expired."""
        calls = await upload(bot, fixture_bytes())
        data = confirm_data(calls)
        await bot.press(data, from_user=STAFF)
        again = bot.replies(await bot.press(data, from_user=STAFF))[-1]
        assert "失效" in again.text
        assert len(await bot.services.store.list_notices()) == 2

    async def test_cancel_changes_nothing(self, bot: BotHarness) -> None:
        """Cancel drops the preview; the notice stays, nothing is stored."""
        calls = await upload(bot, fixture_bytes())
        data = confirm_data(calls)
        await bot.press(data.replace("confirm", "cancel"), from_user=STAFF)
        assert "失效" in bot.replies(await bot.press(data, from_user=STAFF))[-1].text
        assert await bot.services.store.list_notices() == []
        assert bot.services.kb.notice.date.isoformat() == "2025-05-28"


class TestSeveralInstances:
    async def test_other_instance_picks_up_the_notice(
        self, make_app: MakeApp, tmp_path: Path
    ) -> None:
        """An instance on the same store answers from a notice another one published, after
        its periodic sync."""
        shared = {"DATABASE_URL": f"sqlite:///{tmp_path / 'shared.sqlite3'}"}
        first, second = await make_app(shared), await make_app(shared)
        calls = await upload(first, fixture_bytes())
        await first.press(confirm_data(calls), from_user=STAFF)
        assert second.services.kb.notice.date.isoformat() == "2025-05-28"
        await sync_notice(second.application)
        assert second.services.kb.notice.date.isoformat() == "2025-09-30"


class TestServerCommand:
    def test_cli_publishes_with_yes(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`python -m knowledge publish FILE --yes` prints the diff and stores the notice."""
        url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
        assert publish_cli.main(["publish", str(FIXTURE), "--database-url", url, "--yes"]) == 0
        out = capsys.readouterr().out
        assert "第12项" in out and "published notice #2 of 2025-09-30" in out

    def test_cli_rejects_malformed(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A malformed file gives exit code 1, the line, and 'nothing was published'."""
        bad = tmp_path / "bad.txt"
        bad.write_text("中共眉山\n没有标题\n", encoding="utf-8")
        url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
        assert publish_cli.main([str(bad), "--database-url", url]) == 1
        err = capsys.readouterr().err
        assert "bad.txt:2" in err and "nothing was published" in err

    def test_cli_declined(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
        """Answering no at the prompt publishes nothing."""
        monkeypatch.setattr("builtins.input", lambda _: "n")
        url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
        assert publish_cli.main([str(FIXTURE), "--database-url", url]) == 1
        assert "not published" in capsys.readouterr().out
