"""When a receipt says the money moved: "2 Dec 2026, 2:35 PM", "02/12/2569 14:35", "2 ธ.ค. 69".

Month names in English, Malay, Indonesian, Tagalog and Thai; Buddhist-era years (2569, or
"69" beside a Thai month) become Gregorian; 12- and 24-hour clocks. A receipt shows local
time, so the zone comes from a zone written on it (WIB, GMT+8…) or else from the currency's
country; the result is always timezone-aware.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "jan january januari enero ene มกราคม ม.ค. มค",
        "feb february februari pebrero febrero peb กุมภาพันธ์ ก.พ. กพ",
        "mar march mac maret marso มีนาคม มี.ค. มีค",
        "apr april abril abr เมษายน เม.ย. เมย",
        "may mei mayo พฤษภาคม พ.ค. พค",
        "jun june juni hunyo hun มิถุนายน มิ.ย. มิย",
        "jul july julai juli hulyo hul กรกฎาคม ก.ค. กค",
        "aug august ogos ogo agustus agu agt agosto ago สิงหาคม ส.ค. สค",
        "sep sept september setyembre septiyembre set กันยายน ก.ย. กย",
        "oct october oktober okt oktubre ตุลาคม ต.ค. ตค",
        "nov november nobyembre nob พฤศจิกายน พ.ย. พย",
        "dec december disember dis desember des disyembre ธันวาคม ธ.ค. ธค",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _number

_THAI_MONTH = re.compile(r"[\u0e00-\u0e7f]")
_MONTH = "|".join(re.escape(name) for name in sorted(_MONTHS, key=len, reverse=True))
# A four-digit year may run straight into the time when OCR drops the space: "16Jul202620:35".
_YEAR = r"(\d{4}(?=\d{1,2}[:.]\d{2})|\d{4}(?!\d)|\d{2}(?!\d))"
_DAY_MONTH_YEAR = re.compile(
    rf"(?<!\d)(\d{{1,2}})\s*(?:-\s*)?({_MONTH})(?![a-z])\.?,?\s*(?:-\s*)?{_YEAR}", re.I
)
_MONTH_DAY_YEAR = re.compile(
    rf"(?<![a-z])({_MONTH})\.?\s*(\d{{1,2}}),?\s*(\d{{4}}(?=\d{{1,2}}:\d{{2}})|\d{{4}}(?!\d))", re.I
)
_ISO = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_NUMERIC = re.compile(
    r"(?<![\d.,])(\d{1,2})([/.-])(\d{1,2})\2(\d{4}(?=\d{1,2}:\d{2})|\d{4}(?![\d.,])|\d{2}(?![\d.,]))"
)
_TIME = re.compile(
    r"(?<![\d.])(\d{1,2})(?::(\d{2})(?::(\d{2}))?|\.(\d{2})(?=\s*น))(?!\d)\s*(a\.?m\.?|p\.?m\.?|น\.?)?",
    re.I,
)
_ZONE_NAMES: dict[str, tzinfo] = {
    "WIB": ZoneInfo("Asia/Jakarta"),
    "WITA": ZoneInfo("Asia/Makassar"),
    "WIT": ZoneInfo("Asia/Jayapura"),
    "SGT": ZoneInfo("Asia/Singapore"),
    "MYT": ZoneInfo("Asia/Kuala_Lumpur"),
    "ICT": ZoneInfo("Asia/Bangkok"),
    "PHT": ZoneInfo("Asia/Manila"),
}
_ZONE = re.compile(r"\b(WITA|WIB|WIT|SGT|MYT|ICT|PHT)\b|\b(?:GMT|UTC)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?")
CURRENCY_ZONES: dict[str, str] = {
    "SGD": "Asia/Singapore",
    "MYR": "Asia/Kuala_Lumpur",
    "THB": "Asia/Bangkok",
    "IDR": "Asia/Jakarta",
    "PHP": "Asia/Manila",
    "VND": "Asia/Ho_Chi_Minh",
}
_EARLIEST, _LATEST = 2000, 2100


def find_date(text: str, *, month_first: bool = False, buddhist: bool = False) -> tuple[date, int] | None:
    """The first date written in ``text`` and where it ends, or None.

    ``month_first`` reads an ambiguous 03/04 as March 4 (the Philippines); ``buddhist``
    reads a two-digit year as Buddhist era (Thai apps), as a Thai month name beside it does."""
    text = _letters_not_zeros(text)
    candidates: list[tuple[int, int, date]] = []
    for match in _DAY_MONTH_YEAR.finditer(text):
        thai = bool(_THAI_MONTH.search(match.group(2)))
        found = _make(match.group(3), _MONTHS[match.group(2).casefold()], match.group(1), buddhist or thai)
        if found:
            candidates.append((match.start(), match.end(), found))
    for match in _MONTH_DAY_YEAR.finditer(text):
        found = _make(match.group(3), _MONTHS[match.group(1).casefold()], match.group(2), buddhist)
        if found:
            candidates.append((match.start(), match.end(), found))
    for match in _ISO.finditer(text):
        found = _make(match.group(1), int(match.group(2)), match.group(3), buddhist)
        if found:
            candidates.append((match.start(), match.end(), found))
    for match in _NUMERIC.finditer(text):
        first, second = int(match.group(1)), int(match.group(3))
        day_first = first > 12 or (second <= 12 and not month_first)
        day, month = (first, second) if day_first else (second, first)
        found = _make(match.group(4), month, str(day), buddhist)
        if found:
            candidates.append((match.start(), match.end(), found))
    if not candidates:
        return None
    _, end, found = min(candidates, key=lambda c: c[0])
    return found, end


_ZERO_IN_WORD = re.compile(r"(?<=[A-Za-z])0|0(?=[A-Za-z]{2})")


def _letters_not_zeros(text: str) -> str:
    """OCR reads the O of a month as a zero ("180ct2026", "0g0s"): a zero touching letters
    is taken for an O. Same length, so positions in the text stay true."""
    for _ in range(2):
        text = _ZERO_IN_WORD.sub("o", text)
    return text


def find_time(text: str) -> time | None:
    """The first clock time in ``text`` (14:35, 2:35 PM, 14.35 น.), or None."""
    for match in _TIME.finditer(text):
        hour = int(match.group(1))
        minute = int(match.group(2) or match.group(4))
        second = int(match.group(3) or 0)
        suffix = (match.group(5) or "").casefold().replace(".", "")
        if suffix in ("am", "pm"):
            if not 1 <= hour <= 12:
                continue
            hour = hour % 12 + (12 if suffix == "pm" else 0)
        if hour < 24 and minute < 60 and second < 60:
            return time(hour, minute, second)
    return None


def find_zone(text: str, currency: str | None) -> tzinfo:
    """The zone written on the receipt, else the currency's country's, else UTC."""
    match = _ZONE.search(text)
    if match and match.group(1):
        return _ZONE_NAMES[match.group(1)]
    if match:
        sign = 1 if match.group(2) == "+" else -1
        offset = timedelta(hours=int(match.group(3)), minutes=int(match.group(4) or 0))
        if offset <= timedelta(hours=14):
            return timezone(sign * offset)
    if currency in CURRENCY_ZONES:
        return ZoneInfo(CURRENCY_ZONES[currency])
    return UTC


def combine(day: date, clock: time | None, zone: tzinfo) -> datetime:
    return datetime.combine(day, clock or time(0, 0), zone)


def _make(year_text: str, month: int, day_text: str, buddhist: bool) -> date | None:
    year = int(year_text)
    if len(year_text) == 2:
        year = year + 2500 - 543 if buddhist else year + 2000
    elif year >= 2400:  # Buddhist era: 2569 BE is 2026 CE
        year -= 543
    if not _EARLIEST <= year <= _LATEST:
        return None
    try:
        return date(year, month, int(day_text))
    except ValueError:
        return None
