"""The feedback mail: its headers and body, and delivery to a real SMTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from auxil.feedback_bot import SmtpServer, free_port

from services.mailer import (
    MailSender,
    PermanentMailError,
    SmtpConfig,
    build_message,
    message_id,
)
from store import NewFeedback, NewOutbox, Store, open_store
from store.base import Feedback

TEXT = "金园东路<b>路灯</b>坏了三个月 & 没人修，晚上很危险，请尽快处理。"
PHONE = "13800000000"


def feedback(**changes: object) -> Feedback:
    """A stored-looking feedback (anonymous, about item 12, created 2025-06-01 02:30 UTC)."""
    values: dict[str, object] = {
        "id": 1,
        "reference": "MS-20250601-0007",
        "user_id": 4242,
        "chat_id": 4242,
        "kind": "complaint",
        "item": 12,
        "text": TEXT,
        "contact_name": None,
        "contact_phone": None,
        "attachments": (),
        "language": "zh",
        "state": "received",
        "created_at": datetime(2025, 6, 1, 2, 30, tzinfo=UTC),
    }
    return Feedback(**(values | changes))  # type: ignore[arg-type]


def build(f: Feedback) -> object:
    return build_message(
        f, item_title="污水处理厂扩建", sender="bot@example.org", recipient="office@example.org"
    )


class TestBuildMessage:
    def test_subject_is_utf8_and_names_the_reference(self) -> None:
        """The Subject is RFC 2047 encoded UTF-8 and carries kind, reference and item."""
        raw = build(feedback()).as_bytes()  # type: ignore[attr-defined]
        header = next(line for line in raw.split(b"\r\n") if line.startswith(b"Subject:"))
        assert b"=?utf-8?" in header.lower()
        assert build(feedback())["Subject"] == "【群众投诉举报】MS-20250601-0007 · 第12项"  # type: ignore[index]

    def test_message_id_comes_from_the_reference(self) -> None:
        """Two builds of the same feedback have the same Message-ID, derived from the reference."""
        first, second = build(feedback()), build(feedback())
        assert first["Message-ID"] == second["Message-ID"] == "<MS-20250601-0007@rectification-bot>"  # type: ignore[index]
        assert message_id("MS-20250601-0007") == first["Message-ID"]  # type: ignore[index]

    def test_body_has_reference_kind_item_time_and_text(self) -> None:
        """The body is UTF-8 plain text with everything the office needs, time in Beijing time."""
        body = build(feedback()).get_content()  # type: ignore[attr-defined]
        assert "编号：MS-20250601-0007" in body
        assert "类型：投诉举报" in body
        assert "相关整改事项：第12项 污水处理厂扩建" in body
        assert "提交时间：2025-06-01 10:30（北京时间）" in body
        assert TEXT in body  # plain text: markup in the citizen's text stays literal

    def test_anonymous_opinion_has_no_contact_details(self) -> None:
        """Without contact details the mail says anonymous and carries no name or phone."""
        message = build(feedback())
        body = message.get_content()  # type: ignore[attr-defined]
        assert "匿名" in body
        assert "联系人" not in body and "联系电话" not in body
        assert "4242" not in message.as_string()  # type: ignore[attr-defined]

    def test_contact_details_appear_when_given(self) -> None:
        """A citizen who left a name and phone has both in the body."""
        body = build(feedback(contact_name="张先生", contact_phone=PHONE)).get_content()  # type: ignore[attr-defined]
        assert "联系人：张先生" in body and f"联系电话：{PHONE}" in body

    def test_date_header_is_in_shanghai_time(self) -> None:
        """The Date header is the submission time at +0800."""
        assert build(feedback())["Date"].endswith("+0800")  # type: ignore[index]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'mail.sqlite3'}")
    await s.open()
    yield s
    await s.close()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


async def queued(store: Store, **changes: object) -> tuple[Feedback, object]:
    """A feedback in the store with its email row claimed, as the outbox would hand it over."""
    values: dict[str, object] = {
        "user_id": 4242, "chat_id": 4242, "kind": "suggestion", "item": 12, "text": TEXT,
        "contact_name": None, "contact_phone": None,
    }  # fmt: skip
    new = NewFeedback(**(values | changes))  # type: ignore[arg-type]
    row = NewOutbox(
        "email", "email:{reference}", {"reference": "{reference}", "item_title": "题目"}
    )
    stored = await store.add_feedback(new, [row])
    from datetime import timedelta

    (item,) = await store.claim_due(["email"], 10, timedelta(minutes=1))
    return stored, item


class TestMailSender:
    async def test_delivers_to_a_real_smtp_server(self, store: Store, smtp: SmtpServer) -> None:
        """The server receives one UTF-8 mail: reference, Chinese text, the right envelope."""
        stored, item = await queued(store)
        config = SmtpConfig("127.0.0.1", smtp.port, "bot@example.org", "631755679@qq.com")
        await MailSender(store, config)(item)  # type: ignore[arg-type]
        (received,) = smtp.inbox.messages
        assert smtp.inbox.envelopes == [("bot@example.org", ["631755679@qq.com"])]
        assert received["Subject"] == f"【群众意见建议】{stored.reference} · 第12项"
        assert received["Message-ID"] == f"<{stored.reference}@rectification-bot>"
        body = received.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert TEXT in body and stored.reference in body
        assert "联系方式：匿名（未留联系方式）" in body
        assert "联系人" not in body and "联系电话" not in body

    async def test_attachments_are_downloaded_and_attached(
        self, store: Store, smtp: SmtpServer
    ) -> None:
        """Files are fetched through the downloader and attached with their names and types."""
        photo = {"file_id": "p1", "kind": "photo", "name": "photo-1.jpg", "mime": "image/jpeg"}
        _, item = await queued(store, attachments=(photo,))
        fetched: list[str] = []

        async def download(file_id: str) -> bytes:
            fetched.append(file_id)
            return b"\xff\xd8jpeg-bytes"

        config = SmtpConfig("127.0.0.1", smtp.port, "bot@example.org", "office@example.org")
        await MailSender(store, config, download=download)(item)  # type: ignore[arg-type]
        (received,) = smtp.inbox.messages
        (part,) = list(received.iter_attachments())
        assert fetched == ["p1"]
        assert part.get_filename() == "photo-1.jpg" and part.get_content_type() == "image/jpeg"
        assert part.get_content() == b"\xff\xd8jpeg-bytes"

    async def test_a_file_telegram_refuses_becomes_a_note(
        self, store: Store, smtp: SmtpServer
    ) -> None:
        """An attachment that cannot be downloaded is named in the body; the mail still goes."""
        doc = {"file_id": "big", "kind": "document", "name": "录像.mp4", "mime": "video/mp4"}
        _, item = await queued(store, attachments=(doc,))

        async def download(_: str) -> bytes:
            raise PermanentMailError("file is too big")

        config = SmtpConfig("127.0.0.1", smtp.port, "bot@example.org", "office@example.org")
        await MailSender(store, config, download=download)(item)  # type: ignore[arg-type]
        body = smtp.inbox.messages[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "录像.mp4" in body and "无法下载" in body

    async def test_smtp_down_raises(self, store: Store) -> None:
        """With nothing listening the sender raises, so the outbox will retry."""
        _, item = await queued(store)
        config = SmtpConfig("127.0.0.1", free_port(), "bot@example.org", "office@example.org")
        with pytest.raises(OSError):
            await MailSender(store, config)(item)  # type: ignore[arg-type]


class TestSmtpConfig:
    def test_recipient_defaults_to_the_notice_address(self) -> None:
        """Without FEEDBACK_EMAIL the mail goes to the address parsed from the notice."""
        from settings import Settings

        config = SmtpConfig.from_settings(Settings(smtp_host="mail"), "631755679@qq.com")
        assert config.recipient == "631755679@qq.com"
        assert config.sender == "rectification-bot@localhost"

    def test_feedback_email_and_from_win(self) -> None:
        """FEEDBACK_EMAIL and SMTP_FROM override the defaults; the password is not in repr."""
        from settings import Settings

        settings = Settings(
            smtp_host="mail", feedback_email="x@gov.cn", smtp_from="bot@gov.cn",
            smtp_user="u", smtp_password="s3cret",
        )  # fmt: skip
        config = SmtpConfig.from_settings(settings, "631755679@qq.com")
        assert (config.recipient, config.sender) == ("x@gov.cn", "bot@gov.cn")
        assert "s3cret" not in repr(config)
