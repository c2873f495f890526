"""Process level: the real `python bot.py` against the fake Bot API and a real SMTP server.

A SIGKILL between confirm and delivery must not lose the opinion nor mail it twice, and a
restart in the middle of the form must resume it at the same step.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from auxil.botproc import running_bot
from auxil.feedback_bot import WASTEWATER, SmtpServer
from fakebotapi import Call, FakeBotApi

pytestmark = pytest.mark.e2e

CITIZEN = 4343
REFERENCE = re.compile(r"MS-\d{8}-\d{4}")
FAST = {
    "OUTBOX_INTERVAL": "0.2",
    "OUTBOX_RETRY_BASE": "0.2",
    "OUTBOX_RETRY_CAP": "0.5",
    "OUTBOX_LEASE": "2",  # a row the killed process had claimed comes back after 2 s
}


def step(api: FakeBotApi, text: str) -> Call:
    """The bot's next message or edit to the citizen containing `text`."""
    return api.wait_for(
        lambda c: c.method in {"sendMessage", "editMessageText"}, chat_id=CITIZEN, text=text
    )


def through_text_step(api: FakeBotApi) -> Call:
    """/feedback → complaint; returns the text-step prompt."""
    api.user_says(CITIZEN, "/feedback")
    kinds = step(api, "第 1 步")
    api.user_presses(CITIZEN, kinds, "fb:kind:complaint")
    return step(api, "第 2 步")


def to_confirmation(api: FakeBotApi, item_prompt: Call) -> str:
    """From the item step to the reference the citizen is given."""
    api.user_presses(CITIZEN, item_prompt, "fb:item:12")
    contact = step(api, "第 4 步")
    api.user_presses(CITIZEN, contact, "fb:anon")
    preview = step(api, "请核对")
    assert "投诉举报" in preview.text and "第12项" in preview.text
    api.user_presses(CITIZEN, preview, "fb:confirm")
    return REFERENCE.search(step(api, "编号").text).group()  # type: ignore[union-attr]


def mails(smtp: SmtpServer, reference: str, at_least: int = 1, within: float = 20.0) -> int:
    """How many mails with this reference's Message-ID arrived (waiting for `at_least`)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if len(smtp.inbox.with_id(f"<{reference}@rectification-bot>")) >= at_least:
            break
        time.sleep(0.05)
    return len(smtp.inbox.with_id(f"<{reference}@rectification-bot>"))


class TestCrash:
    def test_sigkill_between_confirm_and_delivery(self, tmp_path: Path) -> None:
        """SMTP is down at confirm; the bot is SIGKILLed with the mail undelivered; after a
        restart with SMTP up the mail arrives exactly once."""
        smtp = SmtpServer()  # its port is chosen, nothing listens yet
        env = smtp.env() | FAST
        with FakeBotApi() as api:
            with running_bot(api, tmp_path, env=env) as bot:
                through_text_step(api)
                api.user_says(CITIZEN, WASTEWATER)
                reference = to_confirmation(api, step(api, "第 3 步"))
                time.sleep(0.5)  # the worker has tried (connection refused) and will retry
                assert bot.kill() == -9
            smtp.start()
            try:
                with running_bot(api, tmp_path, env=env) as bot:
                    assert mails(smtp, reference) == 1
                    time.sleep(1.5)  # several polls later: still exactly one
                    assert mails(smtp, reference) == 1
                    assert len(smtp.inbox.messages) == 1
                    api.user_says(CITIZEN, "/myfeedback")
                    assert "已转交邮箱" in step(api, reference).text
                    assert bot.stop() == 0
            finally:
                smtp.stop()


class TestRestartMidForm:
    @pytest.mark.parametrize("how", ["sigterm", "sigkill"])
    def test_form_resumes_at_the_same_step(self, tmp_path: Path, how: str) -> None:
        """Stopped (SIGTERM) or killed at the text step, the restarted bot takes the next
        message as the text, asks for the item, and keeps the chosen kind."""
        smtp = SmtpServer().start()
        try:
            with FakeBotApi() as api:
                with running_bot(api, tmp_path, env=smtp.env() | FAST) as bot:
                    through_text_step(api)
                    time.sleep(0.3)
                    if how == "sigterm":
                        assert bot.stop() == 0
                    else:
                        assert bot.kill() == -9
                with running_bot(api, tmp_path, env=smtp.env() | FAST) as bot:
                    api.user_says(CITIZEN, WASTEWATER)
                    reference = to_confirmation(api, step(api, "第 3 步"))
                    assert mails(smtp, reference) == 1
                    assert bot.stop() == 0
        finally:
            smtp.stop()
