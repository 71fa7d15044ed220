"""Provider amounts in and out: exact decimal text, never floats."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from core.money import get_currency, minor_to_plain


def minor_from_decimal(value: object, currency: str) -> int | None:
    """``Decimal('25.9')`` in SGD → 2590; None when it has more precision than the currency."""
    try:
        exact = Decimal(str(value)) * (10 ** get_currency(currency).exponent)
    except (InvalidOperation, ValueError):
        return None
    if exact != exact.to_integral_value():
        return None
    return int(exact)


def loads_exact(body: bytes) -> Any:
    """Parse JSON keeping decimal numbers as ``Decimal``."""
    return json.loads(body, parse_float=Decimal)


def dumps_with_amount(payload: dict[str, Any], field: str, minor: int, currency: str) -> bytes:
    """JSON with ``field`` written as an exact decimal number (e.g. 25.90), not a float."""
    marker = "__gomflow_amount__"
    text = json.dumps({**payload, field: marker})
    return text.replace(json.dumps(marker), minor_to_plain(minor, currency), 1).encode()
