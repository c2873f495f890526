"""Progress alerts end to end: the real bot.py process against the fake Bot API server.

A staff member uploads the synthetic follow-up notice (a test fixture) and confirms; the
subscribers get one alert each with their own items and language; a subscriber who blocked
the bot (403) is deactivated; a 429 with retry_after holds the sender back; and a SIGKILL in
the middle of a broadcast, then a restart, leaves every subscriber with exactly one alert.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from auxil.botproc import ADMIN_ID, running_bot
from fakebotapi import Call, FakeBotApi

from store import open_store

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).resolve().parent / "data/followup_notice_TEST_FIXTURE.txt"
ALERT = "2025年9月30日"


def subscribe(api: FakeBotApi, user_id: int, command: str, language: str = "zh-hans") -> None:
    api.user_says(user_id, command, language_code=language)
    api.wait_for("sendMessage", chat_id=user_id, timeout=15)


def publish_fixture(api: FakeBotApi) -> None:
    """The staff member uploads the fixture and presses the confirm button of the preview."""
    api.user_sends_document(ADMIN_ID, "followup.txt", FIXTURE.read_bytes())
    preview = api.wait_for(
        lambda c: c.method == "sendMessage" and any(
            d.startswith("pub:confirm:") for d in c.callback_data()
        ),
        chat_id=ADMIN_ID, timeout=30,
    )
    data = next(d for d in preview.callback_data() if d.startswith("pub:confirm:"))
    api.user_presses(ADMIN_ID, preview, data)


def alerts(api: FakeBotApi, chat_id: int, *, ok: bool | None = True) -> list[Call]:
    return [c for c in api.calls("sendMessage", chat_id=chat_id)
            if ALERT in c.text or "September 2025" in c.text
            if ok is None or c.ok == ok]


def active(data_dir: Path, user_id: int) -> bool:
    async def read() -> bool:
        store = open_store(f"sqlite:///{data_dir / 'bot.sqlite3'}")
        await store.open()
        try:
            user = await store.get_user(user_id)
            return user is not None and user.active
        finally:
            await store.close()

    return asyncio.run(read())


class TestPublicationReachesSubscribers:
    def test_three_subscribers_blocked_one_and_a_429(self, tmp_path: Path) -> None:
        """Three subscribers get one alert each with their content; the one who blocked the
        bot (403) is deactivated; a 429 with retry_after=2 pauses every send for 2 s."""
        with FakeBotApi() as api, running_bot(api, tmp_path) as bot:
            subscribe(api, 201, "/subscribe 12")
            subscribe(api, 202, "/subscribe all", language="en")
            subscribe(api, 203, "/subscribe area 2")
            subscribe(api, 204, "/subscribe 20")
            with api._lock:  # a user who blocked the bot without the bot seeing it
                api.blocked.add(204)
            api.fail_next("sendMessage", chat_id=202, code=429, retry_after=2)
            publish_fixture(api)
            for chat in (201, 202, 203):
                api.wait_for(lambda c: c.method == "sendMessage" and c.ok
                             and (ALERT in c.text or "September 2025" in c.text),
                             chat_id=chat, timeout=30, since=0)
            api.wait_for("sendMessage", chat_id=204, ok=False, timeout=30, since=0)
            time.sleep(0.5)
            (a201,), (a202,), (a203,) = (alerts(api, c) for c in (201, 202, 203))
            assert "第12项" in a201.text and "第13项" not in a201.text
            assert all(f"Item {n}" in a202.text for n in (12, 13, 20, 29))
            assert "第29项" in a203.text and "第12项" not in a203.text
            assert any(d.startswith("unsub:") for d in a201.callback_data())
            # The 429: nothing was sent until retry_after had passed.
            (limited,) = [c for c in api.calls("sendMessage", chat_id=202) if not c.ok]
            after = [c for c in api.calls("sendMessage") if c.seq > limited.seq and c.ok]
            assert after and all(c.at - limited.at >= 1.9 for c in after)
            assert bot.stop() == 0
        assert not active(tmp_path, 204)
        assert active(tmp_path, 201)


class TestCrashMidBroadcast:
    def test_kill_and_restart_sends_each_alert_once(self, tmp_path: Path) -> None:
        """SIGKILL while the broadcast is under way (held by a 429), restart: every subscriber
        ends up with exactly one alert."""
        users = list(range(301, 316))
        env = {"BROADCAST_RATE": "5", "BROADCAST_LEASE": "6"}
        with FakeBotApi() as api:
            with running_bot(api, tmp_path, env=env) as bot:
                for user in users:
                    subscribe(api, user, "/subscribe all")
                api.fail_next("sendMessage", chat_id=users[5], code=429, retry_after=5)
                publish_fixture(api)
                api.wait_for("sendMessage", chat_id=users[5], ok=False, timeout=30, since=0)
                time.sleep(0.5)
                assert bot.kill() == -9
            sent_before = {u for u in users if alerts(api, u)}
            assert 0 < len(sent_before) < len(users)
            with running_bot(api, tmp_path, env=env):
                api.wait_calls(len(users), lambda c: c.method == "sendMessage" and c.ok
                               and ALERT in c.text, timeout=60)
                time.sleep(1.5)
            for user in users:
                assert len(alerts(api, user)) == 1, user
