"""Payment methods on Discord, through discord.py against the loopback fake: the GOM's bank
QR attached to /paymethods, and the number to pay shown in code spans (Discord has no copy
button, so none is offered)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.clock import FrozenClock
from core.services.accounts import register_gom
from tests.conftest import BACKENDS
from tests.integration.discord_harness import BUYERS, GOM_ID, discord_gomflow
from tests.qr_pictures import photo_of, static_paynow

pytestmark = pytest.mark.parametrize("backend", BACKENDS)
BANK = 'bank="DBS Bank" name="Gina Tan" account=123-456789-0'


async def test_a_bank_qr_attached_to_paymethods_is_read_and_buyers_see_code_spans(
    backend: str, tmp_path: Path, clock: FrozenClock
) -> None:
    async with discord_gomflow(backend, tmp_path, clock) as h:
        gw = h.gw
        await register_gom(h.app.core.uow(), "discord", GOM_ID, "Gina")
        for step in (
            gw.slash(GOM_ID, "newgo", {"more": 'SVT "Seventeen" currency=SGD moq=2 cap=10 deadline=+3d'}),
            gw.slash(
                GOM_ID, "additem", {"code": "SVT", "item": "ALB", "price": "25.90", "details": '"Album"'}
            ),
        ):
            assert not (await gw.interact(step)).content.startswith("⚠️")
        refused = await gw.interact(gw.slash(GOM_ID, "open", {"code": "SVT"}))
        assert "SVT has no payment method yet" in refused.content
        photo = ("qr.png", photo_of(static_paynow(), "png"), "image/png")
        told = await gw.interact(
            gw.slash(
                GOM_ID,
                "paymethods",
                {"code": "SVT", "method": "bankqr", "more": BANK},
                attachment=photo,
                attachment_option="qr_photo",
            )
        )
        assert "Read from your photo: PayNow QR to GINA TAN, account +6591234567." in told.content, (
            told.content
        )
        assert "⚠️" not in (await gw.interact(gw.slash(GOM_ID, "open", {"code": "SVT"}))).content

        await gw.interact(gw.slash(BUYERS[0], "order", {"code": "SVT", "item": "ALB", "qty": 1}))
        paying = await gw.interact(gw.slash(BUYERS[0], "pay", {"order": "SVT-1"}))
        assert "to `+6591234567` with the reference above" in paying.content, paying.content
        assert "account number `123-456789-0`" in paying.content and "Reference: `SVT-1-I1`" in paying.content
        assert not any("📋" in str(component) for component in paying.data.get("components") or [])
