"""What a buyer may order, decided once in core for every platform (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.choices import MAX_STEP, NotOrderable, order_choices
from core.views import GroupOrderView, ItemView, ProgressView, VariantView

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def card(
    *,
    status: str = "open",
    reserved: int = 0,
    capacity: int = 10,
    limit: int | None = None,
    deadline: datetime = NOW + timedelta(days=1),
    album_left: int | None = None,
    version_b_left: int | None = None,
    card_left: int | None = None,
) -> GroupOrderView:
    return GroupOrderView(
        id=1,
        code="SVT-FML",
        title="Test GO",
        description="",
        status=status,
        currency="SGD",
        timezone="UTC",
        deadline="",
        deadline_iso=deadline.isoformat(),
        per_buyer_limit=limit,
        payment_window_hours=24,
        progress=ProgressView(reserved=reserved, paid=0, moq=2, capacity=capacity),
        items=[
            ItemView(
                "ALB",
                "FML album",
                "S$25.90",
                2590,
                album_left,
                0,
                variants=[VariantView("A", "Faded", None), VariantView("B", "Fallen", version_b_left)],
            ),
            ItemView("POB", "Photocard", "S$3.00", 300, card_left, 0),
        ],
    )


def test_each_version_and_plain_item_is_a_choice_capped_by_the_room_left() -> None:
    choices = order_choices(card(reserved=7), NOW)
    assert [c.token for c in choices.choices] == ["ALB:A", "ALB:B", "POB"]
    assert [c.most for c in choices.choices] == [3, 3, 3]
    assert choices.why is None and all(c.orderable for c in choices.choices)


def test_the_cap_is_the_least_of_room_stock_and_the_buyers_limit_left() -> None:
    choices = order_choices(card(capacity=500, limit=5, album_left=4, version_b_left=2), NOW, held=2)
    assert {c.token: c.most for c in choices.choices} == {"ALB:A": 3, "ALB:B": 2, "POB": 3}
    assert order_choices(card(capacity=500), NOW).find("pob") is not None
    assert order_choices(card(capacity=500), NOW).choices[0].most == MAX_STEP


def test_refuses_every_choice_when_the_go_is_full() -> None:
    choices = order_choices(card(reserved=10), NOW)
    assert choices.why is NotOrderable.FULL and choices.orderable == []
    assert choices.message is not None and "SVT-FML is full" in choices.message
    assert all(c.most == 0 and c.why is NotOrderable.FULL for c in choices.choices)


def test_a_sold_out_item_or_version_is_refused_alone() -> None:
    choices = order_choices(card(version_b_left=0, card_left=0), NOW)
    assert [c.token for c in choices.orderable] == ["ALB:A"]
    fallen = choices.find("ALB:B")
    assert fallen is not None and fallen.why is NotOrderable.SOLD_OUT
    assert fallen.message is not None and "FML album (Fallen) is sold out" in fallen.message
    everything_gone = order_choices(card(album_left=0), NOW)
    assert [c.token for c in everything_gone.orderable] == ["POB"]


def test_a_buyer_at_their_limit_gets_no_choice_and_is_told_why() -> None:
    choices = order_choices(card(limit=2), NOW, held=2)
    assert choices.why is NotOrderable.AT_LIMIT and choices.orderable == []
    assert choices.message == "SVT-FML allows 2 per buyer and you hold 2 already."
    assert order_choices(card(limit=2), NOW, held=1).orderable[0].most == 1


def test_a_go_not_open_or_past_its_deadline_takes_no_order() -> None:
    closed = order_choices(card(status="closed"), NOW)
    assert closed.why is NotOrderable.NOT_OPEN and closed.message == "SVT-FML is closed, not taking orders."
    late = order_choices(card(deadline=NOW), NOW)
    assert late.why is NotOrderable.DEADLINE_PASSED and late.orderable == []


def test_a_changed_price_is_named_with_both_prices() -> None:
    choice = order_choices(card(), NOW).find("POB")
    assert choice is not None
    assert choice.price_change(300, "SGD") is None
    assert choice.price_change(250, "SGD") == (
        "The price of Photocard changed from S$2.50 to S$3.00. Please check and confirm again."
    )
