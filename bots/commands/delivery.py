"""Delivery commands: shipping options and pickup slots, the address book, tracking."""

from __future__ import annotations

from bots.chat import Button, ChatReply, Document
from bots.commands.address_flow import start_address_conversation
from bots.commands.args import key_values, need, whole_number
from bots.commands.table import Audience, Call, command
from core.delivery import addresses, options, packing, printable, shipfees, shipments, tracking_import
from core.delivery.carriers import Carrier, carrier_table
from core.errors import InvalidInput
from core.permissions import Permission
from core.render import N_
from core.when import local_text

GOM = Audience.GOM
SHIPOPT_USAGE = (
    '/shipopt CODE OPTION pickup|courier|registered|mail "Name" [fee=3.50] [tiers="500:3.50,1000:5"]'
)
SLOT_USAGE = '/slot CODE OPTION "2026-12-12 14:00" CAPACITY "Place"'
ADDRESS_USAGE = (
    '/address add name="…" phone=+65… line1="…" [line2="…"] postal=… country=SG, '
    "/address edit N field=…, /address delete N"
)
ADDRESS_FIELDS = {
    "name": "recipient",
    "phone": "phone",
    "line1": "line1",
    "line2": "line2",
    "postal": "postal_code",
    "country": "country",
}


def _carriers(call: Call) -> dict[str, Carrier]:
    return carrier_table(call.bot.core.settings.carrier_links)


@command("shipopt", 'CODE OPTION KIND "Name" [fee=] [tiers=]', "Add a shipping option to a GO", audience=GOM)
async def shipopt(call: Call) -> ChatReply:
    positional, extra = key_values(call.args)
    if len(positional) < 4 or extra.keys() - {"fee", "tiers"}:
        raise InvalidInput("Usage: %(shipopt_usage)s", shipopt_usage=SHIPOPT_USAGE)
    new = options.NewOption(
        go_code=positional[0],
        code=positional[1],
        kind=positional[2],
        name=" ".join(positional[3:]),
        fee=extra.get("fee", "0"),
        tiers=extra.get("tiers", ""),
    )
    view = await options.add_option(call.uow(), call.actor, new)
    return call.reply(
        "delivery_options",
        options=view,
        added=call.gettext("Added %(option)s to %(code)s.", option=new.code.upper(), code=view.go_code),
    )


@command(
    "slot", 'CODE OPTION "WHEN" CAPACITY "Place"', "Add a pickup time slot with its capacity", audience=GOM
)
async def slot(call: Call) -> ChatReply:
    need(call.args, 5, SLOT_USAGE)
    code, option, when, capacity = call.args[:4]
    view = await options.add_slot(
        call.uow(),
        call.actor,
        code,
        option,
        when,
        whole_number(capacity, N_("Capacity"), minimum=1),
        " ".join(call.args[4:]),
    )
    return call.reply(
        "delivery_options",
        options=view,
        added=call.gettext("Added a slot to %(option)s.", option=option.upper()),
    )


@command("delivery", "CODE", "How a group order's parcels reach you: options, fees, pickup slots")
async def delivery(call: Call) -> ChatReply:
    need(call.args, 1, "/delivery CODE")
    view = await options.list_options(call.reader(), call.actor, call.args[0])
    buttons = [
        [
            Button(
                call.gettext("%(option)s slot %(slot)s", option=o.code, slot=s.number),
                command=f"/deliver {view.go_code} {o.code} {s.number}",
            )
        ]
        for o in view.options
        for s in o.slots
        if s.left > 0
    ][:10]
    return call.reply("delivery_options", options=view, added=None, buttons=buttons)


@command("deliver", "CODE OPTION [SLOT|ADDRESS#]", "Choose how your parcel reaches you")
async def deliver(call: Call) -> ChatReply:
    need(call.args, 2, "/deliver CODE OPTION [SLOT or ADDRESS #]")
    number = None
    if len(call.args) > 2:
        number = whole_number(
            call.args[2].lstrip("#"), N_("Slot or address number"), minimum=1, maximum=10**9
        )
    choice = await options.choose(call.uow(), call.actor, call.args[0], call.args[1], number)
    return call.reply("delivery_chosen", choice=choice)


@command("address", "[add|edit N|delete N …]", "Your address book for deliveries")
async def address(call: Call) -> ChatReply:
    action = call.args[0].lower() if call.args else ""
    saved, deleted = None, None
    if action == "add" and len(call.args) == 1:
        return await start_address_conversation(call)
    if action == "add":
        fields = _address_fields(call.args[1:])
        missing = {"recipient", "phone", "line1", "postal_code", "country"} - fields.keys()
        if missing:
            raise InvalidInput("Usage: %(address_usage)s", address_usage=ADDRESS_USAGE)
        saved = await addresses.add_address(call.uow(), call.actor, addresses.NewAddress(**fields))
    elif action == "edit" and len(call.args) >= 3:
        number = whole_number(call.args[1].lstrip("#"), N_("Address number"), minimum=1, maximum=10**9)
        saved = await addresses.edit_address(call.uow(), call.actor, number, _address_fields(call.args[2:]))
    elif action == "delete" and len(call.args) == 2:
        deleted = whole_number(call.args[1].lstrip("#"), N_("Address number"), minimum=1, maximum=10**9)
        await addresses.delete_address(call.uow(), call.actor, deleted)
    elif action:
        raise InvalidInput("Usage: %(address_usage)s", address_usage=ADDRESS_USAGE)
    book = await addresses.my_addresses(call.reader(), call.actor)
    return call.reply("address_book", addresses=book, saved=saved, deleted=deleted)


@command(
    "ship",
    "ORDER CARRIER TRACKING",
    "Record a parcel's tracking number and tell the buyer",
    audience=GOM,
    permission=Permission.SHIPMENTS,
)
async def ship(call: Call) -> ChatReply:
    need(call.args, 3, "/ship ORDER CARRIER TRACKING")
    view = await shipments.ship(
        call.uow(), call.actor, call.args[0], call.args[1], " ".join(call.args[2:]), _carriers(call)
    )
    return call.reply("shipment_recorded", ship=view)


@command(
    "weigh",
    "ORDER GRAMS",
    "Record a parcel's weight (for weight-tiered fees)",
    audience=GOM,
    permission=Permission.SHIPMENTS,
)
async def weigh(call: Call) -> ChatReply:
    need(call.args, 2, "/weigh ORDER GRAMS")
    grams = whole_number(call.args[1].lower().removesuffix("g"), N_("Weight (grams)"), minimum=1)
    fee = await shipfees.weigh(call.uow(), call.actor, call.args[0], grams)
    return call.reply("parcel_weighed", number=call.args[0].upper(), grams=grams, fee=fee)


@command(
    "shipfees",
    "CODE [with a CSV order,fee]",
    "Ask every parcel for its shipping fee",
    audience=GOM,
    permission=Permission.SHIPMENTS,
)
async def ship_fees(call: Call) -> ChatReply:
    need(call.args, 1, "/shipfees CODE")
    attachment = call.request.attachment
    report = await shipfees.request_fees(
        call.uow(), call.actor, call.args[0], attachment.content if attachment else None
    )
    return call.reply("shipfees_report", report=report)


@command(
    "importtracking",
    "CODE [CARRIER] (with a CSV) | apply ID",
    "Tracking numbers from a CSV file: checked first, applied when you confirm",
    audience=GOM,
    permission=Permission.SHIPMENTS,
)
async def import_tracking(call: Call) -> ChatReply:
    usage = "Usage: send a CSV (order,carrier,tracking) with /importtracking CODE [CARRIER]"
    if len(call.args) == 2 and call.args[0].lower() == "apply":
        number = whole_number(call.args[1].lstrip("#"), N_("Import number"), minimum=1, maximum=10**9)
        report = await tracking_import.apply_import(call.uow(), call.actor, number, _carriers(call))
        return call.reply("tracking_import_report", report=report)
    attachment = call.request.attachment
    if not call.args or len(call.args) > 2 or attachment is None:
        raise InvalidInput(usage)
    report = await tracking_import.check_file(
        call.uow(),
        call.actor,
        call.args[0],
        attachment.content,
        _carriers(call),
        call.args[1] if len(call.args) > 1 else "",
    )
    buttons = []
    if report.import_id is not None:
        label = call.gettext("Apply %(count)s tracking number(s)", count=report.lines)
        buttons = [[Button(label, command=f"/importtracking apply {report.import_id}")]]
    return call.reply("tracking_import_report", report=report, buttons=buttons)


@command("track", "", "Where your orders are: stage, pickup slot or tracking link")
async def track(call: Call) -> ChatReply:
    parcels = await shipments.track(call.reader(), call.actor, _carriers(call))
    return call.reply("track", parcels=parcels)


@command(
    "packing",
    "CODE",
    "The packing list as a CSV file (addresses and pickup slots)",
    audience=GOM,
    permission=Permission.SHIPMENTS,
)
async def packing_list(call: Call) -> ChatReply:
    need(call.args, 1, "/packing CODE")
    filename, content = await packing.packing_list_csv(call.reader(), call.actor, call.args[0])
    return call.reply("packing_ready", filename=filename, document=Document(filename, content))


def _address_fields(words: list[str]) -> dict[str, str]:
    positional, given = key_values(words)
    unknown = given.keys() - ADDRESS_FIELDS.keys()
    if positional or unknown:
        raise InvalidInput("Usage: %(address_usage)s", address_usage=ADDRESS_USAGE)
    return {ADDRESS_FIELDS[key]: value for key, value in given.items()}


@command(
    "labels",
    "CODE",
    "A printable packing page: labels per parcel, pickup sheets (24 h link)",
    audience=GOM,
    permission=Permission.SHIPMENTS,
)
async def labels(call: Call) -> ChatReply:
    need(call.args, 1, "/labels CODE")
    settings = call.bot.core.settings
    url, expires_at, tz = await printable.packing_link(
        call.uow(), call.actor, call.args[0], settings.public_base_url
    )
    return call.reply("packing_link", code=call.args[0].upper(), url=url, expires=local_text(expires_at, tz))
