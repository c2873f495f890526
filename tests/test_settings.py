"""Settings: every missing or malformed value stops start-up with one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:ABCdef"


class TestFromEnv:
    def test_missing_token_points_to_console(self):
        """Without TELEGRAM_BOT_TOKEN the message says how to get one and mentions --console."""
        with pytest.raises(SettingsError, match="TELEGRAM_BOT_TOKEN") as info:
            Settings.from_env({})
        assert "--console" in str(info.value) and "\n" not in str(info.value)

    def test_console_needs_no_token(self):
        """require_token=False (the console) accepts an empty environment."""
        assert Settings.from_env({}, require_token=False).token == ""

    def test_malformed_token(self):
        """A token without the id:secret shape is refused."""
        with pytest.raises(SettingsError, match="does not look like a bot token"):
            Settings.from_env({"TELEGRAM_BOT_TOKEN": "nonsense"})

    def test_malformed_admin_ids(self):
        """ADMIN_IDS with a non-number names the bad part and the expected form."""
        with pytest.raises(SettingsError, match="ADMIN_IDS") as info:
            Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "ADMIN_IDS": "12,bob"})
        assert "'bob'" in str(info.value)

    def test_admin_ids_parse(self):
        """ADMIN_IDS accepts commas and spaces."""
        settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "ADMIN_IDS": "1, 2;3"})
        assert settings.admin_ids == {1, 2, 3}

    def test_bad_database_url(self):
        """A DATABASE_URL of another scheme says which schemes work."""
        with pytest.raises(SettingsError, match="DATABASE_URL"):
            Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "DATABASE_URL": "mysql://x"})

    def test_webhook_without_url(self):
        """BOT_MODE=webhook without WEBHOOK_URL is refused."""
        with pytest.raises(SettingsError, match="WEBHOOK_URL"):
            Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "BOT_MODE": "webhook"})

    def test_base_url_is_the_server_root(self):
        """TELEGRAM_BASE_URL given with a trailing /bot or / is reduced to the server root."""
        for raw in ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/"):
            settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": raw})
            assert settings.base_url == "http://127.0.0.1:8081"

    def test_token_never_in_repr(self):
        """The token does not appear in the settings' repr."""
        assert TOKEN not in repr(Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN}))


class TestBotExitCodes:
    def run_bot(self, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(ROOT / "bot.py")],
            cwd=tmp_path,  # no .env there
            env={"PATH": "/usr/bin:/bin", **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def test_missing_token_exits_2_with_one_line(self, tmp_path):
        """`python bot.py` without a token prints one line on stderr and exits 2."""
        result = self.run_bot({}, tmp_path)
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and "--console" in result.stderr

    def test_bad_setting_exits_2(self, tmp_path):
        """A malformed ADMIN_IDS also exits 2 with its message."""
        result = self.run_bot({"TELEGRAM_BOT_TOKEN": TOKEN, "ADMIN_IDS": "x"}, tmp_path)
        assert result.returncode == 2 and "ADMIN_IDS" in result.stderr
