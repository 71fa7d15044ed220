"""The banks' own interchange formats: OFX (SGML 1.x and XML 2.x) and SWIFT MT940.

OFX: each ``<STMTTRN>`` block gives ``TRNAMT`` (signed, credits positive), ``DTPOSTED``,
``NAME``/``MEMO`` and the bank's ``FITID``; ``CURDEF`` the currency. In SGML a leaf tag has
no closing tag, so a value runs to the next ``<`` or the end of the line.
MT940: ``:60F:`` (or ``:60M:``) gives the currency, each ``:61:`` line a date, ``C``/``D``
(``RC``/``RD`` reversals) and an amount with a decimal comma; the ``:86:`` lines after it
describe it.
"""

from __future__ import annotations

import re
from datetime import date

from core.errors import InvalidInput, UnknownCurrency
from core.money import CURRENCIES
from core.payments.statements.model import Statement, Transaction, with_fingerprints
from core.payments.statements.values import decimal_text_minor, parse_date

_OFX_BLOCK = re.compile(r"<STMTTRN>(.*?)(?=</STMTTRN>|<STMTTRN>|</BANKTRANLIST>)", re.S | re.I)
_OFX_CURRENCY = re.compile(r"<CURDEF>\s*([A-Za-z]{3})", re.I)
_MT61 = re.compile(r"^(\d{6})(\d{4})?(R?[CD])[A-Z]?([\d,]+)")


def _currency(code: str | None, fallback: str | None) -> str:
    chosen = (code or fallback or "").upper()
    if not chosen:
        raise UnknownCurrency("The file does not say its currency: name it, e.g. with --currency SGD.")
    if chosen not in CURRENCIES:
        raise UnknownCurrency("%(chosen)s is not a currency gomflow knows.", chosen=repr(chosen[:12]))
    return chosen


def read_ofx(text: str, fallback: str | None) -> Statement:
    named = _OFX_CURRENCY.search(text)
    currency = _currency(named.group(1) if named else None, fallback)
    found: list[Transaction] = []
    skipped: list[int] = []
    row, counted = 1, 0
    for block in _OFX_BLOCK.finditer(text):
        row += text.count("\n", counted, block.start())  # counted on from the last block
        counted = block.start()
        body = block.group(1)
        when = parse_date(_tag(body, "DTPOSTED")[:8])
        amount = decimal_text_minor(_tag(body, "TRNAMT").replace(",", "."), currency)
        if when is None or amount is None:
            skipped.append(row)
            continue
        words = " ".join(w for w in (_tag(body, "NAME"), _tag(body, "MEMO")) if w)
        found.append(
            Transaction(row, when, amount, currency, " ".join(words.split())[:500], _tag(body, "FITID"))
        )
    if not found and not skipped:
        raise InvalidInput("That OFX file has no transactions (no <STMTTRN> blocks).")
    return Statement("ofx", tuple(with_fingerprints(found)), tuple(skipped))


def _tag(body: str, name: str) -> str:
    match = re.search(rf"<{name}>([^<\r\n]*)", body, re.I)
    return _unescape(match.group(1).strip()) if match else ""


def _unescape(value: str) -> str:
    return value.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def read_mt940(text: str, fallback: str | None) -> Statement:
    lines = text.splitlines()
    currency = fallback.upper() if fallback else None
    found: list[Transaction] = []
    skipped: list[int] = []
    pending: tuple[int, date, int, str] | None = None  # a :61: line waiting for its :86:
    details: list[str] = []

    def flush() -> None:
        nonlocal pending
        if pending is not None:
            row, when, amount, extra = pending
            words = " ".join([*details, extra] if details else [extra])
            found.append(Transaction(row, when, amount, currency or "", " ".join(words.split())[:500]))
        pending = None
        details.clear()

    in_details = False
    for number, raw in enumerate(lines, 1):
        line = raw.rstrip()
        if line.startswith((":60F:", ":60M:")) and len(line) >= 15:
            currency = _currency(line[12:15], fallback)
        if line.startswith(":61:"):
            flush()
            in_details = False
            pending = _mt61(number, line[4:], currency)
            if pending is None:
                skipped.append(number)
        elif line.startswith(":86:"):
            in_details = pending is not None
            if in_details:
                details.append(line[4:])
        elif line.startswith(":") or line.startswith("-"):
            in_details = False
        elif in_details:
            details.append(line)
    flush()
    if not found and not skipped:
        raise InvalidInput("That MT940 file has no transactions (no :61: lines).")
    currency = _currency(currency, None)
    fixed = [Transaction(t.row, t.date, t.amount_minor, currency, t.description) for t in found]
    return Statement("mt940", tuple(with_fingerprints(fixed)), tuple(skipped))


def _mt61(number: int, body: str, currency: str | None) -> tuple[int, date, int, str] | None:
    match = _MT61.match(body)
    if match is None:
        return None
    when = parse_date("20" + match.group(1))
    amount = decimal_text_minor(match.group(4).replace(",", ".").rstrip("."), _currency(currency, None))
    if when is None or amount is None:
        return None
    sign = -1 if match.group(3).endswith("D") != match.group(3).startswith("R") else 1
    rest = body[match.end() :]
    reference = rest[4:].split("//")[0] if len(rest) > 4 else ""  # after the type code (e.g. NTRF)
    return number, when, sign * amount, reference.strip()
