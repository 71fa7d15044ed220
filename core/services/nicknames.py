"""Buyers' nicknames: what the public masterlist calls them, never their name or contact.

A nickname is chosen by the buyer (``/nickname``) and checked here: 2 to 24 characters
of any script, letters, digits, emoji, spaces and a little punctuation, but nothing a
chat platform would read as a mention, a link or markup, nothing that looks like a phone
number or an email address, and none of the characters the masterlist's own labels use
(``#``, brackets), so no chosen nickname can pass for another buyer's label.

On one GO's masterlist each buyer gets one label (``labels_for``), in the order of their
first claim in the GO (cancelled claims count, so the numbering never shifts): their
nickname, or ``Buyer #N`` without one. Two buyers whose nicknames read the same (case
and width folded) are told apart deterministically: the first to claim keeps it, the
next reads ``Mina (2)``, and so on.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import func, select, update

from core.db.models import Order, User
from core.errors import InvalidInput
from core.services.accounts import Actor
from core.text import clean_name
from core.uow import UnitOfWork

MIN_LENGTH = 2
MAX_LENGTH = 24
USAGE = "/nickname NAME (2 to 24 characters), or /nickname alone to see yours"

# What a platform reads as markup or a mention, and what the masterlist's labels use.
_FORBIDDEN = set('@#<>[](){}*_~`|\\/:;=&$%^"')
_URL = re.compile(r"(?i)(https?|www\.|\.(com|net|org|io|me|gg|co|ly|xyz|app|link|sg|kr|my|ph|id)\b)")
_DIGITS = re.compile(r"\d")
MAX_DIGITS = 6  # more and it could be a phone number or an account


@dataclass(frozen=True)
class NicknameView:
    nickname: str | None


def check_nickname(text: str) -> str:
    """The nickname as it will be stored and shown, or ``InvalidInput`` saying why not."""
    name = clean_name(text)
    if not name:
        raise InvalidInput("Usage: %(usage)s", usage=USAGE)
    if not MIN_LENGTH <= len(name) <= MAX_LENGTH:
        raise InvalidInput(
            ("A nickname is %(min_length)s to %(max_length)s characters; that one is %(name_count)s."),
            min_length=MIN_LENGTH,
            max_length=MAX_LENGTH,
            name_count=len(name),
        )
    bad = sorted({c for c in name if c in _FORBIDDEN})
    if bad:
        shown = " ".join(bad)
        raise InvalidInput(
            (
                "A nickname cannot have %(shown)s in it (no mentions, links or formatting). "
                "Letters of any language, digits, spaces, emoji, . - ! ? are fine."
            ),
            shown=shown,
        )
    if any(unicodedata.category(c) in ("Cf", "Co", "Cs", "Cn", "Zl", "Zp") for c in name):
        raise InvalidInput("A nickname cannot have invisible or unassigned characters in it.")
    if _URL.search(name):
        raise InvalidInput("A nickname cannot be or contain a link.")
    if len(_DIGITS.findall(name)) > MAX_DIGITS:
        raise InvalidInput(
            ("A nickname has at most %(max_digits)s digits, so it never shows a phone number or an account."),
            max_digits=MAX_DIGITS,
        )
    if label_key(name).startswith("buyer"):
        raise InvalidInput(
            "Nicknames starting with 'Buyer' are kept for buyers who have none; choose another."
        )
    return name


def label_key(name: str) -> str:
    """How two nicknames are compared: width and case folded, spaces left out."""
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())


async def set_nickname(uow: UnitOfWork, actor: Actor, text: str) -> NicknameView:
    """``/nickname NAME``: the buyer's nickname from now on, on every masterlist."""
    name = check_nickname(text)
    async with uow:
        before = await uow.session.scalar(select(User.nickname).where(User.id == actor.user_id))
        await uow.session.execute(
            update(User).where(User.id == actor.user_id).values(nickname=name, nickname_key=label_key(name))
        )
        uow.audit(
            actor_id=actor.user_id,
            entity="user",
            entity_id=actor.user_id,
            action="nickname",
            detail=f"{before or '(none)'} -> {name}",
        )
        await uow.commit()
    return NicknameView(name)


async def my_nickname(uow: UnitOfWork, actor: Actor) -> NicknameView:
    """``/nickname``: what the masterlists call the buyer now (None: ``Buyer #N``)."""
    async with uow:
        return NicknameView(await uow.session.scalar(select(User.nickname).where(User.id == actor.user_id)))


def assign_labels(buyers: Iterable[tuple[int, str | None]]) -> dict[int, str]:
    """Labels for ``(buyer id, nickname)`` in the order of their first claim, numbered from 1."""
    labels: dict[int, str] = {}
    seen: dict[str, int] = {}
    for number, (buyer_id, nickname) in enumerate(buyers, start=1):
        if not nickname:
            labels[buyer_id] = f"Buyer #{number}"
            continue
        key = label_key(nickname)
        seen[key] = seen.get(key, 0) + 1
        labels[buyer_id] = nickname if seen[key] == 1 else f"{nickname} ({seen[key]})"
    return labels


async def labels_for(uow: UnitOfWork, go_id: int) -> Mapping[int, str]:
    """Each buyer of a GO's public label, by buyer id (see the module doc)."""
    first = func.min(Order.id).label("first")
    claims = select(Order.buyer_id, first).where(Order.go_id == go_id).group_by(Order.buyer_id).subquery()
    rows = (
        await uow.session.execute(
            select(claims.c.buyer_id, User.nickname)
            .join(User, User.id == claims.c.buyer_id)
            .order_by(claims.c.first)
        )
    ).all()
    return assign_labels((int(buyer_id), nickname) for buyer_id, nickname in rows)
