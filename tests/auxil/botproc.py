"""Run the real `bot.py` as a child process against the fake Bot API, for process-level tests.

Typical use (every process is stopped when the block ends, even when the test fails)::

    from auxil.botproc import running_bot

    def test_something(tmp_path):
        with FakeBotApi() as api, running_bot(api, tmp_path) as bot:
            api.user_says(42, "/start")
            api.wait_for("sendMessage", chat_id=42, timeout=10)
            assert bot.stop() == 0              # SIGTERM, clean exit

Restart/crash tests keep `data_dir` and start again::

    with running_bot(api, tmp_path, env={"SMTP_HOST": "127.0.0.1", "SMTP_PORT": "2525"}) as bot:
        ...
        bot.kill()                               # SIGKILL: no shutdown code runs
    with running_bot(api, tmp_path) as bot:      # same DATA_DIR → same SQLite store
        ...

Readiness: polling mode is ready when the bot's first `getUpdates` reaches the fake (the
Application has initialised, run post_init and set the command menus by then); webhook mode
when its `setWebhook` succeeded (the fake retries delivery until the listener answers).

On any failure (exit during start-up, readiness timeout, a stop that needs SIGKILL) the error
message carries the tail of the bot's stderr, which goes to `<data_dir>/bot-<n>.stderr.log`.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fakebotapi import FakeBotApi

__all__ = ["TOKEN", "BotProcess", "bot_env", "running_bot", "start_bot"]

ROOT = Path(__file__).resolve().parents[2]  # the checkout, where bot.py lives
TOKEN = "123456:TEST"
ADMIN_ID = 1000  # a staff member's Telegram id (ADMIN_IDS)
_runs = itertools.count(1)

# Settings bot.py reads; cleared from the inherited environment so a developer's shell or .env
# cannot leak into a test (the real environment wins over .env, so empty values are set).
_BOT_SETTINGS = (
    "TELEGRAM_BOT_TOKEN", "TELEGRAM_BASE_URL", "DATA_DIR", "DATABASE_URL", "ADMIN_IDS",
    "ADMIN_CHAT_ID", "STAFF_CHAT_ID", "BOT_MODE", "WEBHOOK_URL", "WEBHOOK_SECRET", "LISTEN",
    "PORT", "SMTP_HOST", "SMTP_PORT", "SMTP_USER", "SMTP_PASSWORD", "SMTP_STARTTLS", "SMTP_FROM",
    "FEEDBACK_EMAIL",
)  # fmt: skip
_PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bot_env(
    api: FakeBotApi,
    data_dir: Path,
    *,
    mode: str = "polling",
    port: int | None = None,
    secret: str = "e2e-secret",
    admin_ids: str = str(ADMIN_ID),
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment for bot.py: fake token, the fake's URL, SQLite in data_dir, loopback only.

    Webhook mode listens on 127.0.0.1:`port` (a free one if None); bot.py appends its own
    secret path to WEBHOOK_URL, so WEBHOOK_URL is just the listener's root. `extra` wins.
    """
    env = {k: v for k, v in os.environ.items() if k not in _PROXIES}
    env.update(dict.fromkeys(_BOT_SETTINGS, ""))
    env.update(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_BASE_URL": api.root,
            "DATA_DIR": str(data_dir),
            "DATABASE_URL": f"sqlite:///{data_dir / 'bot.sqlite3'}",
            "ADMIN_IDS": admin_ids,
            "BOT_MODE": mode,
            "NO_PROXY": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    if mode == "webhook":
        port = port or _free_port()
        env.update(
            {
                "WEBHOOK_URL": f"http://127.0.0.1:{port}",
                "WEBHOOK_SECRET": secret,
                "LISTEN": "127.0.0.1",
                "PORT": str(port),
            }
        )
    env.update(extra or {})
    return {k: v for k, v in env.items() if v != "" or k in _BOT_SETTINGS}


class BotProcess:
    """A running bot.py: its Popen, its stderr log, and ways to stop it."""

    def __init__(self, proc: subprocess.Popen[bytes], stderr_path: Path, env: dict[str, str]):
        self.proc = proc
        self.stderr_path = stderr_path
        self.env = env
        self.returncode: int | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def webhook_port(self) -> int | None:
        return int(self.env["PORT"]) if self.env.get("BOT_MODE") == "webhook" else None

    def stderr(self, tail: int | None = 60) -> str:
        """The bot's stderr so far (the last `tail` lines; None for all)."""
        try:
            lines = self.stderr_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return ""
        return "\n".join(lines if tail is None else lines[-tail:])

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self, api: FakeBotApi, *, since: int = 0, timeout: float = 30.0) -> None:
        """Wait until the bot polls (getUpdates) or set its webhook; fail with its stderr."""
        method = "setWebhook" if self.env.get("BOT_MODE") == "webhook" else "getUpdates"
        deadline = time.monotonic() + timeout
        while True:
            if not self.alive():
                raise AssertionError(
                    f"bot.py exited with {self.proc.returncode} before it was ready; stderr:\n"
                    + self.stderr()
                )
            found = api.calls(method, since=since)
            if any(c.ok for c in found):
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"bot.py made no successful {method} within {timeout} s; stderr:\n"
                    + self.stderr()
                )
            time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, wait up to timeout s for a clean exit, SIGKILL otherwise; the exit code.

        A clean shutdown returns 0; -9 means SIGKILL was needed (the test should fail then).
        """
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.returncode = self.proc.returncode
        return self.returncode

    def kill(self) -> int:
        """SIGKILL now (a crash: no shutdown code runs); the exit code (-9)."""
        if self.alive():
            self.proc.kill()
            self.proc.wait(10)
        self.returncode = self.proc.returncode
        return self.returncode


def start_bot(
    api: FakeBotApi,
    data_dir: Path,
    *,
    mode: str = "polling",
    env: Mapping[str, str] | None = None,
    ready_timeout: float = 30.0,
    wait: bool = True,
) -> BotProcess:
    """Start `python bot.py` (cwd = the checkout) against the fake; wait for readiness.

    `env` adds or overrides settings (see `bot_env`). The caller must stop the process:
    prefer `running_bot`, which does it in all cases.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    full_env = bot_env(api, data_dir, mode=mode, extra=env)
    stderr_path = data_dir / f"bot-{next(_runs)}.stderr.log"
    since = api.mark()
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "bot.py"],
            cwd=ROOT,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=subprocess.STDOUT,
        )
    bot = BotProcess(proc, stderr_path, full_env)
    if wait:
        try:
            bot.wait_ready(api, since=since, timeout=ready_timeout)
        except BaseException:
            bot.kill()
            raise
    return bot


@contextlib.contextmanager
def running_bot(
    api: FakeBotApi,
    data_dir: Path,
    *,
    mode: str = "polling",
    env: Mapping[str, str] | None = None,
    ready_timeout: float = 30.0,
) -> Iterator[BotProcess]:
    """start_bot as a context manager: the process is always stopped (SIGTERM, then SIGKILL)."""
    bot = start_bot(api, data_dir, mode=mode, env=env, ready_timeout=ready_timeout)
    try:
        yield bot
    finally:
        bot.stop(timeout=5)
