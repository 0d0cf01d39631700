"""Delivery channels, one small interface each: e-mail over SMTP (LCA_MAIL_URL), or into a
folder of .eml files for a developer (``file://…``). LINE can be added beside them."""

from __future__ import annotations

import re
import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from lca.models import Message
from lca.notifications.content import Content

#: characters never allowed in a header value (a name with CR/LF must not start a new header)
_HEADER_BREAKERS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
SMTP_TIMEOUT = 30  #: seconds for each SMTP step


class DeliveryError(Exception):
    """A delivery did not happen; ``permanent`` when trying again cannot help."""

    def __init__(self, reason: str, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class Channel(Protocol):
    def deliver(self, message: Message, content: Content) -> None:
        """Hand the message over, or raise DeliveryError."""


def header_text(value: str | None) -> str:
    """A value safe in a header: no control characters, single spaces."""
    return " ".join(_HEADER_BREAKERS.sub(" ", value or "").split())


def build_email(message: Message, content: Content, sender: str) -> EmailMessage:
    """The e-mail of a message: Thai subject and names encoded (RFC 2047), plain text and HTML,
    the stable Message-ID, and one-click unsubscribe headers (RFC 8058) when it has them."""
    recipient = message.recipient
    name = recipient.full_name_th if message.language == "th" else recipient.full_name_en
    sender_name, sender_address = parseaddr(sender)
    email = EmailMessage()
    email["Subject"] = header_text(content.subject)
    email["From"] = Address(header_text(sender_name), addr_spec=sender_address)
    email["To"] = Address(header_text(name or recipient.full_name_th), addr_spec=recipient.email)
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = message.email_id
    email["Auto-Submitted"] = "auto-generated"
    email["Content-Language"] = message.language
    if content.unsubscribe:
        email["List-Unsubscribe"] = f"<{content.unsubscribe}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(content.text)
    email.add_alternative(content.html, subtype="html")
    return email


class SmtpChannel:
    """E-mail through an SMTP server: ``smtp://[user:pass@]host[:port]`` (STARTTLS whenever the
    server offers it, and always before a password is sent), ``smtps://…`` (TLS from the
    start, port 465 by default)."""

    def __init__(self, url: str, sender: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("LCA_MAIL_URL must look like smtp://host:port or smtps://host:port")
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender
        self._context: ssl.SSLContext | None = None

    @property
    def context(self) -> ssl.SSLContext:
        """The TLS settings, made once: loading the system's certificates takes a while."""
        if self._context is None:
            self._context = ssl.create_default_context()
        return self._context

    def _connect(self) -> smtplib.SMTP:
        context = self.context
        if self.implicit_tls:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=SMTP_TIMEOUT, context=context)
        server = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT)
        server.ehlo()
        if server.has_extn("starttls"):
            server.starttls(context=context)
            server.ehlo()
        elif self.username:
            server.quit()
            raise DeliveryError("the mail server offers no STARTTLS: no password sent in clear")
        return server

    def deliver(self, message: Message, content: Content) -> None:
        email = build_email(message, content, self.sender)
        try:
            with self._connect() as server:
                if self.username and self.password is not None:
                    server.login(self.username, self.password)
                server.send_message(email)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _text in error.recipients.values()]
            raise DeliveryError(_reason(error), permanent=all(c >= 500 for c in codes)) from error
        except smtplib.SMTPResponseException as error:
            raise DeliveryError(_reason(error), permanent=error.smtp_code >= 500) from error
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryError(_reason(error)) from error


class MailboxChannel:
    """A developer's mailbox: each e-mail written as a .eml file into a folder."""

    def __init__(self, folder: Path, sender: str) -> None:
        self.folder = folder
        self.sender = sender

    def deliver(self, message: Message, content: Content) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        email = build_email(message, content, self.sender)
        target = self.folder / f"{message.id:08d}-{message.kind.value}.eml"
        temporary = target.with_suffix(".tmp")
        temporary.write_bytes(bytes(email))
        temporary.replace(target)  # a reader never sees half a file


def _reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:500]


def mail_channel(url: str, sender: str, root: Path) -> Channel:
    """The channel LCA_MAIL_URL names: ``smtp://``, ``smtps://`` or ``file://folder``."""
    if url.startswith("file://"):
        folder = Path(unquote(url.removeprefix("file://")))
        return MailboxChannel(folder if folder.is_absolute() else root / folder, sender)
    return SmtpChannel(url, sender)
