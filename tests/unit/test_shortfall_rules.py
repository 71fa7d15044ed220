"""Who goes short and what they are owed: the rules, and the money adding up exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.policy import ShortfallRule
from core.shortfalls import Claim, choose_short, remedy_for, spread, ticket

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def claims(*units: int, same_time: bool = False) -> list[Claim]:
    """Claims placed one minute apart (or all at once), order ids 1, 2, 3…"""
    return [
        Claim(
            line_id=10 + n,
            order_id=n,
            number=f"SVT-FML-{n}",
            placed_at=T0 if same_time else T0 + timedelta(minutes=n),
            units=u,
            unit_price_minor=2590,
        )
        for n, u in enumerate(units, start=1)
    ]


def test_last_claims_go_short_first() -> None:
    assert choose_short(claims(2, 3, 1, 1), 3, ShortfallRule.LAST_FIRST, "") == {14: 1, 13: 1, 12: 1}


def test_first_claims_go_short_first() -> None:
    assert choose_short(claims(2, 3, 1, 1), 3, ShortfallRule.FIRST_FIRST, "") == {11: 2, 12: 1}


def test_claims_placed_at_the_same_time_go_by_order_id() -> None:
    at_once = list(reversed(claims(1, 1, 1, same_time=True)))
    assert choose_short(at_once, 1, ShortfallRule.LAST_FIRST, "") == {13: 1}
    assert choose_short(at_once, 1, ShortfallRule.FIRST_FIRST, "") == {11: 1}


def test_the_lottery_is_the_same_for_the_same_seed_and_draws_units() -> None:
    some = claims(2, 3, 1, 1, 4, 2)
    first = choose_short(some, 5, ShortfallRule.LOTTERY, "kpop2026")
    assert first == choose_short(list(reversed(some)), 5, ShortfallRule.LOTTERY, "kpop2026")
    assert sum(first.values()) == 5
    by_line = {c.line_id: c for c in some}
    assert all(units <= by_line[line].units for line, units in first.items())
    draws = {
        tuple(sorted(choose_short(some, 5, ShortfallRule.LOTTERY, f"seed-{n}").items())) for n in range(20)
    }
    assert len(draws) > 1  # another seed, another draw


def test_a_lottery_ticket_is_the_sha256_of_seed_and_unit() -> None:
    import hashlib

    claim = claims(1)[0]
    assert ticket("s", claim, 0) == hashlib.sha256(b"s\nSVT-FML-1\n11\n0").hexdigest()


def test_more_short_than_claimed_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot go short"):
        choose_short(claims(1, 1), 3, ShortfallRule.LAST_FIRST, "")


def test_value_first_lowers_what_is_owed_then_comes_back() -> None:
    assert remedy_for(2590, 0) == remedy_for(2590, 0)
    assert (remedy_for(2590, 0).less_owed_minor, remedy_for(2590, 0).back_minor) == (0, 2590)
    assert (remedy_for(2590, 4770).less_owed_minor, remedy_for(2590, 4770).back_minor) == (2590, 0)
    assert (remedy_for(5180, 2180).less_owed_minor, remedy_for(5180, 2180).back_minor) == (2180, 3000)


prices = st.integers(min_value=1, max_value=10_000_000)
orders = st.lists(
    st.tuples(st.integers(1, 5), prices, st.integers(0, 100)),  # units, unit price, % of it paid
    min_size=1,
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(
    orders=orders,
    share=st.integers(0, 100),
    rule=st.sampled_from(list(ShortfallRule)),
    seed=st.text(max_size=8),
)
def test_refunds_and_less_owed_add_up_exactly_to_the_value_not_delivered(
    orders: list[tuple[int, int, int]], share: int, rule: ShortfallRule, seed: str
) -> None:
    some = [
        Claim(n, n, f"GO-{n}", T0 + timedelta(seconds=n % 3), units, price)
        for n, (units, price, _) in enumerate(orders, start=1)
    ]
    short = sum(c.units for c in some) * share // 100
    chosen = choose_short(some, short, rule, seed)
    assert sum(chosen.values()) == short
    value_not_delivered = 0
    given_back = 0
    less_owed = 0
    for claim, (units, price, paid_pct) in zip(some, orders, strict=True):
        total = units * price
        paid = total * paid_pct // 100
        value = chosen.get(claim.line_id, 0) * price
        split = remedy_for(value, total - paid)
        assert split.back_minor <= paid  # never more back than was paid
        assert split.less_owed_minor + split.back_minor == value
        value_not_delivered += value
        given_back += split.back_minor
        less_owed += split.less_owed_minor
    assert (
        given_back + less_owed
        == value_not_delivered
        == sum(chosen.get(c.line_id, 0) * c.unit_price_minor for c in some)
    )


@given(room=st.lists(st.integers(0, 100_000), max_size=6), data=st.data())
def test_a_refund_shared_over_payments_adds_up_and_fits_each(room: list[int], data: st.DataObject) -> None:
    amount = data.draw(st.integers(0, sum(room)))
    parts = spread(amount, room)
    assert sum(parts) == amount
    assert all(0 <= part <= most for part, most in zip(parts, room, strict=True))
