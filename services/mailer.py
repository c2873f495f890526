"""Feedback by email: build one UTF-8 message per opinion and hand it to an SMTP server.

The message is derived from the stored feedback only, so a retry builds the same mail, and its
`Message-ID` comes from the reference (`<MS-20250601-0001@rectification-bot>`): a mail server or
client that sees it twice knows it is one opinion. Contact details appear only when the citizen
gave them; the Telegram id never does. The body is plain text, so nothing the citizen typed can
become markup. Sending uses the standard library's `smtplib` in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from services.outbox import PermanentError

if TYPE_CHECKING:
    from settings import Settings
    from store.base import Feedback, OutboxItem, Store

logger = logging.getLogger(__name__)

try:
    from zoneinfo import ZoneInfo

    SHANGHAI: Any = ZoneInfo("Asia/Shanghai")
except Exception:  # no tz database on this machine: China has kept UTC+8 without DST since 1991
    SHANGHAI = timezone(timedelta(hours=8), "CST")

MESSAGE_ID_DOMAIN = "rectification-bot"
DEFAULT_FROM = "rectification-bot@localhost"
SMTP_TIMEOUT = 30.0  # seconds; a hung server must not hold the outbox forever
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024  # Telegram's getFile limit; also keeps the mail sane

KIND_ZH = {"suggestion": "意见建议", "complaint": "投诉举报", "other": "其他"}


class PermanentMailError(PermanentError):
    """A failure that retrying cannot fix (e.g. the server rejects every recipient)."""


@dataclass(frozen=True)
class Attachment:
    """One file to attach, already downloaded."""

    filename: str
    content: bytes
    mime: str = "application/octet-stream"


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send: read from the settings, never printed with its password."""

    host: str
    port: int
    sender: str
    recipient: str
    user: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = False

    @classmethod
    def from_settings(cls, settings: Settings, notice_email: str) -> SmtpConfig:
        """The SMTP_* settings; To is FEEDBACK_EMAIL or else the notice's own address."""
        user = settings.smtp_user
        sender = settings.smtp_from or (user if "@" in user else DEFAULT_FROM)
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=sender,
            recipient=settings.feedback_email or notice_email,
            user=user,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        )


def message_id(reference: str) -> str:
    """The Message-ID of the mail for this reference (the same on every retry)."""
    return f"<{reference}@{MESSAGE_ID_DOMAIN}>"


def shanghai_time(moment: datetime) -> datetime:
    """`moment` in Asia/Shanghai (naive values are taken to be UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(SHANGHAI)


def _contact_lines(feedback: Feedback) -> list[str]:
    """The contact lines of the body: only what the citizen chose to give."""
    lines = []
    if feedback.contact_name:
        lines.append(f"联系人：{feedback.contact_name}")
    if feedback.contact_phone:
        lines.append(f"联系电话：{feedback.contact_phone}")
    return lines or ["联系方式：匿名（未留联系方式）"]


def build_body(
    feedback: Feedback,
    item_title: str | None,
    attachments: Sequence[Attachment],
    notes: Sequence[str],
) -> str:
    """The plain-text body: reference, kind, item, time, contact (if given), text, files."""
    when = shanghai_time(feedback.created_at)
    item = f"第{feedback.item}项 {item_title or ''}".rstrip() if feedback.item else "未指定"
    lines = [
        "眉山高新区巡察整改落实情况 · 群众意见（经 Telegram 机器人提交）",
        "",
        f"编号：{feedback.reference}",
        f"类型：{KIND_ZH.get(feedback.kind, feedback.kind)}",
        f"相关整改事项：{item}",
        f"提交时间：{when:%Y-%m-%d %H:%M}（北京时间）",
        *_contact_lines(feedback),
        "",
        "内容：",
        feedback.text,
        "",
    ]
    if attachments or notes:
        lines.append(f"附件：{len(attachments)} 个（见本邮件附件）")
        lines.extend(notes)
        lines.append("")
    lines += [
        "—",
        "本邮件由巡察整改问答机器人自动发送。同一编号的邮件只代表一条意见；",
        "如收到重复邮件，是投递重试所致。",
    ]
    return "\n".join(lines)


def build_message(
    feedback: Feedback,
    *,
    item_title: str | None,
    sender: str,
    recipient: str,
    attachments: Sequence[Attachment] = (),
    notes: Sequence[str] = (),
) -> EmailMessage:
    """The complete mail for one feedback, identical for every retry of the same reference."""
    message = EmailMessage(policy=SMTP)
    kind = KIND_ZH.get(feedback.kind, feedback.kind)
    about = f" · 第{feedback.item}项" if feedback.item else ""
    message["Subject"] = f"【群众{kind}】{feedback.reference}{about}"
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = format_datetime(shanghai_time(feedback.created_at))
    message["Message-ID"] = message_id(feedback.reference)
    message["X-Feedback-Reference"] = feedback.reference
    message.set_content(build_body(feedback, item_title, attachments, notes), charset="utf-8")
    for attachment in attachments:
        maintype, _, subtype = attachment.mime.partition("/")
        message.add_attachment(
            attachment.content,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return message


def send_message(message: EmailMessage, config: SmtpConfig) -> None:
    """Send synchronously (call it in a thread); raises on any failure."""
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if config.port == 465:  # implicit TLS ("SMTPS"), the usual port for it
        smtp = smtplib.SMTP_SSL(config.host, config.port, timeout=SMTP_TIMEOUT, context=context)
    else:
        smtp = smtplib.SMTP(config.host, config.port, timeout=SMTP_TIMEOUT)
    with smtp:
        if config.starttls:
            smtp.starttls(context=context)
        if config.user:
            smtp.login(config.user, config.password)
        try:
            refused = smtp.send_message(
                message, from_addr=config.sender, to_addrs=[config.recipient]
            )
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentMailError(f"recipient refused: {exc.recipients}") from exc
        if refused:
            raise PermanentMailError(f"recipient refused: {refused}")


Downloader = Callable[[str], Awaitable[bytes]]


class MailSender:
    """The outbox sender for "email" rows: loads the feedback, fetches files, sends the mail."""

    def __init__(
        self,
        store: Store,
        config: SmtpConfig,
        download: Downloader | None = None,
        item_title: Callable[[int], str | None] | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.download = download
        self.item_title = item_title

    async def __call__(self, item: OutboxItem) -> None:
        """Send the mail for the row's feedback; raises so that the outbox retries."""
        reference = str(item.payload.get("reference") or item.feedback_reference or "")
        feedback = await self.store.get_feedback(reference)
        if feedback is None:
            raise PermanentMailError(f"no feedback with reference {reference!r}")
        title = item.payload.get("item_title")
        if title is None and feedback.item and self.item_title is not None:
            title = self.item_title(feedback.item)
        attachments, notes = await self._attachments(feedback)
        message = build_message(
            feedback,
            item_title=title,
            sender=self.config.sender,
            recipient=self.config.recipient,
            attachments=attachments,
            notes=notes,
        )
        await asyncio.to_thread(send_message, message, self.config)
        logger.info("feedback %s mailed to %s", reference, self.config.recipient)

    async def _attachments(self, feedback: Feedback) -> tuple[list[Attachment], list[str]]:
        """Download the feedback's files; a file Telegram will not give becomes a note."""
        attachments: list[Attachment] = []
        notes: list[str] = []
        total = 0
        for number, meta in enumerate(feedback.attachments, start=1):
            name = str(meta.get("name") or f"attachment-{number}.jpg")
            if self.download is None:
                notes.append(f"（附件 {name} 未能随邮件发送，可在机器人后台导出。）")
                continue
            try:
                content = await self.download(str(meta["file_id"]))
            except PermanentMailError as exc:
                notes.append(f"（附件 {name} 无法下载：{exc}）")
                continue
            if total + len(content) > MAX_ATTACHMENT_BYTES:
                notes.append(f"（附件 {name} 过大，未随邮件发送。）")
                continue
            total += len(content)
            mime = str(meta.get("mime") or ("image/jpeg" if meta.get("kind") == "photo" else ""))
            attachments.append(Attachment(name, content, mime or "application/octet-stream"))
        return attachments, notes
