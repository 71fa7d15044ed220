"""How a GO's delivery stage reads to a buyer: "it has arrived", never "it is now arrived".

Each is a whole sentence about the GO (``%(code)s (%(title)s) has arrived at the GOM.``),
so a language can put the GO where its grammar wants it; the template translates it."""

from __future__ import annotations

from core.render import N_

STAGE_SENTENCES: dict[str, str] = {
    "draft": N_("%(code)s (%(title)s) is being prepared."),
    "open": N_("%(code)s (%(title)s) is taking orders."),
    "closed": N_("%(code)s (%(title)s) has closed for orders."),
    "confirmed": N_("%(code)s (%(title)s) is going ahead."),
    "failed": N_("%(code)s (%(title)s) did not reach its minimum and will not go ahead."),
    "ordered": N_("%(code)s (%(title)s) has been ordered from the supplier."),
    "arrived": N_("%(code)s (%(title)s) has arrived at the GOM."),
    "packing": N_("%(code)s (%(title)s) is being packed."),
    "shipping": N_("%(code)s (%(title)s) is on its way: parcels are being sent and pickups are ready."),
    "completed": N_("%(code)s (%(title)s) is complete."),
    "cancelled": N_("%(code)s (%(title)s) was cancelled."),
}
OTHER_STAGE = N_("%(code)s (%(title)s) is in progress.")


def stage_sentence(status: str) -> str:
    """The sentence for a GO at ``status``, with ``%(code)s`` and ``%(title)s`` to fill in."""
    return STAGE_SENTENCES.get(status, OTHER_STAGE)
