"""The developer's mailbox: ``/dev/mail`` lists the .eml files the worker wrote into the
``file://`` folder of LCA_MAIL_URL (what ``make run`` uses), and shows each one, so a newcomer
reads every message without a mail server. Registered only when LCA_ENV=development."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import unquote

from flask import Blueprint, abort, current_app, render_template
from markupsafe import Markup, escape

from lca.core.config import ROOT
from lca.web.permissions import public

bp = Blueprint("dev_mail", __name__, url_prefix="/dev/mail")

#: the names MailboxChannel gives its files: nothing else is ever opened
EML_NAME = re.compile(r"\A[0-9]{8}-[a-z_]{1,40}\.eml\Z")
LINK = re.compile(r"https?://[^\s<>\"']+")
SHOWN = 200  #: the newest messages on the list


@dataclass(frozen=True)
class Letter:
    name: str
    subject: str
    to: str
    sent: datetime | None
    email: EmailMessage


def mailbox_folder() -> Path | None:
    """The folder LCA_MAIL_URL writes into, or None when mail goes to a server."""
    url = current_app.config.get("LCA_MAIL_URL") or ""
    if not url.startswith("file://"):
        return None
    folder = Path(unquote(url.removeprefix("file://")))
    return folder if folder.is_absolute() else ROOT / folder


def header(raw: bytes, name: str) -> str:
    """A header decoded as RFC 2047 says: the white space between two encoded words is
    dropped (Python's parser of address headers keeps it, splitting a long Thai name)."""
    value = message_from_bytes(raw).get(name)
    return str(make_header(decode_header(str(value)))) if value else ""


def read_letter(path: Path) -> Letter:
    raw = path.read_bytes()
    email = message_from_bytes(raw, policy=default_policy)
    try:
        sent = parsedate_to_datetime(str(email["Date"])) if email["Date"] else None
    except (TypeError, ValueError):
        sent = None
    return Letter(path.name, header(raw, "Subject"), header(raw, "To"), sent, email)


def with_links(text: str) -> Markup:
    """Plain text, escaped, with its web addresses clickable."""
    pieces, last = [], 0
    for found in LINK.finditer(text):
        address = found.group().rstrip(".,;:)")
        pieces += [
            escape(text[last : found.start()]),
            Markup('<a href="%s">%s</a>') % (address, address),
        ]
        last = found.start() + len(address)
    pieces.append(escape(text[last:]))
    return Markup("").join(pieces)


@bp.get("")
@public
def index():
    folder = mailbox_folder()
    files = sorted(folder.glob("*.eml"), reverse=True)[:SHOWN] if folder and folder.is_dir() else []
    letters = [read_letter(path) for path in files if EML_NAME.match(path.name)]
    return render_template("dev/mail.html", folder=folder, letters=letters)


@bp.get("/<name>")
@public
def show(name: str):
    folder = mailbox_folder()
    if folder is None or not EML_NAME.match(name) or not (folder / name).is_file():
        abort(404)
    letter = read_letter(folder / name)
    plain = letter.email.get_body(("plain",))
    text = plain.get_content() if isinstance(plain, EmailMessage) else ""
    return render_template("dev/mail_message.html", letter=letter, text=with_links(text))
