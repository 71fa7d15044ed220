"""Commands for GOMs and their helpers."""

from __future__ import annotations

from bots.chat import Button, ChatReply, Document
from bots.commands.args import key_values, need, whole_number
from bots.commands.newgo_flow import start_newgo_conversation
from bots.commands.report_args import page_buttons, parse_query
from bots.commands.table import Audience, Call, command
from core.errors import InvalidInput
from core.money import parse_amount
from core.permissions import Permission
from core.render import N_
from core.services import group_orders, impact, order_pages, refunds, report_files, reports
from core.services.group_orders import NewGroupOrder, NewItem, NewVariant
from core.when import timezone_for

GOM = Audience.GOM
NEWGO_USAGE = (
    '/newgo CODE "Title" currency=SGD moq=20 cap=100 deadline="2026-12-01 20:00" '
    '[limit=2] [window=48] [tz=Asia/Singapore] [desc="…"] — or just /newgo to be asked step by step'
)
CLOSE_USAGE = (
    "/close CODE — then confirm; below the MOQ, /close CODE proceed to go ahead anyway "
    "or /close CODE fail to fail it"
)
CANCELGO_USAGE = "/cancelgo CODE — then /cancelgo CODE confirm"
ORDERS_USAGE = "/orders CODE [page N] [unpaid|paid] [@buyer]"
ADDITEM_USAGE = '/additem CODE ITEM PRICE "Name" [stock=40] [versions="A:Photobook@20,B:Digipack"]'


@command(
    "newgo",
    '[CODE "Title" currency= moq= cap= deadline= …]',
    "Create a group order",
    audience=GOM,
    permission=Permission.OPEN_GO,
)
async def newgo(call: Call) -> ChatReply:
    if not call.args:
        return await start_newgo_conversation(call)
    positional, options = key_values(call.args)
    if len(positional) < 2 or not {"moq", "cap", "deadline"} <= options.keys():
        raise InvalidInput("Usage: %(newgo_usage)s", newgo_usage=NEWGO_USAGE)
    unknown = options.keys() - {"currency", "moq", "cap", "deadline", "limit", "window", "tz", "desc"}
    if unknown:
        raise InvalidInput(
            "I don't know the option(s) %(unknown)s. Usage: %(newgo_usage)s",
            unknown=", ".join(sorted(unknown)),
            newgo_usage=NEWGO_USAGE,
        )
    currency = options.get("currency", call.bot.core.settings.default_currency)
    command_ = NewGroupOrder(
        code=positional[0],
        title=" ".join(positional[1:]),
        currency=currency,
        moq=whole_number(options["moq"], N_("MOQ")),
        capacity=whole_number(options["cap"], N_("Capacity"), minimum=1),
        deadline=options["deadline"],
        timezone=options.get("tz") or timezone_for(currency, call.bot.core.settings.default_timezone),
        per_buyer_limit=whole_number(options["limit"], N_("Per-buyer limit"), minimum=1)
        if "limit" in options
        else None,
        payment_window_hours=whole_number(
            options.get("window", "48"), N_("Payment window (hours)"), minimum=1
        ),
        description=options.get("desc", ""),
    )
    code = await group_orders.create_group_order(call.uow(), call.actor, command_)
    card = await reports.group_order_card(call.reader(), code)
    return call.reply("go_created", go=card)


@command(
    "additem", 'CODE ITEM PRICE "Name" [stock=N] [versions=…]', "Add an item to a group order", audience=GOM
)
async def additem(call: Call) -> ChatReply:
    positional, options = key_values(call.args)
    if len(positional) < 4:
        raise InvalidInput("Usage: %(additem_usage)s", additem_usage=ADDITEM_USAGE)
    unknown = options.keys() - {"stock", "versions"}
    if unknown:
        raise InvalidInput(
            "I don't know the option(s) %(unknown)s. Usage: %(additem_usage)s",
            unknown=", ".join(sorted(unknown)),
            additem_usage=ADDITEM_USAGE,
        )
    card = await reports.group_order_card(call.reader(), positional[0])
    item = NewItem(
        go_code=positional[0],
        code=positional[1],
        name=" ".join(positional[3:]),
        price_minor=parse_amount(positional[2], card.currency),
        stock=whole_number(options["stock"], N_("Stock")) if "stock" in options else None,
        variants=parse_versions(options.get("versions", "")),
    )
    code = await group_orders.add_item(call.uow(), call.actor, item)
    card = await reports.group_order_card(call.reader(), positional[0])
    return call.reply("item_added", go=card, item_code=code)


@command("open", "CODE", "Start taking orders", audience=GOM)
async def open_(call: Call) -> ChatReply:
    need(call.args, 1, "/open CODE")
    await group_orders.open_group_order(
        call.uow(), call.actor, call.args[0], call.bot.core.offered_gateways()
    )
    card = await reports.group_order_card(call.reader(), call.args[0])
    return call.reply(
        "go_opened", go=card, buttons=[[Button(call.gettext("Show the card"), command=f"/go {card.code}")]]
    )


@command("close", "CODE [confirm|proceed]", "Stop taking orders and decide the MOQ", audience=GOM)
async def close(call: Call) -> ChatReply:
    need(call.args, 1, CLOSE_USAGE)
    choice = _choice(call, {"confirm", "proceed", "fail"}, CLOSE_USAGE)
    if not choice:
        preview = await impact.go_impact(call.reader(), call.actor, call.args[0])
        if preview.asks_first:
            return _ask_first(call, preview, "close")
    outcome = await group_orders.close_group_order(
        call.uow(), call.actor, call.args[0], proceed=choice == "proceed", fail=choice == "fail"
    )
    await refunds.run_pending_refunds(call.bot.core.uow, call.bot.core.payment_gateways)
    card = await reports.group_order_card(call.reader(), call.args[0])
    return call.reply("go_closed", go=card, outcome=outcome)


@command("extend", "CODE WHEN", "Move the deadline later (2026-12-01 20:00, +2d, 12h)", audience=GOM)
async def extend(call: Call) -> ChatReply:
    need(call.args, 2, "/extend CODE WHEN")
    await group_orders.extend_deadline(call.uow(), call.actor, call.args[0], " ".join(call.args[1:]))
    card = await reports.group_order_card(call.reader(), call.args[0])
    return call.reply("go_extended", go=card)


@command(
    "status",
    "CODE ordered|arrived|packing|shipping|completed",
    "Tell buyers where the GO stands",
    audience=GOM,
)
async def status(call: Call) -> ChatReply:
    need(call.args, 2, "/status CODE ordered|arrived|packing|shipping|completed")
    await group_orders.advance_group_order(call.uow(), call.actor, call.args[0], call.args[1])
    card = await reports.group_order_card(call.reader(), call.args[0])
    return call.reply("go_status_changed", go=card)


@command(
    "cancelgo", "CODE [confirm]", "Cancel a whole group order", audience=GOM, permission=Permission.CANCEL_GO
)
async def cancelgo(call: Call) -> ChatReply:
    need(call.args, 1, CANCELGO_USAGE)
    if not _choice(call, {"confirm"}, CANCELGO_USAGE):
        preview = await impact.go_impact(call.reader(), call.actor, call.args[0])
        return _ask_first(call, preview, "cancel")
    await group_orders.cancel_group_order(call.uow(), call.actor, call.args[0])
    await refunds.run_pending_refunds(call.bot.core.uow, call.bot.core.payment_gateways)
    card = await reports.group_order_card(call.reader(), call.args[0])
    return call.reply("go_status_changed", go=card)


def _choice(call: Call, words: set[str], usage: str) -> str:
    """The word after the code (``confirm``, ``proceed``), or "" when there is none."""
    if len(call.args) > 2 or (len(call.args) == 2 and call.args[1].lower() not in words):
        raise InvalidInput("Usage: %(usage)s", usage=usage)
    return call.args[1].lower() if len(call.args) == 2 else ""


def _ask_first(call: Call, preview: impact.GoImpact, action: str) -> ChatReply:
    """What the action would do, with the buttons that do it (numbered replies on SMS)."""
    code = preview.code
    if action == "cancel":
        buttons = [[Button(call.gettext("Cancel %(code)s", code=code), command=f"/cancelgo {code} confirm")]]
    elif preview.moq_reached:
        buttons = [
            [Button(call.gettext("Close and confirm %(code)s", code=code), command=f"/close {code} confirm")]
        ]
    else:
        buttons = [
            [Button(call.gettext("Go ahead anyway"), command=f"/close {code} proceed")],
            [
                Button(
                    call.gettext("Fail %(code)s", code=code)
                    if preview.waiting
                    else call.gettext("Close and fail %(code)s", code=code),
                    command=f"/close {code} fail",
                )
            ],
        ]
        if preview.waiting:
            buttons.append([Button(call.gettext("Reopen for 3 days"), command=f"/reopen {code} +3d")])
    return call.reply("go_impact", impact=preview, action=action, buttons=buttons)


@command("mygos", "", "The group orders you run", audience=GOM, permission=Permission.ORDERS)
async def mygos(call: Call) -> ChatReply:
    gos = await reports.managed_group_orders(call.reader(), call.actor)
    return call.reply("my_gos", gos=gos)


@command(
    "orders",
    "CODE [page N] [unpaid|paid] [@buyer]",
    "The orders of a group order: a summary and a page at a time",
    audience=GOM,
    permission=Permission.ORDERS,
)
async def orders(call: Call) -> ChatReply:
    need(call.args, 1, ORDERS_USAGE)
    query = parse_query(call.args[1:], ORDERS_USAGE)
    page = await order_pages.orders_page(call.reader(), call.actor, call.args[0], query)
    if page.whole is not None:  # every order fits in one message: listed as always
        return call.reply("orders_list", go=page.whole, orders=page.orders)
    whole = Button(call.gettext("The whole list as a file"), command=f"/export {page.go_code}")
    return call.reply(
        "orders_page", p=page, buttons=page_buttons(call, page.command, page.page, page.pages, whole)
    )


@command(
    "progress", "CODE", "Units against MOQ and capacity, per item", audience=GOM, permission=Permission.ORDERS
)
async def progress(call: Call) -> ChatReply:
    need(call.args, 1, "/progress CODE")
    card = await reports.progress(call.reader(), call.actor, call.args[0])
    return call.reply("progress", go=card)


@command(
    "export", "CODE", "The orders as a CSV file for a spreadsheet", audience=GOM, permission=Permission.ORDERS
)
async def export(call: Call) -> ChatReply:
    need(call.args, 1, "/export CODE")
    filename, content = await report_files.export_orders_csv(call.reader(), call.actor, call.args[0])
    return call.reply("export_ready", filename=filename, document=Document(filename, content))


def parse_versions(text: str) -> tuple[NewVariant, ...]:
    """``A:Photobook@20,B:Digipack`` → versions with optional names and stock."""
    parts: list[str] = []
    for part in text.split(","):
        if parts and "@" in parts[-1] and len(part) == 3 and part.isdigit():
            parts[-1] += part  # a thousands group: "@1,000"
        else:
            parts.append(part)
    versions = []
    for part in filter(None, (p.strip() for p in parts)):
        spec, _, stock = part.partition("@")
        code, _, name = spec.partition(":")
        versions.append(
            NewVariant(
                code=code,
                name=name.strip() or code.strip(),
                stock=whole_number(stock, f"Stock of {code}") if stock else None,
            )
        )
    return tuple(versions)
