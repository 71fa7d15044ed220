"""The cells of a statement: text encodings, amounts and dates as banks write them.

Amounts become exact minor units through ``Decimal`` of the written digits, never a float.
Which of ``.`` and ``,`` is the decimal point is decided per cell: the last of the two when
both appear; a lone one followed by exactly three digits groups thousands (``1,234``,
``15.000``), otherwise it is the decimal point (``12,50``).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from core.money import CURRENCIES

# Thai letters in TIS-620 are the bytes 0xA1-0xFB; a run of three of them is Thai text,
# where cp1252 would show three accented Latin letters in a row (rare in any language).
_THAI_RUN = re.compile(rb"[\xa1-\xfb]{3,}")
_MONTHS = {
    # English, Malay, Indonesian, Tagalog (Spanish-derived) short and long month names
    **dict.fromkeys(["jan", "january", "januari", "enero", "ene"], 1),
    **dict.fromkeys(["feb", "february", "februari", "pebrero", "peb", "febrero"], 2),
    **dict.fromkeys(["mar", "march", "mac", "maret", "marso"], 3),
    **dict.fromkeys(["apr", "april", "abril"], 4),
    **dict.fromkeys(["may", "mei", "mayo"], 5),
    **dict.fromkeys(["jun", "june", "juni", "hunyo"], 6),
    **dict.fromkeys(["jul", "july", "julai", "juli", "hulyo"], 7),
    **dict.fromkeys(["aug", "august", "ogos", "ogo", "agu", "agustus", "agosto", "ago", "agt"], 8),
    **dict.fromkeys(["sep", "sept", "september", "setyembre", "set"], 9),
    **dict.fromkeys(["oct", "october", "okt", "oktober", "oktubre"], 10),
    **dict.fromkeys(["nov", "november", "nobyembre", "nop", "nopember"], 11),
    **dict.fromkeys(["dec", "december", "dis", "disember", "des", "desember", "disyembre"], 12),
    # Thai abbreviations
    "ม.ค.": 1, "ก.พ.": 2, "มี.ค.": 3, "เม.ย.": 4, "พ.ค.": 5, "มิ.ย.": 6,
    "ก.ค.": 7, "ส.ค.": 8, "ก.ย.": 9, "ต.ค.": 10, "พ.ย.": 11, "ธ.ค.": 12,
}  # fmt: skip
_NUMERIC_DATE = re.compile(r"^(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{1,4})(?:[ T].*)?$")
_WORD_DATE = re.compile(r"^(\d{1,2})[ \-/]?([^\d\s\-/]+)[ \-/,]*(\d{2,4})(?:\s.*)?$")
_MONTH_FIRST = re.compile(r"^([^\d\s,]+)\.?\s+(\d{1,2}),?\s+(\d{4})(?:\s.*)?$")  # Dec 01, 2026
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})")
_CREDIT_MARKS = ("CR", "C", "K", "KR")  # credit, kredit
_DEBIT_MARKS = ("DR", "D", "DB", "DEBET")
_MARKS = sorted([(m, 1) for m in _CREDIT_MARKS] + [(m, -1) for m in _DEBIT_MARKS], key=lambda p: -len(p[0]))


def decode(content: bytes) -> str:
    """UTF-8 (with or without a BOM); else TIS-620 when Thai runs show; else cp1252."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if _THAI_RUN.search(content):
        try:
            return content.decode("tis-620")
        except UnicodeDecodeError:
            pass
    return content.decode("cp1252", errors="replace")


def parse_date(text: str, day_first: bool = True) -> date | None:
    """A date as banks write it, or None: ``DD/MM/YYYY`` (``-`` and ``.`` too),
    ``YYYY-MM-DD``, ``DD Mon YYYY``, ``Mon DD, YYYY`` (English, Malay, Indonesian, Tagalog, Thai),
    ``YYYYMMDD``; Buddhist-era years (after 2400) are made Common Era."""
    raw = text.strip().strip('"').strip()
    if not raw:
        return None
    try:
        numeric = _NUMERIC_DATE.match(raw)
        if numeric:
            a, b, c = (int(g) for g in numeric.groups())
            if len(numeric.group(1)) == 4:
                return _date(a, b, c)
            day, month = (a, b) if (day_first and b <= 12) or a > 12 else (b, a)
            return _date(c, month, day)
        worded = _WORD_DATE.match(raw)
        if worded:
            word = worded.group(2)
            named = _MONTHS.get(word.strip(".,").lower()) or _MONTHS.get(word)
            if named is None:
                return None
            return _date(int(worded.group(3)), named, int(worded.group(1)))
        month_first = _MONTH_FIRST.match(raw)
        if month_first:
            named = _MONTHS.get(month_first.group(1).lower())
            if named is None:
                return None
            return _date(int(month_first.group(3)), named, int(month_first.group(2)))
        compact = _COMPACT_DATE.match(raw)
        if compact and len(raw) >= 8:
            return _date(*(int(g) for g in compact.groups()))
    except ValueError:
        return None
    return None


def _date(year: int, month: int, day: int) -> date:
    if year < 100:
        year += 2000
    elif year > 2400:  # Buddhist era (Thailand): 2569 BE is 2026 CE
        year -= 543
    return date(year, month, day)


def split_mark(text: str) -> tuple[str, int]:
    """An amount cell less a trailing CR/DR marker, and the sign the marker gives
    (1 credit, -1 debit, 0 none)."""
    raw = text.strip()
    if not raw or not raw[-1].isalpha():
        return raw, 0
    upper = raw.upper()
    for mark, sign in _MARKS:
        if upper.endswith(mark) and (len(raw) == len(mark) or not upper[-len(mark) - 1].isalpha()):
            return raw[: -len(mark)].strip(), sign
    return raw, 0


def marker_sign(text: str) -> int:
    """The sign a CR/DR column's cell gives: 1, -1, or 0 when it is neither."""
    word = text.strip().upper().rstrip(".")
    if word in (*_CREDIT_MARKS, "CREDIT", "KREDIT", "DEPOSIT", "ฝาก", "เงินเข้า"):
        return 1
    if word in (*_DEBIT_MARKS, "DEBIT", "WITHDRAWAL", "ถอน", "เงินออก"):
        return -1
    return 0


def parse_amount(text: str, currency: str) -> int | None:
    """Exact minor units of a written amount, sign kept; None for an empty or unreadable cell.

    Accepts ``1,234.56``, ``1.234,56``, ``(12.00)``, ``-12.00``, ``12.00-``, ``S$ 12``,
    ``+12``; a currency code or symbol around the number is ignored.
    """
    raw = re.sub(r"[^\d.,()+\-\u2212]", "", text)
    if not re.search(r"\d", raw):
        return None
    negative = raw.startswith(("-", "\u2212", "(")) or raw.endswith(("-", "\u2212", ")"))
    digits = raw.strip("()+-\u2212")
    if re.search(r"[^\d.,]", digits):
        return None
    number = _plain_number(digits)
    if number is None:
        return None
    exponent = CURRENCIES[currency].exponent
    try:
        minor = Decimal(number).scaleb(exponent)
    except InvalidOperation:
        return None
    if minor != minor.to_integral_value():
        return None  # finer than the currency's minor unit: not an amount this bank wrote
    value = int(minor)
    return -value if negative else value


def decimal_text_minor(text: str, currency: str) -> int | None:
    """Minor units of a number already in plain form (``1234.5``, a spreadsheet cell's repr)."""
    try:
        minor = Decimal(text).scaleb(CURRENCIES[currency].exponent)
    except InvalidOperation:
        return None
    if not minor.is_finite() or minor != minor.to_integral_value():
        return None
    return int(minor)


def _plain_number(digits: str) -> str | None:
    """``1,234.56`` / ``1.234,56`` / ``1234`` → ``1234.56`` / ``1234.56`` / ``1234``."""
    if "." in digits and "," in digits:
        decimal_mark = "." if digits.rfind(".") > digits.rfind(",") else ","
        thousands = "," if decimal_mark == "." else "."
        whole, _, fraction = digits.rpartition(decimal_mark)
        if decimal_mark in whole:
            return None
        if not _grouped(whole, thousands):
            return None
        return f"{whole.replace(thousands, '')}.{fraction}"
    for mark in (".", ","):
        if mark not in digits:
            continue
        parts = digits.split(mark)
        if len(parts) > 2 or (len(parts) == 2 and len(parts[1]) == 3 and parts[0] not in ("", "0")):
            return "".join(parts) if _grouped(digits, mark) else None
        return f"{parts[0] or '0'}.{parts[1]}"
    return digits


def _grouped(whole: str, thousands: str) -> bool:
    groups = whole.split(thousands)
    return (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])) or len(groups) == 1
