"""Deadlines as GOMs type them, read in the group order's own timezone."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import InvalidInput

_RELATIVE = re.compile(r"^\+?(\d{1,4})\s*(m|min|h|hr|d|day|days|w)$", re.IGNORECASE)
_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d")
_UNITS = {
    "m": "minutes",
    "min": "minutes",
    "h": "hours",
    "hr": "hours",
    "d": "days",
    "day": "days",
    "days": "days",
    "w": "weeks",
}


# Where buyers paying in each currency most likely are, for deadlines typed without a zone.
CURRENCY_TIMEZONES = {
    "SGD": "Asia/Singapore",
    "MYR": "Asia/Kuala_Lumpur",
    "PHP": "Asia/Manila",
    "IDR": "Asia/Jakarta",
    "THB": "Asia/Bangkok",
    "VND": "Asia/Ho_Chi_Minh",
    "KRW": "Asia/Seoul",
    "JPY": "Asia/Tokyo",
}


def timezone_for(currency: str, fallback: str) -> str:
    return CURRENCY_TIMEZONES.get(currency.strip().upper(), fallback)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            "'%(name)s' is not a timezone; use a name like Asia/Singapore.", name=name[:40]
        ) from exc


def parse_when(text: str, tz: str, now: datetime, *, relative_to: datetime | None = None) -> datetime:
    """``2026-12-01 20:00`` (local), ``2026-12-01`` (end of that day) or ``+3d``/``12h``.

    A relative time counts from ``relative_to`` when given (``/extend +2d`` moves the
    current deadline two days), else from ``now``.
    """
    cleaned = text.strip()
    zone(tz)
    relative = _RELATIVE.match(cleaned)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2).lower()
        return (relative_to or now) + timedelta(**{_UNITS[unit]: amount})
    for fmt in _FORMATS:
        try:
            local = datetime.strptime(cleaned, fmt)
        except ValueError:
            continue
        if fmt == "%Y-%m-%d":
            local = local.replace(hour=23, minute=59)
        return local.replace(tzinfo=zone(tz))
    raise InvalidInput(
        ("'%(cleaned)s' is not a time I understand; use 2026-12-01 20:00, 2026-12-01, or +3d / 12h."),
        cleaned=cleaned[:40],
    )


def future_deadline(text: str, tz: str, now: datetime) -> datetime:
    deadline = parse_when(text, tz, now)
    if deadline <= now:
        raise InvalidInput("That deadline has already passed; pick a time in the future.")
    return deadline


def local_text(moment: datetime, tz: str) -> str:
    """How a deadline reads to people in the GO's timezone."""
    if moment.utcoffset() is None:  # read in the process's own zone, which may change: not kept
        return _local_text(moment, tz)
    return _kept_local_text(moment, tz)


def _local_text(moment: datetime, tz: str) -> str:
    local = moment.astimezone(zone(tz))
    return local.strftime("%a %d %b %Y, %H:%M ") + (local.tzname() or tz)


# The orders of one batch share a payment deadline (``now`` plus the GO's window), so its
# text is worked out once a batch, not once an order. An instant equal to a kept one (the
# same moment in another zone) reads the same in ``tz``.
_kept_local_text = lru_cache(maxsize=256)(_local_text)


def local_stamp(moment: datetime, tz: str) -> str:
    """A moment in the GO's timezone the way a spreadsheet sorts it: ``2026-11-20 20:00 +08``."""
    local = moment.astimezone(zone(tz))
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or tz)
