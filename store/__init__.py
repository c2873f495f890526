"""The bot's store: pick a backend from a URL; the interface and its records.

`open_store(url)` returns the backend NOT yet opened: the caller awaits `store.open()` (which
creates or migrates the schema) and `store.close()` at shutdown. asyncpg is only imported when
a PostgreSQL URL is given, so the SQLite-only install does not need it.
"""

from __future__ import annotations

from store.base import (
    Feedback,
    FeedbackState,
    Frequency,
    NewFeedback,
    NewOutbox,
    OutboxItem,
    OutboxState,
    Scope,
    Store,
    StoredNotice,
    Subscription,
    UnansweredQuestion,
    User,
)

__all__ = [
    "Feedback",
    "FeedbackState",
    "Frequency",
    "NewFeedback",
    "NewOutbox",
    "OutboxItem",
    "OutboxState",
    "Scope",
    "Store",
    "StoredNotice",
    "Subscription",
    "UnansweredQuestion",
    "User",
    "open_store",
]

_SQLITE = "sqlite:///"
_POSTGRES = ("postgresql://", "postgres://")


def open_store(url: str) -> Store:
    """The backend for `url`, not yet opened.

    `sqlite:///relative/path.db` and `sqlite:////absolute/path.db` (the path is everything after
    the third slash) give a SQLiteStore; `postgresql://…` or `postgres://…` a PostgresStore.
    """
    if url.startswith(_SQLITE):
        path = url[len(_SQLITE) :]
        if not path:
            raise ValueError(f"{url!r} names no file: use sqlite:///path/to/bot.sqlite3")
        from store.sqlite import SQLiteStore

        return SQLiteStore(path)
    if url.startswith(_POSTGRES):
        try:
            from store.postgres import PostgresStore
        except ImportError as exc:  # asyncpg is the optional `postgres` extra
            raise ValueError(
                f"{url.split('@')[-1]!r} needs asyncpg: pip install 'rectification-bot[postgres]'"
            ) from exc
        return PostgresStore(url)
    scheme = url.split(":", 1)[0] if ":" in url else url
    raise ValueError(
        f"unsupported store URL scheme {scheme!r}: use sqlite:///path/to/bot.sqlite3 "
        "or postgresql://user@host:5432/dbname"
    )
