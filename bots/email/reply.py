"""An answer by email, in the thread of the message it answers."""

from __future__ import annotations

import html
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from urllib.parse import quote

from bots.chat import ChatReply


def threaded_reply(
    sender: str,
    address: str,
    reply: ChatReply,
    *,
    subject: str,
    references: Sequence[str],
    options: Sequence[str] = (),
) -> EmailMessage:
    """The answer (RFC 5322 3.6.4): "Re:" and the subject, ``In-Reply-To`` the message
    answered, ``References`` the thread. It is about the person's own request, so it carries
    no unsubscribe header and is never muted; ``Auto-Submitted`` tells other robots not to
    answer it (RFC 3834). Text with an HTML alternative, where each of the menu's ``options``
    (the commands "Reply 1 …" picks) is also a link that writes that reply; a document or
    image attached."""
    email = EmailMessage()
    email["Subject"] = f"Re: {subject}"[:200] if subject else "Re: your message to gomflow"
    email["From"] = formataddr(("gomflow", sender))
    email["To"] = address
    email["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "gomflow.invalid")
    email["Auto-Submitted"] = "auto-replied"
    if references:
        email["In-Reply-To"] = references[-1]
        email["References"] = " ".join(references)
    email.set_content(reply.text)
    title = email["Subject"]
    links = [(f"{n}: {command}", _mailto(sender, title, str(n))) for n, command in enumerate(options, 1)]
    email.add_alternative(as_html(reply.text, links), subtype="html")
    if reply.document is not None:
        maintype, _, subtype = reply.document.mime_type.partition("/")
        email.add_attachment(
            reply.document.content, maintype=maintype, subtype=subtype, filename=reply.document.filename
        )
    if reply.image is not None:
        email.add_attachment(reply.image, maintype="image", subtype="png", filename="qr.png")
    return email


def as_html(text: str, links: Sequence[tuple[str, str]] = ()) -> str:
    """Plain text as a small HTML part that keeps its lines, then the links (label, href)."""
    body = html.escape(text).replace("\n", "<br>\n")
    if links:
        items = "".join(
            f'<li><a href="{html.escape(href)}">{html.escape(label)}</a></li>' for label, href in links
        )
        body += f"<ul>{items}</ul>"
    return f'<!DOCTYPE html><html><body><div style="font-family:sans-serif">{body}</div></body></html>'


def _mailto(address: str, subject: str, body: str) -> str:
    """A link that opens a reply to gomflow saying ``body`` (RFC 6068)."""
    return f"mailto:{address}?subject={quote(subject)}&body={quote(body)}"
