"""A GOM's money terms for a GO: ``/rate`` and ``/srcprice`` (prices in another currency),
``/fee``, ``/surcharge``, ``/deposit`` and ``/instalments``; ``/money`` shows them all.

Each change locks the GO's row first. A change of the rate or the fee writes the current
terms for every order that has none (``terms.stamp_orders``) and bumps the GO's
``catalogue_version``, so existing orders keep what they were placed under and an order
that read the old prices is read again (see ``core.payments.terms``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select, update

from core.db.models import GOMoney, GroupOrder, Item, Variant
from core.errors import InvalidInput, UnknownItem
from core.lookups import load_go
from core.money import format_money, parse_amount
from core.payments import methods, terms
from core.payments.parts import BP, Rate, convert, parse_percent, parse_rate, percent_text
from core.services.accounts import Actor, require_admin
from core.services.group_orders import normalise_item_code
from core.status import GO_LIVE
from core.uow import UnitOfWork
from core.when import local_text

RATE_USAGE = "/rate CODE 1000 KRW = 0.98 SGD, or /rate CODE off"
SRCPRICE_USAGE = "/srcprice CODE ITEM[:VERSION] PRICE (in the price currency set with /rate)"
FEE_USAGE = "/fee CODE 1.50 | 5% | 1.50 5% | off (per item)"
SURCHARGE_USAGE = "/surcharge CODE METHOD 0.50 3.4% | off (e.g. /surcharge SVT-FML stripe 0.50 3.4%)"
DEPOSIT_USAGE = "/deposit CODE 30% | AMOUNT (per item) [days=N] | off"
INSTALMENTS_USAGE = "/instalments CODE 2026-12-10,2027-01-10 (1 to 3 dates after the first payment) | off"
OFF = ("off", "none", "0")
MAX_BALANCE_DAYS = 90
MAX_LATER_DATES = 3


@dataclass(frozen=True)
class MoneyTermsView:
    go_code: str
    changed: str  # what this command did, in words ("" for /money)
    lines: list[str] = field(default_factory=list)


async def show(uow: UnitOfWork, actor: Actor, go_code: str) -> MoneyTermsView:
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        return await _view(uow, go, "")


async def _view(uow: UnitOfWork, go: GroupOrder, changed: str) -> MoneyTermsView:
    row = await terms.money_of(uow, go.id)
    now = terms.go_terms(row, go.currency)
    lines: list[str] = []
    if now.rate is not None:
        lines.append(f"Prices in {now.rate.source}, paid in {go.currency} at {now.rate.text()}")
        items = (
            await uow.session.scalars(select(Item).where(Item.go_id == go.id).order_by(Item.position))
        ).all()
        for item in items:
            if item.source_price_minor is not None:
                source = format_money(item.source_price_minor, now.rate.source)
                lines.append(f"  {item.code}: {source} = {format_money(item.price_minor, go.currency)}")

    def money(minor: int) -> str:
        return format_money(minor, go.currency)

    if now.has_fee:
        shown = [money(now.fee_fixed_minor)] if now.fee_fixed_minor else []
        shown += [percent_text(now.fee_bp)] if now.fee_bp else []
        lines.append(f"GOM fee per item: {' + '.join(shown)}")
    for extra in terms.surcharges_of(row).values():
        shown = [money(extra.fixed_minor)] if extra.fixed_minor else []
        shown += [percent_text(extra.bp)] if extra.bp else []
        lines.append(f"Surcharge for {methods.LABELS.get(extra.method, extra.method)}: {' + '.join(shown)}")
    if row is not None and row.deposit_kind is not None:
        amount = (
            percent_text(row.deposit_value)
            if row.deposit_kind == terms.DEPOSIT_PERCENT
            else f"{money(row.deposit_value)} per item"
        )
        lines.append(f"Deposit: {amount} now; the balance {row.balance_days} days after the items arrive")
    dates = terms.instalment_dates(row)
    if dates:
        when = ", ".join(local_text(terms.end_of_day(d, go.timezone), go.timezone) for d in dates)
        lines.append(f"Instalments: {len(dates) + 1} (the first with the order, then {when})")
    if not lines:
        lines.append(f"Prices in {go.currency}, no fee, no surcharge, paid in full.")
    return MoneyTermsView(go.code, changed, lines)


async def _locked(uow: UnitOfWork, actor: Actor, go_code: str) -> tuple[GroupOrder, GOMoney]:
    """The GO, its row locked (as every order placement locks it), and its terms row."""
    go = await load_go(uow, go_code, lock=True)
    await require_admin(uow, actor, go)
    if go.status not in GO_LIVE:
        raise InvalidInput(
            "%(code)s is %(status)s; its terms can no longer change.", code=go.code, status=go.status
        )
    row = await terms.money_of(uow, go.id)
    if row is None:
        row = GOMoney(go_id=go.id, surcharges="[]", instalment_dates="", updated_at=uow.now)
        row.fee_fixed_minor = row.fee_bp = row.deposit_value = 0
        row.balance_days = 14
        uow.session.add(row)
    row.updated_at = uow.now
    return go, row


async def _bump(uow: UnitOfWork, go: GroupOrder) -> None:
    await uow.session.execute(
        update(GroupOrder)
        .where(GroupOrder.id == go.id)
        .values(catalogue_version=GroupOrder.catalogue_version + 1, updated_at=uow.now)
        .execution_options(synchronize_session=False)
    )


def _audit(uow: UnitOfWork, actor: Actor, go: GroupOrder, action: str, detail: str) -> None:
    uow.audit(actor_id=actor.user_id, entity="group_order", entity_id=go.id, action=action, detail=detail)


async def set_rate(uow: UnitOfWork, actor: Actor, go_code: str, text: str) -> MoneyTermsView:
    """Price the GO in another currency at a rate (or ``off``); items with a price in it are
    repriced, and existing orders keep the rate they were placed at."""
    async with uow:
        go, row = await _locked(uow, actor, go_code)
        rate = None if text.strip().lower() in OFF else parse_rate(text, go.currency)
        if rate is None and row.source_currency is None:
            raise InvalidInput(
                "%(code)s has no rate to turn off. %(rate_usage)s", code=go.code, rate_usage=RATE_USAGE
            )
        if rate is not None and row.source_currency not in (None, rate.source):
            raise InvalidInput(
                ("%(code)s is priced in %(source_currency)s; turn that off first (/rate %(code)s off)."),
                code=go.code,
                source_currency=row.source_currency,
            )
        old = terms.go_terms(row, go.currency).rate
        stamped = await terms.stamp_orders(uow, go)
        row.source_currency = rate.source if rate else None
        row.rate_num, row.rate_den = (rate.numerator, rate.denominator) if rate else (None, None)
        repriced = await _reprice(uow, go, rate) if rate else await _forget_source_prices(uow, go)
        await _bump(uow, go)
        ratio = f" ({rate.numerator}/{rate.denominator})" if rate else ""
        _audit(
            uow,
            actor,
            go,
            "rate_set",
            f"from {old.text() if old else 'none'} to {rate.text() if rate else 'none'}{ratio}; "
            f"{repriced} prices converted, {stamped} orders kept at the old rate",
        )
        said = (
            f"{rate.text()}: {repriced} prices converted"
            if rate
            else f"prices stay as they are in {go.currency}"
        )
        view = await _view(uow, go, f"Rate set, {said}. Orders already placed keep their rate.")
        await uow.commit()
        return view


async def _reprice(uow: UnitOfWork, go: GroupOrder, rate: Rate) -> int:
    """Every price held in the price currency, converted at ``rate`` (the GO is locked)."""
    count = 0
    items = (await uow.session.scalars(select(Item).where(Item.go_id == go.id))).all()
    for item in items:
        if item.source_price_minor is not None:
            item.price_minor = convert(item.source_price_minor, rate)
            count += 1
    variants = (
        await uow.session.scalars(
            select(Variant).join(Item, Item.id == Variant.item_id).where(Item.go_id == go.id)
        )
    ).all()
    for variant in variants:
        if variant.source_price_minor is not None:
            variant.price_minor = convert(variant.source_price_minor, rate)
            count += 1
    return count


async def _forget_source_prices(uow: UnitOfWork, go: GroupOrder) -> int:
    """Turned off: prices stay as converted, and no longer name a price in another currency."""
    item_ids = select(Item.id).where(Item.go_id == go.id)
    await uow.session.execute(
        update(Variant).where(Variant.item_id.in_(item_ids)).values(source_price_minor=None)
    )
    await uow.session.execute(update(Item).where(Item.go_id == go.id).values(source_price_minor=None))
    return 0


async def set_source_price(
    uow: UnitOfWork, actor: Actor, go_code: str, token: str, price_text: str
) -> MoneyTermsView:
    """An item's (or version's) price in the price currency, converted at the current rate."""
    async with uow:
        go, row = await _locked(uow, actor, go_code)
        rate = terms.go_terms(row, go.currency).rate
        if rate is None:
            raise InvalidInput(
                "%(code)s has no price currency yet. %(rate_usage)s", code=go.code, rate_usage=RATE_USAGE
            )
        amount = parse_amount(price_text, rate.source)
        if amount <= 0:
            raise InvalidInput("A price must be more than zero.")
        converted = convert(amount, rate)
        if converted <= 0:
            raise InvalidInput(
                "%(amount)s is less than the smallest %(currency)s coin.",
                amount=format_money(amount, rate.source),
                currency=go.currency,
            )
        item, variant = await _find(uow, go, token)
        target: Item | Variant = variant or item
        target.source_price_minor, target.price_minor = amount, converted
        await _bump(uow, go)
        label = f"{item.code}:{variant.code}" if variant else item.code
        _audit(
            uow,
            actor,
            go,
            "source_price_set",
            f"{label} {amount} {rate.source} = {converted} at {rate.text()}",
        )
        changed = f"{label}: {format_money(amount, rate.source)} = {format_money(converted, go.currency)}"
        view = await _view(uow, go, changed)
        await uow.commit()
        return view


async def _find(uow: UnitOfWork, go: GroupOrder, token: str) -> tuple[Item, Variant | None]:
    item_code, _, variant_code = token.partition(":")
    code = normalise_item_code(item_code)
    item = await uow.session.scalar(select(Item).where(Item.go_id == go.id, Item.code == code))
    if item is None:
        raise UnknownItem(
            "%(code)s has no item %(code2)s. /go %(code)s lists them.", code=go.code, code2=code[:20]
        )
    if not variant_code:
        return item, None
    version = normalise_item_code(variant_code)
    variant = await uow.session.scalar(
        select(Variant).where(Variant.item_id == item.id, Variant.code == version)
    )
    if variant is None:
        raise UnknownItem(
            "%(name)s has no version %(version)s. /go %(code)s lists them.",
            name=item.name,
            version=version[:20],
            code=go.code,
        )
    return item, variant


def _fixed_and_percent(words: list[str], currency: str, usage: str) -> tuple[int, int]:
    """``1.50``, ``5%`` or both, in any order."""
    if not 1 <= len(words) <= 2:
        raise InvalidInput(usage)
    fixed = bp = 0
    for word in words:
        if word.endswith("%"):
            if bp:
                raise InvalidInput("Give one percentage. %(usage)s", usage=usage)
            bp = parse_percent(word)
        else:
            if fixed:
                raise InvalidInput("Give one fixed amount. %(usage)s", usage=usage)
            fixed = parse_amount(word, currency)
    if not fixed and not bp:
        raise InvalidInput("Give an amount or a percentage above zero, or off. %(usage)s", usage=usage)
    return fixed, bp


async def set_fee(uow: UnitOfWork, actor: Actor, go_code: str, words: list[str]) -> MoneyTermsView:
    """The GOM's fee per item (fixed, a percentage of its price, or both) for new orders."""
    async with uow:
        go, row = await _locked(uow, actor, go_code)
        if len(words) == 1 and words[0].lower() in OFF:
            fixed = bp = 0
        else:
            fixed, bp = _fixed_and_percent(words, go.currency, FEE_USAGE)
        stamped = await terms.stamp_orders(uow, go)
        old = (row.fee_fixed_minor, row.fee_bp)
        row.fee_fixed_minor, row.fee_bp = fixed, bp
        await _bump(uow, go)
        _audit(
            uow,
            actor,
            go,
            "fee_set",
            f"from {old} to {(fixed, bp)} (fixed minor, basis points); {stamped} kept",
        )
        view = await _view(uow, go, "Fee set for new orders; orders already placed keep theirs.")
        await uow.commit()
        return view


async def set_surcharge(
    uow: UnitOfWork, actor: Actor, go_code: str, method: str, words: list[str]
) -> MoneyTermsView:
    """What paying online by ``method`` adds on top (the provider's fee passed on)."""
    async with uow:
        go, row = await _locked(uow, actor, go_code)
        method = method.strip().lower()
        online = [m for m in methods.GATEWAYS if m != "telegram"]
        if method not in online:
            raise InvalidInput(
                (
                    "A surcharge applies to paying online: one of %(online)s. Bank transfers and QR "
                    "payments never carry one."
                ),
                online=", ".join(online),
            )
        entries = {e.method: e for e in terms.surcharges_of(row).values()}
        if len(words) == 1 and words[0].lower() in OFF:
            entries.pop(method, None)
            fixed = bp = 0
        else:
            fixed, bp = _fixed_and_percent(words, go.currency, SURCHARGE_USAGE)
            entries[method] = terms.Surcharge(method, fixed, bp)
        row.surcharges = json.dumps(
            [{"method": e.method, "fixed": e.fixed_minor, "bp": e.bp} for e in entries.values()]
        )
        _audit(uow, actor, go, "surcharge_set", f"{method} fixed {fixed} bp {bp}")
        view = await _view(uow, go, f"Surcharge for {methods.LABELS.get(method, method)} set.")
        await uow.commit()
        return view


async def set_deposit(uow: UnitOfWork, actor: Actor, go_code: str, words: list[str]) -> MoneyTermsView:
    """A deposit now (a percentage of what the items owe, or an amount per item), the balance
    ``days`` after the GO arrives; for orders that have not started paying."""
    async with uow:
        go, row = await _locked(uow, actor, go_code)
        if not words:
            raise InvalidInput(DEPOSIT_USAGE)
        if words[0].lower() in OFF and len(words) == 1:
            row.deposit_kind, row.deposit_value = None, 0
        else:
            days: int = row.balance_days
            amount_words = []
            for word in words:
                if word.lower().startswith("days="):
                    typed = word[5:]
                    if not typed.isdigit() or not 1 <= int(typed) <= MAX_BALANCE_DAYS:
                        raise InvalidInput(
                            "days= is a whole number from 1 to %(max_balance_days)s.",
                            max_balance_days=MAX_BALANCE_DAYS,
                        )
                    days = int(typed)
                else:
                    amount_words.append(word)
            if len(amount_words) != 1:
                raise InvalidInput(DEPOSIT_USAGE)
            given = amount_words[0]
            if given.endswith("%"):
                kind, value = terms.DEPOSIT_PERCENT, parse_percent(given)
                if not 0 < value < BP:
                    raise InvalidInput("A deposit is more than 0% and less than 100%.")
            else:
                kind, value = terms.DEPOSIT_PER_UNIT, parse_amount(given, go.currency)
                if value <= 0:
                    raise InvalidInput("A deposit must be more than zero.")
            row.deposit_kind, row.deposit_value, row.balance_days = kind, value, days
        _audit(
            uow, actor, go, "deposit_set", f"{row.deposit_kind} {row.deposit_value} days {row.balance_days}"
        )
        view = await _view(
            uow, go, "Deposit set for orders not yet paying." if row.deposit_kind else "No deposit."
        )
        await uow.commit()
        return view


async def set_instalments(uow: UnitOfWork, actor: Actor, go_code: str, text: str) -> MoneyTermsView:
    """The dates of the instalments after the first (1 to 3, in order, still ahead): buyers
    may then choose to pay in 2 to 4 parts (``/pay ORDER instalments``)."""
    async with uow:
        go, row = await _locked(uow, actor, go_code)
        word = text.strip()
        if word.lower() in OFF:
            row.instalment_dates = ""
        else:
            try:
                dates = [date.fromisoformat(part.strip()) for part in word.split(",") if part.strip()]
            except ValueError as exc:
                raise InvalidInput(
                    "Dates are written 2026-12-10. %(instalments_usage)s", instalments_usage=INSTALMENTS_USAGE
                ) from exc
            if not 1 <= len(dates) <= MAX_LATER_DATES:
                raise InvalidInput(
                    "Give 1 to %(max_later_dates)s dates. %(instalments_usage)s",
                    max_later_dates=MAX_LATER_DATES,
                    instalments_usage=INSTALMENTS_USAGE,
                )
            if dates != sorted(set(dates)):
                raise InvalidInput("Give the dates in order, each one once.")
            if terms.end_of_day(dates[0], go.timezone) <= uow.now:
                raise InvalidInput(
                    "%(isoformat)s has passed; give dates still ahead.", isoformat=dates[0].isoformat()
                )
            row.instalment_dates = ",".join(d.isoformat() for d in dates)
        _audit(uow, actor, go, "instalments_set", row.instalment_dates or "off")
        view = await _view(uow, go, "Instalments set." if row.instalment_dates else "No instalments.")
        await uow.commit()
        return view
