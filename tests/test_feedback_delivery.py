"""From confirm to the office, in process: the bot's own outbox worker mails the opinion to a
real SMTP server (attachments fetched with getFile), copies it to the staff chat, survives an
SMTP outage, and tells staff when it gives up."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from auxil.feedback_bot import (
    WASTEWATER,
    FileRequest,
    SmtpServer,
    fill_form,
    last_reply,
    photo_update,
    wait_until,
)
from auxil.harness import BotHarness, offline_settings

from bot import build_application, start_offline, stop_offline
from handlers.feedback import WORKER_KEY, build_worker, stop_outbox
from knowledge import KnowledgeBase
from services.outbox import OutboxWorker

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBUserWarning")

STAFF_CHAT = -1001
ADMIN_CHAT = -1002
REFERENCE = re.compile(r"MS-\d{8}-\d{4}")


@pytest.fixture
async def make_bot(
    tmp_path: Path, knowledge_base: KnowledgeBase
) -> AsyncIterator[Callable[..., object]]:
    """A factory for the whole bot on a FileRequest (serves uploaded files), worker stopped."""
    started: list[BotHarness] = []

    async def make(overrides: dict[str, str]) -> BotHarness:
        request = FileRequest()
        settings = offline_settings(tmp_path, {"USER_BURST": "1000"} | overrides)
        application = build_application(
            settings, request=request, updater=False, rate_limiter=False, kb=knowledge_base
        )
        await start_offline(application)
        await stop_outbox(application)
        request.clear()
        harness = BotHarness(application, request)
        started.append(harness)
        return harness

    yield make
    for harness in started:
        await stop_offline(harness.application)


async def confirm(bot: BotHarness, **form: object) -> str:
    """Fill the form, confirm, return the reference the citizen was given."""
    await fill_form(bot, **form)  # type: ignore[arg-type]
    return REFERENCE.search(last_reply(await bot.press("fb:confirm")).text).group()  # type: ignore[union-attr]


class TestMailThroughTheBot:
    async def test_confirmed_opinion_is_mailed_with_its_photo(self, make_bot: Callable) -> None:  # type: ignore[type-arg]
        """The mail reaches SMTP once, with the reference, item title and the photo that was
        downloaded through getFile; the feedback becomes 'forwarded'."""
        smtp = SmtpServer().start()
        try:
            bot = await make_bot(smtp.env())
            bot.request.files["PHOTO1"] = b"\xff\xd8 a photo"
            await bot.send("/feedback")
            await bot.press("fb:kind:complaint")
            await bot.process(photo_update(bot.bot, "PHOTO1", caption=WASTEWATER))
            await bot.press("fb:item:12")
            await bot.press("fb:anon")
            reference = REFERENCE.search(last_reply(await bot.press("fb:confirm")).text).group()  # type: ignore[union-attr]
            worker = build_worker(bot.application)
            assert await worker.drain() == 1
            (mail,) = smtp.inbox.with_id(f"<{reference}@rectification-bot>")
            body = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            assert WASTEWATER in body and "第12项" in body and "匿名" in body
            (photo,) = list(mail.iter_attachments())
            assert photo.get_content() == b"\xff\xd8 a photo"
            assert [c.method for c in bot.request.calls[-2:]] == ["getFile", "download"]
            state = (await bot.services.store.get_feedback(reference)).state  # type: ignore[union-attr]
            assert state == "forwarded"
            mine = await bot.reply_to("/myfeedback")
            assert "已转交邮箱" in mine.text
        finally:
            smtp.stop()

    async def test_smtp_down_at_confirm_then_up(self, make_bot: Callable) -> None:  # type: ignore[type-arg]
        """SMTP is down when the citizen confirms: they still get a reference; when the
        server is back, the mail arrives exactly once."""
        smtp = SmtpServer()
        bot = await make_bot(smtp.env() | {"OUTBOX_RETRY_BASE": "0.01"})
        reference = await confirm(bot)
        worker = build_worker(bot.application)
        await worker.drain()
        assert (await bot.services.store.get_feedback(reference)).state == "retrying"  # type: ignore[union-attr]
        smtp.start()
        try:
            await wait_until(lambda: _drained(worker), within=3)
            await worker.drain()
            assert len(smtp.inbox.with_id(f"<{reference}@rectification-bot>")) == 1
            assert len(smtp.inbox.messages) == 1
        finally:
            smtp.stop()

    async def test_the_running_worker_is_poked_by_confirm(self, make_bot: Callable) -> None:  # type: ignore[type-arg]
        """With the worker running (long interval), confirm itself gets the mail sent."""
        smtp = SmtpServer().start()
        try:
            bot = await make_bot(smtp.env() | {"OUTBOX_INTERVAL": "3600"})
            worker = build_worker(bot.application)
            bot.services.extras[WORKER_KEY] = worker
            worker.start()
            await asyncio.sleep(0.05)  # its first drain found nothing
            reference = await confirm(bot)
            await wait_until(lambda: len(smtp.inbox.messages) == 1, within=3)
            assert smtp.inbox.messages[0]["Message-ID"] == f"<{reference}@rectification-bot>"
            await worker.stop()
        finally:
            smtp.stop()


class TestStaff:
    async def test_staff_copy_is_sent_escaped(self, make_bot: Callable) -> None:  # type: ignore[type-arg]
        """The staff chat gets the opinion with the citizen's markup escaped and no user id."""
        bot = await make_bot({"STAFF_CHAT_ID": str(STAFF_CHAT)})
        reference = await confirm(
            bot, text="<b>路灯</b> & 坏了很久了，请尽快修理。", contact="张 13800000000"
        )
        await build_worker(bot.application).drain()
        (copy,) = [
            c for c in bot.request.calls_of("sendMessage") if c.params["chat_id"] == STAFF_CHAT
        ]
        assert reference in copy.text and "&lt;b&gt;路灯&lt;/b&gt; &amp;" in copy.text
        assert "13800000000" in copy.text and "4242" not in copy.text

    async def test_failed_mail_tells_staff(self, make_bot: Callable) -> None:  # type: ignore[type-arg]
        """After the last attempt the feedback is 'failed' and ADMIN_CHAT_ID hears about it."""
        smtp = SmtpServer()  # never started
        bot = await make_bot(
            smtp.env() | {"OUTBOX_MAX_ATTEMPTS": "2", "ADMIN_CHAT_ID": str(ADMIN_CHAT)}
        )
        reference = await confirm(bot)
        clock_now = _Clock()
        worker = build_worker(bot.application)
        worker.clock = clock_now
        await worker.drain()
        clock_now.advance(timedelta(hours=1))
        await worker.drain()
        assert (await bot.services.store.get_feedback(reference)).state == "failed"  # type: ignore[union-attr]
        (alert,) = [
            c for c in bot.request.calls_of("sendMessage") if c.params["chat_id"] == ADMIN_CHAT
        ]
        assert reference in alert.text and "2 次" in alert.text
        mine = await bot.reply_to("/myfeedback")
        assert "失败" in mine.text


async def _drained(worker: OutboxWorker) -> bool:
    """Drain once; true when nothing is pending any more."""
    await worker.drain()
    return (await worker.store.outbox_counts("email")).get("pending", 0) == 0


class _Clock:
    """A clock the test moves forward (the worker's retry times are compared with it)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta
