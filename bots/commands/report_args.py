"""Reading what a GOM adds after ``/orders CODE`` or ``/payments CODE``: a page, a filter,
a buyer."""

from __future__ import annotations

from bots.chat import Button
from bots.commands.table import Call
from core.errors import InvalidInput
from core.services.order_pages import OrderQuery, Show

MAX_PAGE = 1_000_000


def parse_query(words: list[str], usage: str) -> OrderQuery:
    """``page 2`` (or ``p2``), ``unpaid`` or ``paid``, ``@handle``, in any order."""
    page: int | None = None
    show = Show.ALL
    buyer: str | None = None
    rest = list(words)
    while rest:
        word = rest.pop(0)
        lowered = word.lower()
        if lowered == "page":
            if not rest:
                raise InvalidInput("Which page? Usage: %(usage)s", usage=usage)
            page = page_number(rest.pop(0))
        elif lowered in (Show.UNPAID.value, Show.PAID.value):
            show = Show(lowered)
        elif word.startswith("@") and 1 < len(word) <= 121:
            buyer = word[1:]
        else:
            raise InvalidInput("I don't understand '%(word)s'. Usage: %(usage)s", word=word[:30], usage=usage)
    return OrderQuery(page, show, buyer)


def page_number(text: str) -> int:
    cleaned = text.strip().replace(",", "")
    if not cleaned.isascii() or not cleaned.isdigit() or len(cleaned) > 9:
        raise InvalidInput("A page is a whole number from 1, not '%(text)s'.", text=text[:20])
    number = int(cleaned)
    if not 1 <= number <= MAX_PAGE:
        raise InvalidInput(
            "A page is a whole number from 1 to %(max_page)s, not %(text)s.",
            max_page=format(MAX_PAGE, ","),
            text=text[:20],
        )
    return number


def page_buttons(
    call: Call, command: str, page: int, pages: int, whole: Button | None = None
) -> list[list[Button]]:
    """Previous and Next under a page (numbered replies where a platform has no buttons),
    and the whole list as a file."""
    row = []
    if page > 1:
        row.append(
            Button(call.gettext("◀ Page %(page)s", page=page - 1), command=f"{command} page {page - 1}")
        )
    if page < pages:
        row.append(
            Button(call.gettext("Page %(page)s ▶", page=page + 1), command=f"{command} page {page + 1}")
        )
    rows = [row] if row else []
    if whole is not None:
        rows.append([whole])
    return rows
