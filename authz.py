"""The authorization matrix: every chat command and every web route, tried as seven people.

Who may do what is declared in the command table (each command's permission) and enforced
in core (``accounts.require_admin`` against the role on the GO's team). This module does not
restate either: it *runs* every command as each person against a real database and writes
down what happened, and it asks the web app for its routes and tries each without the
link or signature it needs. ``gomflow matrix --write docs/security.md`` puts the table in
the documentation; a test runs the same and fails when the two differ, so the page cannot
drift from what is enforced.

The people, least trusted first (they are tried in this order, so an allowed action by
one cannot hide a refusal of a later one):

* anonymous — someone gomflow has never seen;
* buyer — Bob, who ordered SVT-FML-1 in Gina's SVT-FML;
* buyer of another GO — Cara, who ordered in Otto's OTTO-GO;
* helper of another GOM — Olly, on Otto's team;
* helper, manager, owner — Hana, Mia and Gina on SVT-FML's team.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bots.chat import Attachment, ChatReply, ChatRequest
from bots.commands import COMMANDS, Audience, Command
from bots.dispatch import handle
from core.config import Settings
from core.db.migrate import upgrade
from core.errors import NotFound, PermissionDenied, UnknownGroupOrder, UnknownOrder
from core.permissions import Permission, grants
from core.privacy.setup import key_file_for
from core.services.accounts import register_gom
from main import App, bootstrap
from web.app import build_web_app

PERSONAS = (
    ("anonymous", "anon"),
    ("buyer", "bob"),
    ("buyer of another GO", "cara"),
    ("helper of another GOM", "olly"),
    ("helper", "hana"),
    ("manager", "mia"),
    ("owner", "gina"),
)
GO, ORDER, OTHER_GO = "SVT-FML", "SVT-FML-1", "OTTO-GO"

# The state every command is tried against (each command on its own copy of it).
SETUP: tuple[tuple[str, str], ...] = (
    ("gina", '/newgo SVT-FML "Test GO" currency=SGD moq=1 cap=50 limit=5 deadline=+3d'),
    ("gina", '/additem SVT-FML POB 3 "Photocard"'),
    ("gina", "/paymethods SVT-FML manual"),
    ("gina", "/open SVT-FML"),
    ("otto", '/newgo OTTO-GO "Other GO" currency=SGD moq=1 cap=50 deadline=+3d'),
    ("otto", '/additem OTTO-GO POB 3 "Photocard"'),
    ("otto", "/paymethods OTTO-GO manual"),
    ("otto", "/open OTTO-GO"),
    ("hana", "/start"),
    ("mia", "/start"),
    ("olly", "/start"),
    ("gina", "/helper add @hana"),
    ("gina", "/helper add @mia manager"),
    ("otto", "/helper add @olly"),
    ("bob", "/order SVT-FML POB 1"),
    ("bob", "/paid SVT-FML-1 REF-1"),
    ("cara", "/order OTTO-GO POB 1"),
    ("gina", "/schedule SVT-FML +1d all See you soon"),
    ("gina", '/shipopt SVT-FML MEET pickup "Meet-up"'),
    ("gina", '/shipopt SVT-FML MAIL mail "Normal mail" fee=2'),
)

# What each command is tried with where its usage alone does not say (``probe``).
PROBES: dict[str, str] = {
    "broadcast": f"/broadcast {GO} all Hello",
    "schedule": f"/schedule {GO} +1d all Hello",
    "unschedule": "/unschedule 1",
    "linkchannel": f"/linkchannel {GO} email news@example.com",
    "unlinkchannel": f"/unlinkchannel {GO} email news@example.com",
    "order": f"/order {GO} POB 1",
    "change": f"/change {ORDER} POB 2",
    "waitlist": f"/waitlist {GO} POB 1",
    "shipopt": f'/shipopt {GO} REG registered "Registered mail" fee=4',
    "slot": f'/slot {GO} MEET "2026-12-24 15:00" 10 "Town hall"',
    "deliver": f"/deliver {GO} MAIL",
    "ship": f"/ship {ORDER} jnt JT123456789",
    "weigh": f"/weigh {ORDER} 120",
    "importtracking": f"/importtracking {GO}",
    "newgo": '/newgo NEW-GO "New" currency=SGD moq=1 cap=5 deadline=+3d',
    "additem": f'/additem {GO} PC2 4 "Poster"',
    "extend": f"/extend {GO} +5d",
    "reopen": f"/reopen {GO} +3d",
    "status": f"/status {GO} ordered",
    "paymethods": f"/paymethods {GO} manual",
    "paid": f"/paid {ORDER} REF-2",
    "reject": f"/reject {ORDER} blurry",
    "refund": f"/refund {ORDER} sold out",
    "refunded": f"/refunded {ORDER} BANK-1",
    "shipping": f"/shipping {ORDER} 2",
    "adjust": f"/adjust {ORDER} 1",
    "helper": "/helper invite",
    "join": "/join ABCDE-FGHJK",
    "link": "/link",
    "unlink": "/unlink",
    "prefer": "/prefer console",
    "markpaid": f"/markpaid {ORDER} 1",
    "orderfor": f"/orderfor {GO} @bob POB 1",
    "ban": "/ban @bob never paid",
    "unban": "/unban @bob",
    "editgo": f'/editgo {GO} title="New title"',
    "edititem": f"/edititem {GO} POB price=4",
    "removeitem": f"/removeitem {GO} POB",
    "retire": f"/retire {GO} POB",
    "copygo": f"/copygo {GO} COPY-GO",
    "statement": "/statement",
    "proofpolicy": f"/proofpolicy {GO} auto",
    "uniqueamounts": f"/uniqueamounts {GO} 0.10",
    "unapprove": f"/unapprove {ORDER}",
    "rate": f"/rate {GO} 1000 KRW = 0.98 SGD",
    "srcprice": f"/srcprice {GO} POB 3000",
    "fee": f"/fee {GO} 1.00",
    "surcharge": f"/surcharge {GO} stripe 0.50",
    "deposit": f"/deposit {GO} 30%",
    "instalments": f"/instalments {GO} 2099-01-10",
    "shortfall": f"/shortfall {GO} POB=0",
    "credit": "/credit @bob",
    "received": f'/received {GO} POB "Mingyu PC=1"',
    "allocate": f"/allocate {GO} POB",
    "allocation": f"/allocation {GO} POB",
}

# The files some probes carry, as a person would send them with the command.
PROBE_FILES: dict[str, Attachment] = {
    "importtracking": Attachment(
        "tracking.csv", b"order,carrier,tracking\nSVT-FML-1,jnt,JT1234567890\n", "text/csv"
    ),
    "statement": Attachment(
        "statement.csv",
        b"Date,Description,Amount,Currency\n01/12/2026,PAYNOW SVT-FML-1-I1,3.00,SGD\n",
        "text/csv",
    ),
}

# Refusals that mean "not yours": a permission refused, or the thing kept out of sight.
DENIALS = frozenset({PermissionDenied.code, NotFound.code, UnknownGroupOrder.code, UnknownOrder.code})


def probe(entry: Command) -> str:
    """The message that tries ``entry`` on Gina's GO or Bob's order."""
    if entry.name in PROBES:
        return PROBES[entry.name]
    first = entry.usage.split(" ", 1)[0].strip("[]")
    target = {"CODE": GO, "ORDER": ORDER}.get(first)
    return f"/{entry.name} {target}" if target else f"/{entry.name}"


def targets_one_go(entry: Command) -> bool:
    """Whether the command acts on one GO or order (not a list across the teams one is on)."""
    return GO in probe(entry) or ORDER in probe(entry)


@dataclass(frozen=True)
class Row:
    """One command or route and who it let through."""

    name: str
    rule: str  # the declared permission, or how a route is reached
    allowed: tuple[bool, ...]  # one per persona, in ``PERSONAS`` order


class Access(StrEnum):
    PUBLIC = "public"
    LINK = "link"  # an unguessable token that only a chat reply gives out
    SIGNED = "signed"  # a payment provider's or platform's signature
    OPERATOR = "operator"  # GOMFLOW_METRICS_TOKEN as a bearer token, or from this machine only
    SESSION = "session"  # a dashboard session, opened by a one-time link from a chat command


# Every route of the web app, with how it is reached and (for a link) the command that
# hands the link out; a route missing here fails the test.
ROUTES: dict[str, tuple[Access, str | None]] = {
    "GET /health": (Access.PUBLIC, None),
    "GET /pay/{token}": (Access.LINK, "pay"),
    "GET /pay/{token}/qr.png": (Access.LINK, "pay"),
    "GET /pay/{token}/status": (Access.LINK, "pay"),
    "POST /pay/{token}/{provider}": (Access.LINK, "pay"),
    "POST /webhooks/{provider}": (Access.SIGNED, None),
    "GET /links/confirm/{token}": (Access.LINK, "linkchannel"),
    "POST /links/confirm/{token}": (Access.LINK, "linkchannel"),
    # in every email gomflow sends: each recipient's own link, about only their own mail
    "GET /unsubscribe/{token}": (Access.LINK, None),
    "POST /unsubscribe/{token}": (Access.LINK, None),
    "GET /packing/{token}": (Access.LINK, "labels"),
    "GET /metrics": (Access.OPERATOR, None),
    # the dashboard: signed in by a one-time link from /dashboard; then each page is the chat
    # command's service, run as the signed-in person (their role on the GO's team decides)
    "GET /dashboard/sign-in/{token}": (Access.LINK, "dashboard"),
    "POST /dashboard/sign-in/{token}": (Access.LINK, "dashboard"),
    "POST /dashboard/sign-out": (Access.SESSION, "dashboard"),
    "GET /dashboard": (Access.SESSION, "mygos"),
    "GET /dashboard/go/{code}": (Access.SESSION, "orders"),
    "GET /dashboard/go/{code}/payments": (Access.SESSION, "payments"),
    "GET /dashboard/go/{code}/buyers": (Access.SESSION, "payments"),
    "GET /dashboard/go/{code}/proofs": (Access.SESSION, "proof"),
    "GET /dashboard/go/{code}/packing": (Access.SESSION, "labels"),
    "GET /dashboard/go/{code}/orders.csv": (Access.SESSION, "export"),
    "GET /dashboard/go/{code}/buyers.csv": (Access.SESSION, "payments"),
    "GET /dashboard/orders/{number}/proofs": (Access.SESSION, "proof"),
    "GET /dashboard/orders/{number}/proofs/{ordinal}/image": (Access.SESSION, "proof"),
    "POST /dashboard/orders/{number}/proofs/{ordinal}/approve": (Access.SESSION, "approve"),
    "POST /dashboard/orders/{number}/proofs/{ordinal}/reject": (Access.SESSION, "reject"),
    # for load balancers and supervisors: alive, and ready (database, schema, role); no data
    "GET /healthz": (Access.PUBLIC, None),
    "GET /readyz": (Access.PUBLIC, None),
}


async def _say(app: App, who: str, text: str, attachment: Attachment | None = None) -> ChatReply:
    request = ChatRequest("console", who, who, text, handle=who, chat_id=who, attachment=attachment)
    return await handle(app.bot, request)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def _prepare(path: Path) -> None:
    app = bootstrap(Settings(database_url=sqlite_url(path)), write=lambda _: None)
    try:
        await upgrade(app.core.db)
        for gom in ("gina", "otto"):
            await register_gom(app.core.uow(), "console", gom, gom)
        for who, text in SETUP:
            reply = await _say(app, who, text)
            if reply.refusal is not None:
                raise RuntimeError(f"the matrix set-up was refused: {who}: {text}: {reply.text}")
    finally:
        await app.core.close()


async def _try_command(seed: Path, work: Path, entry: Command) -> Row:
    shutil.copyfile(seed, work)
    # the copy's personal data is sealed under the seed's key, generated beside it
    shutil.copyfile(key_file_for(sqlite_url(seed)), key_file_for(sqlite_url(work)))
    app = bootstrap(Settings(database_url=sqlite_url(work)), write=lambda _: None)
    try:
        attachment = PROBE_FILES.get(entry.name)
        allowed = [
            (await _say(app, who, probe(entry), attachment)).refusal not in DENIALS for _, who in PERSONAS
        ]
    finally:
        await app.core.close()
    permission = entry.staff_permission
    rule = permission.value if permission is not None else "—"
    if entry.audience is Audience.EVERYONE:
        rule = f"anyone (staff: {rule})" if permission is not None else "anyone"
    return Row(f"/{entry.name}", rule, tuple(allowed))


async def _try_routes(seed: Path, command_rows: dict[str, Row]) -> list[Row]:
    """Each route without its link or signature; a link route is otherwise open to whoever
    the chat gives the link (its command's row)."""
    app = bootstrap(Settings(database_url=sqlite_url(seed)), write=lambda _: None)
    web_app = build_web_app(app.core)
    rows = []
    try:
        async with TestClient(TestServer(web_app, host="127.0.0.1")) as client:
            for key in _route_keys(web_app):
                if key not in ROUTES:
                    raise LookupError(f"{key} has no rule in authz.ROUTES: say how it is reached")
                access, issued_by = ROUTES[key]
                method, path = key.split(" ", 1)
                guessed = path.replace("{token}", "not-a-real-token").replace("{provider}", "manual")
                guessed = guessed.replace("{code}", GO).replace("{number}", ORDER).replace("{ordinal}", "1")
                # an operator route is tried as a stranger reaching it through the proxy
                stranger = {"X-Forwarded-For": "203.0.113.7"} if access is Access.OPERATOR else None
                response = await client.request(method, guessed, data=b"{}", headers=stranger)
                anonymous_ok = response.status < 400
                if access is Access.LINK and issued_by:
                    others = command_rows[f"/{issued_by}"].allowed[1:]
                    via = f"link from /{issued_by}"
                elif access is Access.SESSION and issued_by:
                    # a session is had only through /dashboard; then the command's service decides
                    signs_in, may = command_rows["/dashboard"].allowed, command_rows[f"/{issued_by}"].allowed
                    others = tuple(a and b for a, b in zip(signs_in, may, strict=True))[1:]
                    via = f"dashboard session, as /{issued_by}"
                else:
                    others = (access not in (Access.SIGNED, Access.OPERATOR),) * (len(PERSONAS) - 1)
                    via = "link in each email" if access is Access.LINK else access.value
                rows.append(Row(key, via, (anonymous_ok, *others)))
    finally:
        await app.core.close()
    return rows


def _route_keys(web_app: web.Application) -> Iterator[str]:
    for route in web_app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("formatter") or info.get("path")
        if route.method in {"GET", "POST"} and path:
            yield f"{route.method} {path}"


async def matrix() -> tuple[list[Row], list[Row]]:
    """Every command and every route, tried as every person: (commands, routes)."""
    with tempfile.TemporaryDirectory(prefix="gomflow-matrix-") as tmp:
        seed, work = Path(tmp) / "seed.db", Path(tmp) / "work.db"
        await _prepare(seed)
        commands = [await _try_command(seed, work, entry) for entry in COMMANDS.values()]
        routes = await _try_routes(seed, {row.name: row for row in commands})
    return commands, routes


def expected(entry: Command, persona: int) -> bool | None:
    """What the declared permission says a person may do with a GOM command (None: a buyer
    command, where only the run itself says)."""
    permission = entry.staff_permission
    if entry.audience is not Audience.GOM or permission is None:
        return None
    name = PERSONAS[persona][0]
    if name in {"anonymous", "buyer", "buyer of another GO"}:
        return False
    if name == "helper of another GOM":
        return not targets_one_go(entry) and _role_may("helper", permission)
    return _role_may(name, permission)


def _role_may(role: str, permission: Permission) -> bool:
    return grants(role, permission)


def markdown(commands: list[Row], routes: list[Row]) -> str:
    """The tables for docs/security.md."""
    head = "| | rule | " + " | ".join(name for name, _ in PERSONAS) + " |"
    rule = "|---|---|" + "---|" * len(PERSONAS)

    def line(row: Row) -> str:
        return f"| `{row.name}` | {row.rule} | " + " | ".join("✓" if a else "✗" for a in row.allowed) + " |"

    return "\n".join(
        [
            "### Chat commands",
            "",
            head,
            rule,
            *(line(row) for row in commands),
            "",
            "### Web routes",
            "",
            head,
            rule,
            *(line(row) for row in routes),
            "",
        ]
    )


BEGIN = "<!-- matrix: generated by `gomflow matrix --write docs/security.md`; do not edit by hand -->"
END = "<!-- end of matrix -->"


def replace_in(document: str, table: str) -> str:
    """``document`` with the part between the markers replaced by ``table``."""
    before, _, rest = document.partition(BEGIN)
    _, _, after = rest.partition(END)
    return f"{before}{BEGIN}\n\n{table}\n{END}{after}"
