"""What a buyer may type as a quantity, and how item tokens like ``ALB:A`` read."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import InvalidInput, InvalidQuantity

MAX_QUANTITY = 1_000
MAX_LINES = 20


@dataclass(frozen=True)
class LineRequest:
    """One line a buyer asked for: an item code, maybe a variant code, a quantity."""

    item_code: str
    variant_code: str | None
    quantity: int


_QUANTITY = re.compile(r"^[+-]?[0-9]+$")


def parse_quantity(text: str) -> int:
    cleaned = text.strip()
    if not _QUANTITY.match(cleaned):
        raise InvalidQuantity("'%(short)s' is not a quantity; use a whole number like 2.", short=_short(text))
    if len(cleaned.lstrip("+-").lstrip("0")) > 7:
        raise InvalidQuantity(
            "%(short)s is far more than anyone can order (max %(max_quantity)s).",
            short=_short(text),
            max_quantity=MAX_QUANTITY,
        )
    value = int(cleaned)
    if value < 1:
        raise InvalidQuantity("Quantity must be at least 1.")
    if value > MAX_QUANTITY:
        raise InvalidQuantity(
            "%(value)s is more than one order can hold (max %(max_quantity)s).",
            value=value,
            max_quantity=MAX_QUANTITY,
        )
    return value


def check_requests(requests: list[LineRequest]) -> None:
    """The same bounds as typed quantities, for lines that came from buttons or other adapters."""
    if not requests:
        raise InvalidInput("Say what to order: ITEM QTY, e.g. ALB:A 1.")
    if len(requests) > MAX_LINES:
        raise InvalidInput("One order can have at most %(max_lines)s lines.", max_lines=MAX_LINES)
    for request in requests:
        quantity = request.quantity
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            raise InvalidQuantity("Quantity must be a whole number like 2.")
        if quantity < 1:
            raise InvalidQuantity("Quantity must be at least 1.")
        if quantity > MAX_QUANTITY:
            raise InvalidQuantity(
                "%(quantity)s is more than one order can hold (max %(max_quantity)s).",
                quantity=quantity,
                max_quantity=MAX_QUANTITY,
            )


def parse_item_token(token: str) -> tuple[str, str | None]:
    """``ALB`` → (ALB, None); ``ALB:A`` or ``ALB/A`` → (ALB, A)."""
    if not token.strip():
        raise InvalidInput("Name the item to order, like ALB or ALB:A.")
    for sep in (":", "/"):
        if sep in token:
            item, _, variant = token.partition(sep)
            if not item or not variant or ":" in variant or "/" in variant:
                raise InvalidInput("'%(short)s' should look like ITEM or ITEM:VERSION.", short=_short(token))
            return item.upper(), variant.upper()
    return token.upper(), None


def parse_line_pairs(tokens: list[str]) -> list[LineRequest]:
    """``ITEM QTY [ITEM QTY …]`` into line requests."""
    if not tokens or len(tokens) % 2:
        raise InvalidInput("Give each item with a quantity: ITEM QTY [ITEM QTY …], e.g. ALB:A 2.")
    if len(tokens) // 2 > MAX_LINES:
        raise InvalidInput("One order can have at most %(max_lines)s lines.", max_lines=MAX_LINES)
    lines = []
    for item_token, qty_token in zip(tokens[::2], tokens[1::2], strict=True):
        item, variant = parse_item_token(item_token)
        lines.append(LineRequest(item, variant, parse_quantity(qty_token)))
    return lines


def _short(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
