"""Behaviour of templates.JinjaRenderer: variant fallback, filters, and every message template rendering."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import pytest

from bots.commands import COMMANDS
from core.payments.bundles import BundleOffer
from core.services.group_orders import ClosingOutcome
from core.services.language_choice import language_view
from core.services.linking import Linked
from core.views import (
    GroupOrderView,
    ItemView,
    LineView,
    OrderView,
    ProgressView,
    VariantView,
    WaitlistView,
)
from platforms import template_variants
from templates import HERE, JinjaRenderer, _environment, escape_markdown, progress_bar
from tests.unit.delivery_template_cases import DELIVERY_CASES
from tests.unit.editing_template_cases import EDITING_CASES
from tests.unit.handover_template_cases import HANDOVER_CASES
from tests.unit.inclusion_template_cases import INCLUSION_CASES
from tests.unit.ledger_template_cases import LEDGER_CASES
from tests.unit.masterlist_template_cases import LIST as MASTERLIST
from tests.unit.masterlist_template_cases import MASTERLIST_CASES
from tests.unit.money_template_cases import MONEY_CASES
from tests.unit.notice_template_cases import NOTICE_CASES
from tests.unit.payment_template_cases import PAYMENT_CASES
from tests.unit.policy_template_cases import POLICY_CASES
from tests.unit.privacy_template_cases import PRIVACY_CASES
from tests.unit.proof_reading_template_cases import PROOF_READING_CASES
from tests.unit.reopen_template_cases import REOPEN_CASES
from tests.unit.report_template_cases import REPORT_CASES
from tests.unit.shortfall_template_cases import SHORTFALL_CASES
from tests.unit.statement_template_cases import STATEMENT_CASES
from tests.unit.team_template_cases import TEAM_CASES

TEMPLATE_ROOT = Path(__file__).resolve().parents[2] / "templates"
TEMPLATE_NAMES = sorted(
    p.name
    for p in TEMPLATE_ROOT.iterdir()
    if p.is_dir() and not p.name.startswith("_") and p.name not in {"locale", "pages"}
)

TITLE = "세븐틴 <b>FML</b> 🎵"
DESCRIPTION = "Pre-order *with* POB & <i>photocards</i>"
DEADLINE = "Tue 01 Dec 2026, 20:00 +08"


@pytest.fixture(scope="module")
def renderer() -> JinjaRenderer:
    return JinjaRenderer(template_variants())


@dataclass(frozen=True)
class HelpEntry:
    name: str
    usage: str
    summary: str


def make_go(
    *,
    status: str = "open",
    reserved: int = 7,
    paid: int = 3,
    moq: int = 5,
    capacity: int = 10,
    items: list[ItemView] | None = None,
    per_buyer_limit: int | None = 2,
    description: str = DESCRIPTION,
) -> GroupOrderView:
    if items is None:
        items = [
            ItemView(
                code="ALB",
                name="FML <album>",
                price="S$25.90",
                price_minor=2590,
                left=None,
                reserved=5,
                variants=[
                    VariantView(code="A", name="Faded Mono Life", left=4),
                    VariantView(code="B", name="Fallen Misfit", left=None),
                ],
            ),
            ItemView(code="PC", name="Photocard 🎴", price="S$3.00", price_minor=300, left=8, reserved=2),
        ]
    return GroupOrderView(
        id=1,
        code="SVT-FML",
        title=TITLE,
        description=description,
        status=status,
        currency="SGD",
        timezone="Asia/Singapore",
        deadline=DEADLINE,
        deadline_iso="2026-12-01T12:00:00+00:00",
        per_buyer_limit=per_buyer_limit,
        payment_window_hours=48,
        progress=ProgressView(reserved=reserved, paid=paid, moq=moq, capacity=capacity),
        items=items,
    )


def make_order(status: str = "placed") -> OrderView:
    return OrderView(
        number="SVT-FML-0001",
        go_code="SVT-FML",
        go_title=TITLE,
        status=status,
        units=3,
        total="S$54.80",
        payment_due="Sun 22 Nov 2026, 20:00 +08",
        buyer="@carat_<3",
        lines=[
            LineView(label="FML <album> (Faded Mono Life)", token="ALB:A", quantity=2, amount="S$51.80"),
            LineView(label="Photocard 🎴", token="PC", quantity=1, amount="S$3.00"),
        ],
    )


def make_entry(position: int = 2) -> WaitlistView:
    return WaitlistView(
        id=9,
        go_code="SVT-FML",
        token="ALB:B",
        label="FML <album> (Fallen Misfit)",
        quantity=1,
        position=position,
        status="waiting",
    )


def go_notice(status: str = "open") -> dict[str, Any]:
    """What core.services.notices.go_context hands to buyer notifications."""
    return {
        "code": "SVT-FML",
        "title": TITLE,
        "status": status,
        "deadline": DEADLINE,
        "reserved": 3,
        "moq": 5,
        "capacity": 10,
    }


HELP = [
    HelpEntry("browse", "", "Open group orders"),
    HelpEntry("order", "CODE ITEM QTY [ITEM QTY …]", "Order <now>"),
]

# (template, context, texts the rendering must contain). Every template folder needs at least one case.
CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("browse", {"gos": [make_go()]}, ["Open group orders:", f"SVT-FML — {TITLE}: 7/10 taken", DEADLINE]),
    ("browse", {"gos": []}, ["No group orders are open right now."]),
    ("conversation_ended", {}, ["Nothing was created."]),
    ("error", {"message": "Nope <b>really</b>"}, ["⚠️ Nope <b>really</b>"]),
    ("export_ready", {"filename": "SVT-FML-orders.csv"}, ["SVT-FML-orders.csv"]),
    ("go_cancelled", go_notice("cancelled"), [f"SVT-FML ({TITLE}) was cancelled"]),
    (
        "go_card",
        {"go": make_go()},
        [
            f"SVT-FML · {TITLE} — open for orders",
            DESCRIPTION,
            "▓▓▓▓▓▓▓░░░ 7/10 taken · MOQ 5 ✓ · 3 paid",
            "• ALB — FML <album>: S$25.90",
            "ALB:A Faded Mono Life (4 left)",
            "ALB:B Fallen Misfit",
            "• PC — Photocard 🎴: S$3.00 (8 left)",
            f"Closes {DEADLINE} · max 2 per buyer · pay within 48 h of ordering",
            "Order with /order SVT-FML ITEM QTY.",
        ],
    ),
    (
        "go_card",
        {"go": make_go(reserved=10, paid=0, items=[], per_buyer_limit=None, description="")},
        ["(no items yet)", "10/10 taken", "full now; /waitlist SVT-FML ITEM QTY to queue"],
    ),
    (
        "go_card",
        {"go": make_go(status="closed", reserved=2)},
        ["— closed", "2/10 taken · MOQ 5 · 3 paid"],
    ),
    (
        "go_closed",
        {"go": make_go(status="confirmed"), "outcome": ClosingOutcome(status="confirmed", units=7, moq=5)},
        ["SVT-FML is closed: 7 units against an MOQ of 5.", "MOQ reached"],
    ),
    (
        "go_closed",
        {"go": make_go(status="failed"), "outcome": ClosingOutcome(status="failed", units=2, moq=5)},
        ["2 units against an MOQ of 5.", "MOQ not reached", "every order was cancelled"],
    ),
    ("go_confirmed", go_notice("confirmed"), [f"SVT-FML ({TITLE}) reached its MOQ"]),
    (
        "go_created",
        {"go": make_go(status="draft", reserved=0, paid=0)},
        ["Created SVT-FML as a draft.", TITLE, "then /open SVT-FML."],
    ),
    ("go_extended", {"go": make_go()}, [f"SVT-FML now closes {DEADLINE}."]),
    ("go_failed", go_notice("failed"), [f"SVT-FML ({TITLE}) closed with 3 of the 5 units"]),
    ("go_opened", {"go": make_go()}, [f"SVT-FML is open for orders until {DEADLINE}."]),
    ("go_status", go_notice("shipping"), [f"Update on SVT-FML ({TITLE}): it is on its way"]),
    ("go_status", go_notice("arrived"), [f"Update on SVT-FML ({TITLE}): it has arrived at the GOM"]),
    ("go_status_changed", {"go": make_go(status="arrived")}, ["SVT-FML has arrived at the GOM."]),
    (
        "help",
        {"commands": HELP, "is_admin": False},
        ["/browse — Open group orders", "/order CODE ITEM QTY [ITEM QTY …] — Order <now>"],
    ),
    ("helper_changed", {"name": "민지", "added": True}, ["민지 can now help run your group orders."]),
    ("helper_changed", {"name": "민지", "added": False}, ["민지 no longer helps"]),
    (
        "helper_invite",
        {"code": "ABCDE-FGHJK", "expires": DEADLINE},
        [
            "Invite code for your helper: ABCDE-FGHJK",
            "/join ABCDE-FGHJK",
            f"It works once, until {DEADLINE}.",
        ],
    ),
    ("helper_joined", {"gom": "민지"}, ["You now help 민지 run their group orders."]),
    ("item_added", {"item_code": "ALB", "go": make_go()}, ["Added ALB to SVT-FML.", "ALB:A Faded Mono Life"]),
    ("my_gos", {"gos": [make_go()]}, [f"• SVT-FML [open] {TITLE} — 7/10, MOQ 5"]),
    ("my_gos", {"gos": []}, ["You don't run any group orders yet."]),
    (
        "my_orders",
        {"orders": [make_order()], "bundles": [], "everything": False},
        [
            f"Order SVT-FML-0001 (SVT-FML · {TITLE}) — waiting for payment",
            "2 × FML <album> (Faded Mono Life) [ALB:A] — S$51.80",
            "Total S$54.80",
            "Pay by Sun 22 Nov 2026, 20:00 +08",
        ],
    ),
    (
        "my_orders",
        {
            "orders": [make_order()],
            "bundles": [BundleOffer("SVT-FML", "SVT-FML-B7", "S$63.60", 6360, ("SVT-FML-2", "SVT-FML-3"))],
            "everything": False,
        },
        [
            "SVT-FML: S$63.60 for 2 orders (SVT-FML-2, SVT-FML-3)",
            "Reference for all of them: SVT-FML-B7",
        ],
    ),
    (
        "my_orders",
        {"orders": [], "bundles": [], "everything": False},
        ["You have no open orders. (/myorders all"],
    ),
    ("my_orders", {"orders": [], "bundles": [], "everything": True}, ["You have no orders."]),
    (
        "newgo_step",
        {"intro": True, "error": "Bad <code>", "number": 2, "total": 7, "prompt": "Title?"},
        ["Let's set up a group order.", "⚠️ Bad <code>", "(2/7) Title?"],
    ),
    (
        "newgo_step",
        {"intro": False, "error": None, "number": 1, "total": 7, "prompt": "Code?"},
        ["(1/7) Code?"],
    ),
    ("not_understood", {"suggestion": None}, ["I didn't catch that."]),
    ("order_cancelled", {"order": make_order("cancelled")}, ["Order SVT-FML-0001 is cancelled"]),
    ("order_changed", {"order": make_order()}, ["✏️ Order changed.", "Total S$54.80", "Please pay by Sun"]),
    (
        "order_placed",
        {"order": make_order()},
        ["✅ Order placed!", "1 × Photocard 🎴 [PC] — S$3.00", "/change SVT-FML-0001 ITEM QTY"],
    ),
    (
        "order_placed",
        {"order": make_order(), "rank": True},
        ["rank the ones you want with /rank SVT-FML-0001"],
    ),
    (
        "order_placed_for",
        {"order": make_order()},
        [
            "Order SVT-FML-0001 placed for @carat_<3 (SVT-FML), recorded as placed by you for them.",
            "1 × Photocard 🎴 [PC] — S$3.00",
            "Total S$54.80, to pay by Sun 22 Nov 2026, 20:00 +08. /pay SVT-FML-0001",
        ],
    ),
    (
        "orders_list",
        {"go": make_go(), "orders": [make_order(), make_order("paid")]},
        [
            "SVT-FML: 2 order(s), 7 units live.",
            "SVT-FML-0001 [placed] @carat_<3 — 3 unit(s), S$54.80: 2×ALB:A, 1×PC",
        ],
    ),
    (
        "progress",
        {"go": make_go()},
        [
            f"SVT-FML · {TITLE} [open]",
            "MOQ 5 reached · 3 paid",
            "• ALB FML <album>: 5 taken",
            "PC Photocard 🎴: 2 taken, 0 paid, 8 left",
        ],
    ),
    ("progress", {"go": make_go(reserved=1, paid=0)}, ["MOQ 5 (needs 4 more) · 0 paid"]),
    ("start", {"name": "Carat <3", "is_admin": True}, ["Hi Carat <3!", "You run group orders too"]),
    ("start", {"name": "Carat", "is_admin": False}, ["Hi Carat!", "/help lists everything"]),
    ("unknown_command", {"name": "dance", "suggestion": None}, ["I don't know /dance."]),
    (
        "waitlist_joined",
        {"entry": make_entry()},
        ["You're #2 on the SVT-FML waitlist for 1 × FML <album> (Fallen Misfit)."],
    ),
    ("waitlist_left", {"code": "SVT-FML"}, ["You left the SVT-FML waitlist."]),
    (
        "waitlist_list",
        {"entries": [make_entry(), make_entry(1)]},
        ["• SVT-FML: 1 × FML <album> (Fallen Misfit) — #2 in line", "— #1 in line"],
    ),
    ("waitlist_list", {"entries": []}, ["You're not on any waitlist."]),
    (
        "waitlist_promoted",
        {
            "number": "SVT-FML-0002",
            "go_code": "SVT-FML",
            "go_title": TITLE,
            "total": "S$25.90",
            "payment_due": "Sun 22 Nov 2026, 20:00 +08",
            "lines": ["1 × FML <album> (Fallen Misfit)"],
        },
        [
            f"A slot freed up in SVT-FML ({TITLE}) and it's yours: order SVT-FML-0002.",
            "1 × FML <album> (Fallen Misfit)",
            "Total S$25.90 — please pay by Sun 22 Nov 2026, 20:00 +08.",
        ],
    ),
    (
        "tap_quantity",
        {
            "go": make_go(),
            "label": "FML <album> (Faded Mono Life)",
            "token": "ALB:A",
            "price": "S$25.90",
            "quantity": 2,
            "total": "S$51.80",
            "most": 2,
        },
        ["FML <album> (Faded Mono Life) [ALB:A] — S$25.90 each", "Quantity: 2 (up to 2) · total S$51.80"],
    ),
    (
        "tap_change",
        {
            "order": make_order(),
            "quantities": {"ALB:B": 3},
            "labels": {"ALB:B": "FML <album> (Fallen Misfit)"},
        },
        ["Changing SVT-FML-0001", "3 × FML <album> (Fallen Misfit) [ALB:B]"],
    ),
    (
        "dashboard_link",
        {"url": "https://gomflow.example/dashboard/sign-in/tok", "expires": "Fri 20 Nov 2026, 20:15 +08"},
        ["https://gomflow.example/dashboard/sign-in/tok", "once, until Fri 20 Nov 2026, 20:15 +08"],
    ),
    (
        "dashboard_signed_in",
        {"until": "Sat 21 Nov 2026, 04:00 +08"},
        ["session lasts until Sat 21 Nov 2026, 04:00 +08", "/dashboard signout"],
    ),
    ("dashboard_signed_out", {"ended": 2}, ["2 dashboard sessions ended", "sign nobody in"]),
    ("dashboard_signed_out", {"ended": 0}, ["No dashboard session was open"]),
]

CASES += PAYMENT_CASES
CASES += DELIVERY_CASES
CASES += REOPEN_CASES
CASES += EDITING_CASES
CASES += NOTICE_CASES
CASES += PRIVACY_CASES
CASES += TEAM_CASES
CASES += LEDGER_CASES
CASES += STATEMENT_CASES
CASES += [
    (
        "language",
        {"view": language_view("th"), "changed": False},
        ["ภาษาไทย", "/language CODE", "zh — 简体中文"],
    ),
    ("language", {"view": language_view("vi"), "changed": True}, ["Tiếng Việt"]),
]
CASES += REPORT_CASES
CASES += PROOF_READING_CASES
CASES += POLICY_CASES
CASES += MONEY_CASES
CASES += SHORTFALL_CASES
CASES += HANDOVER_CASES
CASES += INCLUSION_CASES
CASES += MASTERLIST_CASES


def make_broadcast(status: str, **extra: Any) -> Any:
    from core.services.broadcasts import BroadcastView

    return BroadcastView(
        id=4,
        go_code="SVT-FML",
        audience="unpaid",
        body="Pay <today> please",
        status=status,
        recipients=120,
        by_channel={"telegram": 100, "email": 20},
        **extra,
    )


LINK = {"platform": "telegram", "target": "-1001234", "pending": False}
EMAIL_LINK = {"platform": "email", "target": "list@example.com", "pending": True}
# Notifications, broadcasts and linked channels.
CASES += [
    (
        "broadcast",
        {"go_code": "SVT-FML", "go_title": TITLE, "gom": "Gina", "body": "Pay <today>"},
        [f"📣 SVT-FML ({TITLE}) — from Gina:", "Pay <today>", "/mute"],
    ),
    (
        "order_reminder",
        {
            "number": "SVT-FML-3",
            "go_code": "SVT-FML",
            "go_title": TITLE,
            "total": "S$25.90",
            "payment_due": DEADLINE,
        },
        ["SVT-FML-3", "Please pay S$25.90 by " + DEADLINE],
    ),
    (
        "order_reminder",
        {
            "number": "SVT-FML-3",
            "go_code": "SVT-FML",
            "go_title": TITLE,
            "total": "S$25.90",
            "payment_due": DEADLINE,
            "late_fee": "S$0.50",
            "grace": "1 day",
        },
        ["released 1 day later", "costs S$0.50 for each day started"],
    ),
    (
        "order_expired",
        {"number": "SVT-FML-3", "go_code": "SVT-FML", "go_title": TITLE},
        ["Order SVT-FML-3", "expired"],
    ),
    ("deadline_reminder", {**go_notice(), "left": "1 hour"}, ["closes in 1 hour", "needs 2 more"]),
    ("milestone", {**go_notice(), "milestone": "half_moq"}, ["halfway to its MOQ: 3/5"]),
    ("milestone", {**go_notice(), "milestone": "moq_reached"}, ["reached its MOQ"]),
    ("milestone", {**go_notice(), "milestone": "sold_out"}, ["sold out"]),
    ("go_announcement", go_notice("open"), ["is open for orders until " + DEADLINE]),
    ("go_announcement", go_notice("failed"), ["below its MOQ of 5", "refunded"]),
    ("go_announcement", go_notice("packing"), ["is being packed"]),
    ("go_announcement", go_notice("completed"), ["is complete"]),
    ("go_announcement", go_notice("shipping"), ["is shipping"]),
    (
        "broadcast_preview",
        {"b": make_broadcast("draft")},
        ["would reach 120 recipient(s): 100 on telegram, 20 on email", "/broadcast confirm 4"],
    ),
    ("broadcast_preview", {"b": make_broadcast("queued")}, ["is on its way to 120 recipient(s)"]),
    (
        "broadcast_preview",
        {"b": make_broadcast("scheduled", send_at=DEADLINE)},
        ["scheduled for " + DEADLINE],
    ),
    (
        "broadcast_list",
        {"items": [make_broadcast("queued", sent=100, pending=15, failed=5)], "scheduled_only": False},
        ["#4 SVT-FML → unpaid [queued] — 100 sent, 15 pending, 5 failed"],
    ),
    ("broadcast_list", {"items": [], "scheduled_only": True}, ["Nothing is scheduled."]),
    ("channel_linked", {"channel": LINK, "code": "SVT-FML", "linked": True}, ["telegram -1001234 now gets"]),
    ("channels_list", {"channels": [LINK], "code": "SVT-FML"}, ["• telegram -1001234"]),
    (
        "channel_linked",
        {"channel": EMAIL_LINK, "code": "SVT-FML", "linked": True},
        ["I sent a confirmation link to list@example.com", "until then it gets nothing"],
    ),
    (
        "channels_list",
        {"channels": [EMAIL_LINK], "code": "SVT-FML"},
        ["• email list@example.com (waiting for its confirmation link to be opened)"],
    ),
    (
        "link_confirm",
        {
            "code": "SVT-FML",
            "title": TITLE,
            "gom": "민지",
            "url": "https://g.example/links/confirm/t0k",
            "days": 3,
        },
        [
            "Confirm group order announcements for SVT-FML",
            f"민지 asked gomflow to send announcements about the group order SVT-FML ({TITLE})",
            "https://g.example/links/confirm/t0k",
        ],
    ),
    ("channels_list", {"channels": [], "code": "SVT-FML"}, ["Nothing is linked to SVT-FML"]),
    ("muted", {"muted": True}, ["Muted"]),
    ("muted", {"muted": False}, ["Unmuted"]),
    (
        "link_code",
        {"code": "K7QM-3XWP", "expires": DEADLINE, "channels": ["telegram", "email"]},
        ["Your link code: K7QM-3XWP", f"send /link K7QM-3XWP to me before {DEADLINE}", "telegram, email"],
    ),
    ("linked", {"linked": Linked("민지", ["telegram", "email", "email"])}, ["민지 on telegram, email."]),
    ("unlinked", {"channel": "email"}, ["Unlinked your email account."]),
    (
        "channel_fallback",
        {"lost": "telegram", "now": "email"},
        ["couldn't reach you on Telegram", "come here by email"],
    ),
    ("preferred", {"chosen": "email", "channels": ["telegram", "email"]}, ["now go to email first"]),
    ("preferred", {"chosen": None, "channels": ["telegram"]}, ["Choose one with /prefer APP"]),
]

# --- fallback and lookup --------------------------------------------------------------------


def test_renderer_reads_the_templates_folder_next_to_the_package() -> None:
    assert HERE.resolve() == TEMPLATE_ROOT


@pytest.mark.parametrize("channel", ["console", "telegram", "discord", "sms", "whatsapp", "email", "pigeon"])
def test_channel_without_its_own_variant_falls_back_to_plain_text(
    renderer: JinjaRenderer, channel: str
) -> None:
    rendered = renderer.render("error", channel, {"message": "Out of stock"})
    assert rendered.text == "⚠️ Out of stock"
    assert rendered.markup == "plain"


def test_every_channel_except_html_email_can_fall_back_to_plain_text() -> None:
    variants = template_variants()
    assert {c for c, tried in variants.items() if tried[-1] != "plain.txt"} == {"email_html"}


@pytest.mark.parametrize("name", ["no_such_template", "_shared", "../templates/error", ""])
def test_unknown_template_raises_key_error(renderer: JinjaRenderer, name: str) -> None:
    with pytest.raises(KeyError, match="no template"):
        renderer.render(name, "console", {})


def test_missing_context_name_fails_loudly_instead_of_rendering_blank(renderer: JinjaRenderer) -> None:
    with pytest.raises(jinja2.UndefinedError, match="message"):
        renderer.render("error", "console", {})


def test_rendered_text_is_stripped_of_outer_blank_lines(renderer: JinjaRenderer) -> None:
    text = renderer.render("go_card", "console", {"go": make_go()}).text
    assert text == text.strip()
    assert text.startswith("SVT-FML")


# --- every template -------------------------------------------------------------------------


def test_template_folders_were_found() -> None:
    assert len(TEMPLATE_NAMES) >= 30
    assert "go_card" in TEMPLATE_NAMES
    assert "_shared" not in TEMPLATE_NAMES


def test_every_template_folder_has_a_plain_text_fallback() -> None:
    missing = [name for name in TEMPLATE_NAMES if not (TEMPLATE_ROOT / name / "plain.txt.j2").is_file()]
    assert missing == []


def test_every_template_folder_has_a_render_case_here() -> None:
    assert sorted({name for name, _, _ in CASES}) == TEMPLATE_NAMES


@pytest.mark.parametrize(
    ("name", "context", "expected"),
    CASES,
    ids=[f"{name}-{i}" for i, (name, _, _) in enumerate(CASES)],
)
def test_template_renders_for_console(
    renderer: JinjaRenderer, name: str, context: dict[str, Any], expected: list[str]
) -> None:
    rendered = renderer.render(name, "console", context)
    assert rendered.markup == "plain"
    assert rendered.text
    for text in expected:
        assert text in rendered.text, (text, rendered.text)
    assert "&lt;" not in rendered.text
    assert "&amp;" not in rendered.text


def test_help_lists_every_declared_command(renderer: JinjaRenderer) -> None:
    commands = list(COMMANDS.values())
    text = renderer.render("help", "console", {"commands": commands, "is_admin": True}).text
    assert len(commands) > 5
    for command in commands:
        assert f"/{command.name}" in text
        assert command.summary in text


def test_user_text_passes_through_plain_text_unchanged(renderer: JinjaRenderer) -> None:
    text = renderer.render("go_opened", "console", {"go": make_go()}).text
    assert text.splitlines()[0] == f"SVT-FML is open for orders until {DEADLINE}."
    card = renderer.render("go_card", "console", {"go": make_go()}).text
    assert card.splitlines()[0] == "SVT-FML · 세븐틴 <b>FML</b> 🎵 — open for orders"


# --- filters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("done", "total", "expected"),
    [
        (0, 0, "░░░░░░░░░░"),
        (5, 0, "░░░░░░░░░░"),
        (3, -4, "░░░░░░░░░░"),
        (0, 10, "░░░░░░░░░░"),
        (5, 10, "▓▓▓▓▓░░░░░"),
        (10, 10, "▓▓▓▓▓▓▓▓▓▓"),
        (15, 10, "▓▓▓▓▓▓▓▓▓▓"),
        (1000, 3, "▓▓▓▓▓▓▓▓▓▓"),
        (1, 3, "▓▓▓░░░░░░░"),
        (2, 3, "▓▓▓▓▓▓▓░░░"),
    ],
)
def test_progress_bar(done: int, total: int, expected: str) -> None:
    assert progress_bar(done, total) == expected


@pytest.mark.parametrize(("done", "total"), [(0, 0), (7, 10), (99, 10), (1, 7), (0, -1)])
@pytest.mark.parametrize("width", [1, 5, 10, 20])
def test_progress_bar_is_always_exactly_width_characters(done: int, total: int, width: int) -> None:
    bar = progress_bar(done, total, width)
    assert len(bar) == width
    assert set(bar) <= {"▓", "░"}


def test_progress_bar_is_available_to_templates_as_bar(renderer: JinjaRenderer) -> None:
    text = renderer.render("progress", "console", {"go": make_go(reserved=10, paid=0)}).text
    assert "▓▓▓▓▓▓▓▓▓▓ 10/10" in text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain words", "plain words"),
        ("*bold* _it_", r"\*bold\* \_it\_"),
        ("`code` ~strike~ |spoiler|", r"\`code\` \~strike\~ \|spoiler\|"),
        ("> quote # head - list", r"\> quote \# head \- list"),
        ("[link](http://x)", r"\[link\]\(http://x\)"),
        ("back\\slash", "back\\\\slash"),
        ("SVT-FML", r"SVT\-FML"),
        ("세븐틴 🎵 FML!", "세븐틴 🎵 FML!"),
        ("<b>hi</b>", r"<b\>hi</b\>"),
        (42, "42"),
    ],
)
def test_escape_markdown(value: object, expected: str) -> None:
    assert escape_markdown(value) == expected


def test_escape_markdown_escapes_each_special_character_once() -> None:
    specials = "\\`*_~|>[]()#-"
    escaped = escape_markdown(specials)
    assert escaped == "".join("\\" + c for c in specials)


def test_telegram_variants_escape_user_text_as_html(renderer: JinjaRenderer) -> None:
    for name, context in (
        ("go_card", {"go": make_go()}),
        ("order_placed", {"order": make_order()}),
        ("tap_quantity", next(context for name, context, _ in CASES if name == "tap_quantity")),
        ("tap_change", next(context for name, context, _ in CASES if name == "tap_change")),
    ):
        rendered = renderer.render(name, "telegram", context)
        assert rendered.markup == "html"
        assert "<album>" not in rendered.text and "&lt;album&gt;" in rendered.text, rendered.text
    title = renderer.render("go_card", "telegram", {"go": make_go()}).text
    assert "세븐틴 &lt;b&gt;FML&lt;/b&gt; 🎵" in title
    assert "POB &amp; &lt;i&gt;photocards&lt;/i&gt;" in title


def test_the_number_to_pay_is_a_code_span_on_telegram_and_discord(renderer: JinjaRenderer) -> None:
    """Telegram shows <code> as tap-to-copy; Discord has no copy button, so a code span."""
    from core.views import BankView
    from tests.unit.payment_template_cases import pay_view

    pay = pay_view(pay_to="+6591234567", bank=BankView("DBS <Bank>", "Gina_Tan", "123-4"))
    telegram = renderer.render("pay_options", "telegram", {"pay": pay, "url": "u"})
    assert telegram.markup == "html"
    assert "to <code>+6591234567</code>" in telegram.text and "<code>SVT-FML-3-I1</code>" in telegram.text
    assert "DBS &lt;Bank&gt;" in telegram.text and "account number <code>123-4</code>" in telegram.text
    discord = renderer.render("pay_options", "discord", {"pay": pay, "url": "u"})
    assert discord.markup == "markdown"
    assert "to `+6591234567`" in discord.text and "Reference: `SVT-FML-3-I1`" in discord.text
    assert r"Gina\_Tan" in discord.text and "account number `123-4`" in discord.text


def test_the_masterlist_escapes_nicknames_as_each_platform_reads_them(renderer: JinjaRenderer) -> None:
    telegram = renderer.render("masterlist", "telegram", MASTERLIST.context())
    assert telegram.markup == "html"
    assert "<b>SVT-FML · 세븐틴 &lt;b&gt;FML&lt;/b&gt;</b>" in telegram.text
    assert "3. <b>-Bo*b_ by</b> — POB &lt;card&gt; (B) ×1 🌓 part paid" in telegram.text
    discord = renderer.render("masterlist", "discord", MASTERLIST.context())
    assert discord.markup == "markdown"
    assert r"3\. **\-Bo\*b\_ by** — POB <card\> (B) ×1 🌓 part paid" in discord.text


INCLUDING = sorted(
    path.relative_to(TEMPLATE_ROOT).as_posix()
    for path in TEMPLATE_ROOT.glob("*/*.j2")
    if not path.parent.name.startswith("_")
    and path.parent.name != "pages"  # web pages, not messages: their tests render them
    and "{% include" in path.read_text()
)


def test_every_template_with_a_shared_block_has_sample_data() -> None:
    assert INCLUDING and {f.split("/")[0] for f in INCLUDING} <= {name for name, _, _ in CASES}


@pytest.mark.parametrize(
    ("name", "context"),
    [(name, context) for name, context, _ in CASES if any(f.startswith(f"{name}/") for f in INCLUDING)],
)
def test_a_shared_block_written_in_reads_as_jinja_includes_it(name: str, context: dict[str, Any]) -> None:
    written_in, included = _environment(TEMPLATE_ROOT), _environment(TEMPLATE_ROOT, shared_blocks=False)
    for file in (f for f in INCLUDING if f.startswith(f"{name}/")):
        source = (TEMPLATE_ROOT / file).read_text()
        assert "{% include" not in written_in.preprocess(source, file)
        assert written_in.get_template(file).render(**context) == included.get_template(file).render(
            **context
        )


# a sentence run into the next with no space or line between ("…waitlists.Reason: …"): what
# trim_blocks does to the line break after a line of text that ends in a block tag, unless
# the tag says "+%}"
_RUN_TOGETHER = re.compile(r"[a-z0-9)][.!?:](?=[A-Z][a-z]|S\$|/[a-z]|•|✅|⚠)")


def test_no_template_runs_two_sentences_together() -> None:
    env = _environment(TEMPLATE_ROOT)
    joined = []
    for name, context, _ in CASES:
        for variant in sorted((TEMPLATE_ROOT / name).glob("*.j2")):
            text = env.get_template(f"{name}/{variant.name}").render(**context)
            joined += [
                f"{name}/{variant.name}: {text[m.start() - 30 : m.end() + 20]!r}"
                for m in _RUN_TOGETHER.finditer(text)
            ]
    assert joined == []
