"""Settings, read from a mapping (the environment, optionally topped up from a `.env` file).

`Settings.from_env(os.environ)` is what `bot.py` calls; tests pass a dict. A missing or
malformed value raises `SettingsError` whose message is one line saying which and how to fix it.
Secrets (the token, the SMTP password) never appear in `repr`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path

DEFAULT_DATA_DIR = Path("data")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message says which and how to fix it."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(
            f"{name}={raw!r} is not a whole number; set e.g. {name}={default}"
        ) from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number; set e.g. {name}={default}") from None


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name}={raw!r} must be true or false")


def _ids(env: Mapping[str, str], name: str) -> frozenset[int]:
    raw = env.get(name, "").replace(";", ",").replace(" ", ",")
    ids = set()
    for part in filter(None, raw.split(",")):
        try:
            ids.add(int(part))
        except ValueError:
            raise SettingsError(
                f"{name} must be Telegram user ids separated by commas, e.g. {name}=12345,67890; "
                f"{part!r} is not a number"
            ) from None
    return frozenset(ids)


def _optional_int(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} must be a Telegram chat id (a whole number)") from None


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse KEY=VALUE lines of a .env file (comments and blank lines ignored)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


@dataclass(frozen=True)
class Settings:
    token: str = field(default="", repr=False)
    base_url: str | None = None  # Bot API server, e.g. http://127.0.0.1:8081 (without /bot)
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = ""  # sqlite:///path or postgresql://…
    admin_ids: frozenset[int] = frozenset()
    admin_chat_id: int | None = None  # where error reports go
    staff_chat_id: int | None = None  # where copies of feedback go
    mode: str = "polling"  # polling | webhook
    webhook_url: str = ""
    webhook_secret: str = field(default="", repr=False)
    listen: str = "0.0.0.0"
    port: int = 8443
    # feedback delivery
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_starttls: bool = False
    smtp_from: str = ""
    feedback_email: str = ""  # default: the address parsed from the notice
    feedback_daily_limit: int = 5
    outbox_max_attempts: int = 8
    outbox_interval: float = 5.0  # seconds between outbox polls
    outbox_retry_base: float = 30.0  # seconds before the first retry; doubles each time
    outbox_retry_cap: float = 3600.0  # longest wait between two retries
    outbox_lease: float = 120.0  # a claimed row returns after this if its sender died
    feedback_timeout: float = 1800.0  # an idle /feedback conversation ends (draft kept)
    # progress alerts
    broadcast_rate: float = 25.0  # messages per second
    broadcast_lease: float = 60.0  # seconds a claimed alert stays reserved to one sender
    digest_weekday: int = 0  # Monday
    digest_time: time = time(9, 0)  # Asia/Shanghai
    # abuse
    user_rate: float = 1.0  # messages per second per user, sustained
    user_burst: int = 8

    @property
    def smtp_configured(self) -> bool:
        return bool(self.smtp_host)

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, require_token: bool = True) -> Settings:
        """Build settings from a mapping; raise SettingsError naming the bad setting."""
        token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
        if require_token and not token:
            raise SettingsError(
                "TELEGRAM_BOT_TOKEN is not set: get one from @BotFather and put it in the "
                "environment or .env, or run `python bot.py --console` to try the bot offline"
            )
        if token and (":" not in token or not token.split(":", 1)[0].isdigit()):
            raise SettingsError(
                "TELEGRAM_BOT_TOKEN does not look like a bot token (123456:ABC…); "
                "copy it again from @BotFather"
            )
        data_dir = Path(env.get("DATA_DIR", "").strip() or DEFAULT_DATA_DIR)
        database_url = (
            env.get("DATABASE_URL", "").strip() or f"sqlite:///{data_dir / 'bot.sqlite3'}"
        )
        if not database_url.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise SettingsError(
                "DATABASE_URL must start with sqlite:/// or postgresql:// "
                "(e.g. postgresql://user@127.0.0.1:5432/bot)"
            )
        mode = env.get("BOT_MODE", "polling").strip().lower() or "polling"
        if mode not in {"polling", "webhook"}:
            raise SettingsError(f"BOT_MODE={mode!r} must be polling or webhook")
        webhook_url = env.get("WEBHOOK_URL", "").strip()
        if mode == "webhook" and not webhook_url.startswith(("https://", "http://")):
            raise SettingsError(
                "BOT_MODE=webhook needs WEBHOOK_URL, the public https:// address Telegram posts to"
            )
        base_url = env.get("TELEGRAM_BASE_URL", "").strip().rstrip("/") or None
        if base_url and not base_url.startswith(("http://", "https://")):
            raise SettingsError(
                "TELEGRAM_BASE_URL must be an http(s):// address of a Bot API server"
            )
        if base_url and base_url.endswith("/bot"):
            base_url = base_url[: -len("/bot")]
        digest_at = env.get("DIGEST_TIME", "09:00").strip() or "09:00"
        try:
            hour, minute = (int(p) for p in digest_at.split(":"))
            digest_time = time(hour, minute)
        except ValueError:
            raise SettingsError(
                f"DIGEST_TIME={digest_at!r} must be HH:MM (Asia/Shanghai)"
            ) from None
        port = _int(env, "PORT", 8443)
        if not 0 < port < 65536:
            raise SettingsError(f"PORT={port} must be between 1 and 65535")
        return cls(
            token=token,
            base_url=base_url,
            data_dir=data_dir,
            database_url=database_url,
            admin_ids=_ids(env, "ADMIN_IDS"),
            admin_chat_id=_optional_int(env, "ADMIN_CHAT_ID"),
            staff_chat_id=_optional_int(env, "STAFF_CHAT_ID"),
            mode=mode,
            webhook_url=webhook_url,
            webhook_secret=env.get("WEBHOOK_SECRET", "").strip(),
            listen=env.get("LISTEN", "0.0.0.0").strip() or "0.0.0.0",
            port=port,
            smtp_host=env.get("SMTP_HOST", "").strip(),
            smtp_port=_int(env, "SMTP_PORT", 25),
            smtp_user=env.get("SMTP_USER", "").strip(),
            smtp_password=env.get("SMTP_PASSWORD", ""),
            smtp_starttls=_bool(env, "SMTP_STARTTLS", False),
            smtp_from=env.get("SMTP_FROM", "").strip(),
            feedback_email=env.get("FEEDBACK_EMAIL", "").strip(),
            feedback_daily_limit=_int(env, "FEEDBACK_DAILY_LIMIT", 5),
            outbox_max_attempts=_int(env, "OUTBOX_MAX_ATTEMPTS", 8),
            outbox_interval=_float(env, "OUTBOX_INTERVAL", 5.0),
            outbox_retry_base=_float(env, "OUTBOX_RETRY_BASE", 30.0),
            outbox_retry_cap=_float(env, "OUTBOX_RETRY_CAP", 3600.0),
            outbox_lease=_float(env, "OUTBOX_LEASE", 120.0),
            feedback_timeout=_float(env, "FEEDBACK_TIMEOUT", 1800.0),
            broadcast_rate=_float(env, "BROADCAST_RATE", 25.0),
            broadcast_lease=_float(env, "BROADCAST_LEASE", 60.0),
            digest_weekday=_int(env, "DIGEST_WEEKDAY", 0),
            digest_time=digest_time,
            user_rate=_float(env, "USER_RATE", 1.0),
            user_burst=_int(env, "USER_BURST", 8),
        )

    @classmethod
    def load(cls, *, require_token: bool = True, dotenv: Path = Path(".env")) -> Settings:
        """From .env topped up by the real environment (which wins)."""
        env = read_dotenv(dotenv) | dict(os.environ)
        return cls.from_env(env, require_token=require_token)
