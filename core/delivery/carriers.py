"""Carriers and the page where a buyer follows a parcel: a table the operator can extend.

``GOMFLOW_CARRIER_LINKS`` adds or replaces entries: ``key=Name|https://…{tracking}`` separated
by ``;`` (a link without ``{tracking}`` is shown as it is).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from core.errors import InvalidInput

TRACKING = re.compile(r"[A-Z0-9][A-Z0-9-]{3,39}")


@dataclass(frozen=True)
class Carrier:
    key: str
    name: str
    link: str  # with {tracking} where the number goes; "" when there is no public page

    def url(self, tracking: str) -> str:
        return self.link.replace("{tracking}", quote(tracking, safe="")) if self.link else ""


DEFAULT_CARRIERS: dict[str, Carrier] = {
    c.key: c
    for c in (
        Carrier("ninjavan", "Ninja Van", "https://www.ninjavan.co/en-sg/tracking?id={tracking}"),
        Carrier("jnt", "J&T Express", "https://www.jtexpress.sg/tracking?billcode={tracking}"),
        Carrier("singpost", "SingPost", "https://www.singpost.com/track-items?trackingid={tracking}"),
        Carrier("posmalaysia", "Pos Malaysia", "https://tracking.pos.com.my/tracking/{tracking}"),
        Carrier("lbc", "LBC", "https://www.lbcexpress.com/track/?tracking_no={tracking}"),
        Carrier("jne", "JNE", "https://www.jne.co.id/tracking-package?awb={tracking}"),
        Carrier("kerry", "Kerry Express", "https://th.kerryexpress.com/en/track/?track={tracking}"),
        Carrier("flash", "Flash Express", "https://www.flashexpress.co.th/fle/tracking?se={tracking}"),
        Carrier("lalamove", "Lalamove", ""),
    )
}


def carrier_table(setting: str = "") -> dict[str, Carrier]:
    """The default carriers, with the operator's additions and replacements from ``setting``."""
    table = dict(DEFAULT_CARRIERS)
    for entry in filter(None, (e.strip() for e in setting.split(";"))):
        key, sep, rest = entry.partition("=")
        name, _, link = rest.partition("|")
        key = key.strip().lower()
        if not sep or not key.isalnum() or not name.strip():
            raise ValueError(f"GOMFLOW_CARRIER_LINKS: '{entry[:40]}' is not key=Name|https://…{{tracking}}")
        table[key] = Carrier(key, name.strip(), link.strip())
    return table


def find_carrier(carriers: Mapping[str, Carrier], text: str) -> Carrier:
    """By key (``ninjavan``) or name as people write it (``Ninja Van``, ``J&T``, ``jnt``)."""
    wanted = _squash(text)
    for carrier in carriers.values():
        name = _squash(carrier.name)
        if wanted in (carrier.key, name, name.removesuffix("express")):
            return carrier
    raise InvalidInput(
        "I don't know the carrier '%(text)s'. Known: %(carriers)s.",
        text=text[:20],
        carriers=", ".join(sorted(carriers)),
    )


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def check_tracking(text: str) -> str:
    number = text.strip().upper()
    if not TRACKING.fullmatch(number):
        raise InvalidInput(
            "'%(text)s' is not a tracking number: 4 to 40 letters, digits or dashes.", text=text[:40]
        )
    return number
