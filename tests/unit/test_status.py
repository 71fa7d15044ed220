"""Behaviour of core.status: group orders and orders move only along their listed edges."""

from __future__ import annotations

import itertools

import pytest

from core.errors import InvalidTransition
from core.status import (
    GO_LIVE,
    GO_TRANSITIONS,
    ORDER_LIVE,
    ORDER_TRANSITIONS,
    GOStatus,
    OrderStatus,
    check_go_transition,
    check_order_transition,
)

# The lifecycle written out by hand, so a change to the table has to be a deliberate one.
GO_EDGES = {
    ("draft", "open"),
    ("draft", "cancelled"),
    ("open", "closed"),
    ("open", "cancelled"),
    ("closed", "confirmed"),
    ("closed", "failed"),
    ("closed", "cancelled"),
    ("closed", "open"),  # reopened by the GOM while it waits below its MOQ
    ("confirmed", "ordered"),
    ("confirmed", "cancelled"),
    ("ordered", "arrived"),
    ("ordered", "cancelled"),
    ("arrived", "packing"),
    ("arrived", "shipping"),
    ("packing", "shipping"),
    ("shipping", "completed"),
}
ORDER_EDGES = {
    ("placed", "paid"),
    ("placed", "cancelled"),
    ("placed", "expired"),
    ("paid", "refunded"),
    ("paid", "cancelled"),
    ("paid", "placed"),  # a proof's approval undone (/unapprove)
}
GO_TERMINAL = ("failed", "completed", "cancelled")
ORDER_TERMINAL = ("cancelled", "expired", "refunded")

GO_FORBIDDEN = sorted(set(itertools.product(GOStatus, GOStatus)) - GO_EDGES)
ORDER_FORBIDDEN = sorted(set(itertools.product(OrderStatus, OrderStatus)) - ORDER_EDGES)


# --- group orders ---------------------------------------------------------------------------


def test_go_transition_table_has_an_entry_for_every_status() -> None:
    assert set(GO_TRANSITIONS) == set(GOStatus)


def test_go_transition_table_lists_exactly_the_documented_lifecycle() -> None:
    table_edges = {(str(src), str(dst)) for src, targets in GO_TRANSITIONS.items() for dst in targets}
    assert table_edges == GO_EDGES


@pytest.mark.parametrize(("current", "target"), sorted(GO_EDGES))
def test_allows_each_listed_go_transition(current: str, target: str) -> None:
    check_go_transition(current, GOStatus(target))


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("draft", "closed"),
        ("draft", "confirmed"),
        ("open", "confirmed"),
        ("open", "failed"),
        ("open", "draft"),
        ("closed", "draft"),
        ("confirmed", "shipping"),
        ("ordered", "completed"),
        ("arrived", "cancelled"),
        ("shipping", "arrived"),
        ("shipping", "cancelled"),
    ],
)
def test_refuses_skipping_or_reversing_a_go_step_and_names_the_current_status(
    current: str, target: str
) -> None:
    with pytest.raises(InvalidTransition) as refused:
        check_go_transition(current, GOStatus(target))
    message = refused.value.message
    assert f"This group order is {current};" in message
    assert f"cannot become {target}" in message
    assert refused.value.code == "invalid_transition"


def test_go_refusal_lists_the_allowed_next_statuses_in_order() -> None:
    with pytest.raises(InvalidTransition) as refused:
        check_go_transition("closed", GOStatus.DRAFT)
    assert refused.value.message == (
        "This group order is closed; it cannot become draft "
        "(next can be: cancelled, confirmed, failed, open)."
    )


@pytest.mark.parametrize(("current", "target"), GO_FORBIDDEN)
def test_refuses_every_go_transition_not_in_the_lifecycle(current: GOStatus, target: GOStatus) -> None:
    with pytest.raises(InvalidTransition, match=f"is {current};"):
        check_go_transition(str(current), target)


@pytest.mark.parametrize("status", list(GOStatus))
def test_a_go_cannot_stay_in_the_same_status(status: GOStatus) -> None:
    with pytest.raises(InvalidTransition):
        check_go_transition(status, status)


@pytest.mark.parametrize("current", GO_TERMINAL)
@pytest.mark.parametrize("target", list(GOStatus))
def test_terminal_go_statuses_allow_nothing(current: str, target: GOStatus) -> None:
    assert GO_TRANSITIONS[GOStatus(current)] == frozenset()
    with pytest.raises(InvalidTransition) as refused:
        check_go_transition(current, target)
    assert refused.value.message == f"This group order is {current}; it cannot change any more."


def test_go_transition_accepts_the_enum_member_as_current_status() -> None:
    check_go_transition(GOStatus.DRAFT, GOStatus.OPEN)
    with pytest.raises(InvalidTransition, match="This group order is draft;"):
        check_go_transition(GOStatus.DRAFT, GOStatus.SHIPPING)


def test_only_failed_and_cancelled_gos_have_released_their_orders() -> None:
    assert set(GOStatus) - GO_LIVE == {GOStatus.FAILED, GOStatus.CANCELLED}


def test_every_go_status_can_reach_a_terminal_status() -> None:
    terminal = {GOStatus(s) for s in GO_TERMINAL}
    for start in GOStatus:
        seen, frontier = {start}, [start]
        while frontier:
            for nxt in GO_TRANSITIONS[frontier.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        assert seen & terminal, start


# --- orders ---------------------------------------------------------------------------------


def test_order_transition_table_has_an_entry_for_every_status() -> None:
    assert set(ORDER_TRANSITIONS) == set(OrderStatus)


def test_order_transition_table_lists_exactly_the_documented_lifecycle() -> None:
    table_edges = {(str(src), str(dst)) for src, targets in ORDER_TRANSITIONS.items() for dst in targets}
    assert table_edges == ORDER_EDGES


@pytest.mark.parametrize(("current", "target"), sorted(ORDER_EDGES))
def test_allows_each_listed_order_transition(current: str, target: str) -> None:
    check_order_transition(current, OrderStatus(target))


@pytest.mark.parametrize(
    ("current", "target"),
    [("placed", "refunded"), ("placed", "placed"), ("paid", "paid"), ("paid", "expired")],
)
def test_refuses_an_order_transition_off_the_table_and_names_the_current_status(
    current: str, target: str
) -> None:
    with pytest.raises(InvalidTransition) as refused:
        check_order_transition(current, OrderStatus(target))
    assert refused.value.message.startswith(f"This order is {current}; it cannot become {target}")


def test_order_refusal_lists_the_allowed_next_statuses() -> None:
    with pytest.raises(InvalidTransition) as refused:
        check_order_transition("paid", OrderStatus.EXPIRED)
    assert refused.value.message == (
        "This order is paid; it cannot become expired (next can be: cancelled, placed, refunded)."
    )


@pytest.mark.parametrize(("current", "target"), ORDER_FORBIDDEN)
def test_refuses_every_order_transition_not_in_the_lifecycle(
    current: OrderStatus, target: OrderStatus
) -> None:
    with pytest.raises(InvalidTransition, match=f"This order is {current};"):
        check_order_transition(str(current), target)


@pytest.mark.parametrize("current", ORDER_TERMINAL)
@pytest.mark.parametrize("target", list(OrderStatus))
def test_terminal_order_statuses_allow_nothing(current: str, target: OrderStatus) -> None:
    with pytest.raises(InvalidTransition) as refused:
        check_order_transition(current, target)
    assert refused.value.message == f"This order is {current}; it cannot change any more."


def test_only_placed_and_paid_orders_hold_slots() -> None:
    assert set(ORDER_LIVE) == {OrderStatus.PLACED, OrderStatus.PAID}
