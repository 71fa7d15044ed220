"""Random inclusions: the GOM lists them, buyers rank them, and gomflow shares them out
by a published seed (docs/allocation.md)."""

from __future__ import annotations

import re

from bots.chat import Button, ChatReply, Document
from bots.commands.args import key_values, need
from bots.commands.table import Audience, Call, command
from core.errors import InvalidInput
from core.services import allocations, inclusions
from core.services.inclusions import RankingView

GOM = Audience.GOM
INCLUSIONS_USAGE = (
    '/inclusions CODE [ITEM] — list; /inclusions CODE ITEM add "Mingyu PC,Wonwoo PC"; '
    "/inclusions CODE ITEM remove N; /inclusions CODE lock|unlock (buyers' rankings)"
)
RANK_USAGE = "/rank ORDER [ITEM] 3,1,2 — most wanted first (or /rank ORDER to see the choices)"
LOTTERY_USAGE = "/lottery CODE — see the seed's commitment; /lottery CODE seed [YOUR-SEED] — commit one"
RECEIVED_USAGE = '/received CODE ITEM "Mingyu PC=3,Wonwoo PC=2"'
ALLOCATE_USAGE = "/allocate CODE ITEM [ties=lottery|claim_time] [redo]"
ALLOCATION_USAGE = "/allocation CODE ITEM [export|announce]"
_RANKING = re.compile(r"^(\+?\d+([\s,>;]+\d+)*|clear)$", re.IGNORECASE)


@command("inclusions", "CODE [ITEM] [add|remove …]", "Random photocards or benefits of an item", audience=GOM)
async def inclusions_(call: Call) -> ChatReply:
    need(call.args, 1, INCLUSIONS_USAGE)
    code = call.args[0]
    if len(call.args) == 2 and call.args[1].lower() in {"lock", "unlock"}:
        lock = call.args[1].lower() == "lock"
        go_code = await inclusions.lock_rankings(call.uow(), call.actor, code, lock=lock)
        return call.reply("inclusions_locked", go_code=go_code, locked=lock)
    if len(call.args) <= 2:
        items = await inclusions.list_inclusions(
            call.reader(), call.actor, code, call.args[1] if call.args[1:] else None
        )
        return call.reply("inclusions_list", go_code=code.upper(), items=items)
    action, rest = call.args[2].lower(), " ".join(call.args[3:])
    if action == "add" and rest:
        item = await inclusions.add_inclusions(call.uow(), call.actor, code, call.args[1], rest)
    elif action == "remove" and rest:
        item = await inclusions.remove_inclusion(call.uow(), call.actor, code, call.args[1], rest)
    else:
        raise InvalidInput("Usage: %(inclusions_usage)s", inclusions_usage=INCLUSIONS_USAGE)
    return call.reply("inclusions_list", go_code=item.go_code, items=[item])


@command(
    "rank", "ORDER [ITEM] [3,1,2]", "Rank the random photocards or benefits you want most", verified_only=True
)
async def rank(call: Call) -> ChatReply:
    need(call.args, 1, RANK_USAGE)
    number, rest = call.args[0], call.args[1:]
    item_code = rest[0] if rest and not _RANKING.match(rest[0]) else None
    text = " ".join(rest[1:] if item_code is not None else rest)
    if not text:
        views = await inclusions.my_rankings(call.reader(), call.actor, number)
        if item_code is not None:
            views = [v for v in views if v.item.item_code == item_code.upper()]
        if not views:
            raise InvalidInput(
                "Nothing in order %(upper)s comes with inclusions to rank.", upper=number.upper()
            )
        return call.reply("inclusion_ranking", rankings=views, buttons=_rank_buttons(call, views[0]))
    view = await inclusions.rank(call.uow(), call.actor, number, item_code, text)
    return call.reply("inclusion_ranking", rankings=[view], buttons=_rank_buttons(call, view))


@command(
    "lottery",
    "CODE [seed [SEED]]",
    "Commit the seed that breaks ties, published before the draw",
    audience=GOM,
)
async def lottery(call: Call) -> ChatReply:
    need(call.args, 1, LOTTERY_USAGE)
    if len(call.args) == 1:
        view = await allocations.seed_status(call.reader(), call.actor, call.args[0])
        return call.reply("lottery_seed", seed=view)
    if call.args[1].lower() != "seed" or len(call.args) > 3:
        raise InvalidInput("Usage: %(lottery_usage)s", lottery_usage=LOTTERY_USAGE)
    given = call.args[2] if len(call.args) == 3 else None
    view = await allocations.commit_seed(call.uow(), call.actor, call.args[0], given)
    return call.reply("lottery_seed", seed=view)


@command("received", 'CODE ITEM "NAME=COUNT,…"', "Enter how many of each inclusion arrived", audience=GOM)
async def received(call: Call) -> ChatReply:
    need(call.args, 3, RECEIVED_USAGE)
    item = await inclusions.set_received(
        call.uow(), call.actor, call.args[0], call.args[1], " ".join(call.args[2:])
    )
    return call.reply("inclusions_list", go_code=item.go_code, items=[item])


@command(
    "allocate",
    "CODE ITEM [ties=claim_time] [redo]",
    "Share out an item's inclusions by the rankings",
    audience=GOM,
)
async def allocate(call: Call) -> ChatReply:
    positional, options = key_values(call.args)
    need(positional, 2, ALLOCATE_USAGE)
    unknown = options.keys() - {"ties"}
    extra = [w for w in positional[2:] if w.lower() != "redo"]
    if unknown or extra:
        raise InvalidInput("Usage: %(allocate_usage)s", allocate_usage=ALLOCATE_USAGE)
    redo = any(w.lower() == "redo" for w in positional[2:])
    ties = options["ties"].lower() if "ties" in options else None
    view = await allocations.allocate_item(
        call.uow(), call.actor, positional[0], positional[1], tie_break=ties, redo=redo
    )
    return call.reply("allocation_result", a=view, buttons=_result_buttons(call, view))


@command(
    "allocation", "CODE ITEM [export|announce]", "See, export or announce an item's allocation", audience=GOM
)
async def allocation(call: Call) -> ChatReply:
    need(call.args, 2, ALLOCATION_USAGE)
    action = call.args[2].lower() if len(call.args) > 2 else ""
    if len(call.args) > 3 or action not in {"", "export", "announce"}:
        raise InvalidInput("Usage: %(allocation_usage)s", allocation_usage=ALLOCATION_USAGE)
    code, item = call.args[0], call.args[1]
    if action == "export":
        file = await allocations.export(call.reader(), call.actor, code, item)
        document = Document(file.filename, file.content, "application/json")
        return call.reply("allocation_export", filename=file.filename, document=document)
    if action == "announce":
        view = await allocations.announce(call.uow(), call.actor, code, item)
    else:
        view = await allocations.show(call.reader(), call.actor, code, item)
    return call.reply("allocation_result", a=view, buttons=_result_buttons(call, view))


def _rank_buttons(call: Call, view: RankingView) -> list[list[Button]]:
    """Tap the inclusions in the order you want them: each tap adds one after those ranked."""
    base = f"/rank {view.order_number} {view.item.item_code}"
    if view.item.locked:
        return []
    rows = [
        [Button(call.gettext("Next: %(name)s", name=i.name)[:60], command=f"{base} +{i.number}")]
        for i in view.item.inclusions
        if i.number not in view.ranking
    ][:10]
    if view.ranking:
        rows.append([Button(call.gettext("Start over"), command=f"{base} clear")])
    return rows


def _result_buttons(call: Call, view: allocations.AllocationView) -> list[list[Button]]:
    if view.status != allocations.ALLOCATED:
        return []
    base = f"/allocation {view.go_code} {view.item_code}"
    return [
        [Button(call.gettext("Announce to buyers"), command=f"{base} announce")],
        [Button(call.gettext("Export"), command=f"{base} export")],
    ]
