"""Behaviour of core.when: deadlines as GOMs type them, read in the group order's timezone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.errors import InvalidInput
from core.when import (
    CURRENCY_TIMEZONES,
    future_deadline,
    local_text,
    parse_when,
    timezone_for,
    zone,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SG = "Asia/Singapore"

# --- relative forms -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("+3d", timedelta(days=3)),
        ("3d", timedelta(days=3)),
        ("12h", timedelta(hours=12)),
        ("+12hr", timedelta(hours=12)),
        ("90m", timedelta(minutes=90)),
        ("45min", timedelta(minutes=45)),
        ("2w", timedelta(weeks=2)),
        ("1day", timedelta(days=1)),
        ("+3 days", timedelta(days=3)),
        ("3D", timedelta(days=3)),
        ("  +1H  ", timedelta(hours=1)),
    ],
)
def test_relative_times_count_from_now(text: str, delta: timedelta) -> None:
    assert parse_when(text, SG, NOW) == NOW + delta


def test_relative_time_keeps_the_timezone_of_now() -> None:
    result = parse_when("+1d", SG, NOW)
    assert result.tzinfo is UTC
    assert result.utcoffset() == timedelta(0)


def test_relative_time_does_not_depend_on_the_go_timezone() -> None:
    assert parse_when("5h", "America/Los_Angeles", NOW) == parse_when("5h", "Asia/Tokyo", NOW)


# --- absolute forms -------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["2026-12-01 20:00", "2026-12-01T20:00", " 2026-12-01 20:00 "])
def test_absolute_time_is_read_in_the_given_timezone(text: str) -> None:
    result = parse_when(text, SG, NOW)
    assert result == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert result.astimezone(ZoneInfo(SG)).hour == 20


@pytest.mark.parametrize(
    ("tz", "utc_hour"),
    [("Asia/Singapore", 12), ("Asia/Seoul", 11), ("UTC", 20), ("Europe/London", 20), ("Asia/Jakarta", 13)],
)
def test_the_same_wall_time_is_a_different_instant_in_each_timezone(tz: str, utc_hour: int) -> None:
    assert parse_when("2026-12-01 20:00", tz, NOW).astimezone(UTC).hour == utc_hour


def test_a_date_alone_means_one_minute_before_local_midnight() -> None:
    result = parse_when("2026-12-01", SG, NOW)
    assert result == datetime(2026, 12, 1, 23, 59, tzinfo=ZoneInfo(SG))
    assert result.astimezone(UTC) == datetime(2026, 12, 1, 15, 59, tzinfo=UTC)


def test_absolute_time_follows_daylight_saving_of_that_date() -> None:
    winter = parse_when("2026-01-15 12:00", "Europe/London", NOW)
    summer = parse_when("2026-07-15 12:00", "Europe/London", NOW)
    assert winter.astimezone(UTC).hour == 12
    assert summer.astimezone(UTC).hour == 11


@pytest.mark.parametrize(
    "text",
    [
        "",
        "tomorrow",
        "next friday",
        "3",
        "+3",
        "3s",
        "3 weeks",
        "-3d",
        "+12345d",
        "2026-02-30",
        "2026-12-01 25:00",
        "01/12/2026",
        "2026-12-01 20:00 SGT",
        "2026-12-01 8pm",
    ],
)
def test_refuses_text_it_cannot_read_as_a_time(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_when(text, SG, NOW)
    assert "is not a time I understand" in refused.value.message
    assert "2026-12-01 20:00" in refused.value.message


def test_refusal_quotes_at_most_forty_characters_of_the_input() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_when("z" * 300, SG, NOW)
    assert "z" * 40 in refused.value.message
    assert "z" * 41 not in refused.value.message


@pytest.mark.parametrize("tz", ["Mars/Olympus_Mons", "", "not a zone", "../etc/passwd"])
def test_refuses_an_unknown_timezone_for_an_absolute_time(tz: str) -> None:
    with pytest.raises(InvalidInput, match="is not a timezone; use a name like Asia/Singapore"):
        parse_when("2026-12-01 20:00", tz, NOW)


def test_zone_tolerates_surrounding_spaces() -> None:
    assert zone("  Asia/Singapore ") == ZoneInfo("Asia/Singapore")


# --- future_deadline ------------------------------------------------------------------------


def test_future_deadline_accepts_a_later_time() -> None:
    assert future_deadline("+1m", SG, NOW) == NOW + timedelta(minutes=1)
    assert future_deadline("2026-12-01", SG, NOW) > NOW


@pytest.mark.parametrize("text", ["2026-11-20 20:00", "2026-11-19", "2025-01-01 00:00", "0m", "+0d"])
def test_future_deadline_refuses_now_or_a_past_time(text: str) -> None:
    # 2026-11-20 20:00 in Singapore is exactly NOW (12:00 UTC): not in the future.
    with pytest.raises(InvalidInput) as refused:
        future_deadline(text, SG, NOW)
    assert refused.value.message == "That deadline has already passed; pick a time in the future."


def test_future_deadline_compares_instants_not_wall_times() -> None:
    # NOW is 20:00 in Singapore: 20:01 there is one minute later, 19:59 one minute earlier.
    assert future_deadline("2026-11-20 20:01", SG, NOW) == NOW + timedelta(minutes=1)
    with pytest.raises(InvalidInput):
        future_deadline("2026-11-20 19:59", SG, NOW)


# --- local_text -----------------------------------------------------------------------------


def test_local_text_shows_the_local_wall_time_and_zone() -> None:
    assert local_text(datetime(2026, 12, 1, 12, 0, tzinfo=UTC), SG) == "Tue 01 Dec 2026, 20:00 +08"


def test_local_text_crosses_midnight_into_the_local_date() -> None:
    assert local_text(datetime(2026, 12, 1, 20, 30, tzinfo=UTC), "Asia/Seoul") == "Wed 02 Dec 2026, 05:30 KST"


def test_local_text_round_trips_a_parsed_deadline() -> None:
    deadline = parse_when("2026-12-24 18:45", "Asia/Manila", NOW)
    assert local_text(deadline, "Asia/Manila").startswith("Thu 24 Dec 2026, 18:45")


def test_local_text_refuses_an_unknown_timezone() -> None:
    with pytest.raises(InvalidInput):
        local_text(NOW, "Nowhere/Special")


# --- timezone_for ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "expected"),
    [("SGD", "Asia/Singapore"), ("krw", "Asia/Seoul"), (" php ", "Asia/Manila"), ("JPY", "Asia/Tokyo")],
)
def test_timezone_for_a_known_currency(currency: str, expected: str) -> None:
    assert timezone_for(currency, "UTC") == expected


@pytest.mark.parametrize("currency", ["USD", "EUR", "", "???"])
def test_timezone_for_an_unmapped_currency_is_the_fallback(currency: str) -> None:
    assert timezone_for(currency, "Europe/Berlin") == "Europe/Berlin"


@pytest.mark.parametrize("name", sorted(set(CURRENCY_TIMEZONES.values())))
def test_every_mapped_timezone_exists(name: str) -> None:
    assert zone(name).key == name
