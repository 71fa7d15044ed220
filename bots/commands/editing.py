"""The GOM's workbench: fix a GO's mistakes, retire what should not sell, copy it for the next drop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bots.chat import Button, ChatReply
from bots.commands.args import key_values, need, whole_number
from bots.commands.table import Audience, Call, command
from core.errors import InvalidInput
from core.money import parse_amount
from core.render import N_
from core.services import copying, editing, reports
from core.services.accounts import Actor
from core.services.editing import GroupOrderEdit, ItemEdit
from core.uow import UnitOfWork

GOM = Audience.GOM
ItemChange = Callable[[UnitOfWork, Actor, str, str], Awaitable[str]]
EDITGO_USAGE = (
    '/editgo CODE [title="…"] [desc="…"] [moq=N] [cap=N] [limit=N|none] [window=HOURS] '
    '[deadline="2026-12-24 20:00"] [language=th|none]'
)
EDITITEM_USAGE = '/edititem CODE ITEM[:VERSION] [name="…"] [price=30] [stock=N|none]'
NONE = frozenset({"none", "no", "off", "0"})


def _options(
    call: Call, positional_count: int, allowed: set[str], usage: str
) -> tuple[list[str], dict[str, str]]:
    positional, options = key_values(call.args)
    if len(positional) != positional_count or not options:
        raise InvalidInput("Usage: %(usage)s", usage=usage)
    unknown = options.keys() - allowed
    if unknown:
        raise InvalidInput(
            "I don't know the option(s) %(unknown)s. Usage: %(usage)s",
            unknown=", ".join(sorted(unknown)),
            usage=usage,
        )
    return positional, options


def _number(options: dict[str, str], key: str, label: str, *, minimum: int = 0) -> int | None:
    return whole_number(options[key], label, minimum=minimum) if key in options else None


@command(
    "editgo",
    "CODE [title=TITLE] [desc=TEXT] [moq=N] [cap=N] [limit=N] [window=HOURS] [deadline=WHEN] [language=CODE]",
    "Fix a group order's details",
    audience=GOM,
)
async def editgo(call: Call) -> ChatReply:
    allowed = {"title", "desc", "moq", "cap", "limit", "window", "deadline", "language"}
    positional, options = _options(call, 1, allowed, EDITGO_USAGE)
    limit = options.get("limit")
    edit = GroupOrderEdit(
        title=options.get("title"),
        description=options.get("desc"),
        moq=_number(options, "moq", N_("MOQ")),
        capacity=_number(options, "cap", N_("Capacity"), minimum=1),
        per_buyer_limit=None
        if limit is None
        else 0
        if limit.lower() in NONE
        else _number(options, "limit", N_("Limit")),
        payment_window_hours=_number(options, "window", N_("Payment window (hours)"), minimum=1),
        deadline=options.get("deadline"),
        language=options.get("language"),
    )
    changes = await editing.edit_group_order(call.uow(), call.actor, positional[0], edit)
    card = await reports.group_order_card(call.reader(), positional[0])
    return call.reply("go_edited", go=card, changes=changes)


@command(
    "edititem", "CODE ITEM [name=NAME] [price=PRICE] [stock=N]", "Fix an item or a version", audience=GOM
)
async def edititem(call: Call) -> ChatReply:
    positional, options = _options(call, 2, {"name", "price", "stock"}, EDITITEM_USAGE)
    card = await reports.group_order_card(call.reader(), positional[0])
    stock = options.get("stock")
    unlimited = stock is not None and stock.lower() in {"none", "no", "off", "unlimited"}
    edit = ItemEdit(
        name=options.get("name"),
        price_minor=parse_amount(options["price"], card.currency) if "price" in options else None,
        stock=None if stock is None or unlimited else _number(options, "stock", N_("Stock")),
        unlimited_stock=unlimited,
    )
    summary = await editing.edit_item(call.uow(), call.actor, positional[0], positional[1], edit)
    card = await reports.group_order_card(call.reader(), positional[0])
    return call.reply("go_edited", go=card, changes=[summary])


@command("removeitem", "CODE ITEM", "Remove an item or version nobody has ordered", audience=GOM)
async def removeitem(call: Call) -> ChatReply:
    return await _item_change(call, "removeitem", editing.remove_item, "removed")


@command("retire", "CODE ITEM", "Stop new orders of an item; its orders stay", audience=GOM)
async def retire(call: Call) -> ChatReply:
    return await _item_change(call, "retire", editing.retire_item, "retired: no new orders; its orders stay")


async def _item_change(call: Call, name: str, change: ItemChange, words: str) -> ChatReply:
    """``/NAME CODE ITEM[:VERSION]``: one service on one item, answered with the card."""
    need(call.args, 2, f"/{name} CODE ITEM[:VERSION]")
    label = await change(call.uow(), call.actor, call.args[0], call.args[1])
    card = await reports.group_order_card(call.reader(), call.args[0])
    return call.reply("go_edited", go=card, changes=[f"{label} {words}"])


@command("copygo", "OLD NEW", "Copy a group order's set-up (not its orders) for the next drop", audience=GOM)
async def copygo(call: Call) -> ChatReply:
    need(call.args, 2, "/copygo OLD NEW")
    copied = await copying.copy_group_order(call.uow(), call.actor, call.args[0], call.args[1])
    card = await reports.group_order_card(call.reader(), copied.code)
    buttons = (
        [] if copied.deadline_passed else [[Button(call.gettext("Open it"), command=f"/open {copied.code}")]]
    )
    return call.reply("go_copied", go=card, copied=copied, buttons=buttons)
