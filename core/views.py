"""Plain read models handed to templates: strings and numbers, nothing lazy."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class VariantView:
    code: str
    name: str
    left: int | None  # None: no stock limit of its own


@dataclass(frozen=True)
class ItemView:
    code: str
    name: str
    price: str
    price_minor: int
    left: int | None
    reserved: int
    paid: int = 0
    variants: list[VariantView] = field(default_factory=list)


@dataclass(frozen=True)
class ProgressView:
    reserved: int
    paid: int
    moq: int
    capacity: int

    @property
    def moq_reached(self) -> bool:
        return self.reserved >= self.moq

    @property
    def left(self) -> int:
        return self.capacity - self.reserved


@dataclass(frozen=True)
class GroupOrderView:
    id: int
    code: str
    title: str
    description: str
    status: str
    currency: str
    timezone: str
    deadline: str
    deadline_iso: str
    per_buyer_limit: int | None
    payment_window_hours: int
    progress: ProgressView
    items: list[ItemView] = field(default_factory=list)


@dataclass(frozen=True)
class LineView:
    label: str
    token: str
    quantity: int
    amount: str


@dataclass(frozen=True)
class OrderView:
    number: str
    go_code: str
    go_title: str
    status: str
    units: int
    total: str
    payment_due: str
    buyer: str
    lines: list[LineView] = field(default_factory=list)


@dataclass(frozen=True)
class WaitlistView:
    id: int
    go_code: str
    token: str
    label: str
    quantity: int
    position: int
    status: str
