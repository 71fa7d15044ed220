"""The gomflow command line: ``run``, ``demo``, ``db upgrade`` and admin tasks.

``bootstrap()`` is the one composition root: it builds the core, the renderer, the
bots' context, the outbound channels and the dispatcher, and connects to nothing until
something runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from dotenv import load_dotenv
from sqlalchemy.exc import SQLAlchemyError

from bots.chat import ChatRequest
from bots.commands import BotContext
from bots.console import ConsoleChat
from bots.discord.sync import sync_commands
from bots.dispatch import handle
from channels.base import Channel
from channels.dispatcher import Dispatcher
from channels.limits import limits_from
from channels.setup import close_all
from core.app import Core, build_core
from core.check import check_database, database_for_check
from core.clock import Clock
from core.config import Settings, TelegramSettings
from core.db.migrate import upgrade
from core.delivery import tracking_import
from core.delivery.carriers import carrier_table
from core.errors import DatabaseNotReady, GomflowError
from core.heap import settled_heap
from core.leader import Leadership, OutboxNotifier, migration_lock
from core.privacy import redact
from core.privacy.rotate import DEFAULT_BATCH, rotate
from core.privacy.setup import add_key_to_file
from core.services import gom_accounts
from core.services.accounts import Actor, identify, register_gom
from platforms import PLATFORMS, Inbound, Platform, Wiring, rate_limits, template_variants
from scheduler.jobs import Ticker
from templates import JinjaRenderer
from web.app import build_web_app
from web.gateways import build_gateways
from workers import leader_only, leader_work, refuse_workers, supervise, worker_name

log = logging.getLogger("gomflow")


@dataclass
class App:
    core: Core
    bot: BotContext
    dispatcher: Dispatcher
    channels: dict[str, Channel]
    ticker: Ticker
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    wiring: Wiring = field(default_factory=lambda: Wiring(Settings()))
    platforms: tuple[Platform, ...] = ()  # the configured ones, in the registry's order


def bootstrap(
    settings: Settings,
    *,
    clock: Clock | None = None,
    write: Callable[[str], None] = print,
    telegram: TelegramSettings | None = None,
    console_input: bool = False,
    console_numbered: bool = False,
    platforms: tuple[Platform, ...] = PLATFORMS,
) -> App:
    """Build everything from the settings; every configured platform comes from the registry."""
    core = build_core(settings, clock)
    core.payment_gateways.update(build_gateways(settings))
    wiring = Wiring(settings, telegram or TelegramSettings(), write, console_input, console_numbered)
    chosen = tuple(p for p in platforms if p.configured(wiring))
    renderer = JinjaRenderer(template_variants(platforms))
    channels: dict[str, Channel] = {p.name: p.channel(wiring) for p in chosen}
    for platform in platforms:  # known even where not configured, so a refusal can say why
        if platform.link_target is not None:
            core.link_targets[platform.name] = platform.link_target
    if wiring.telegram.payment_provider_token and any(p.name == "telegram" for p in chosen):
        core.in_chat_payments.add("telegram")
    for platform in chosen:
        if platform.verifier is not None:
            core.channel_verifiers[platform.name] = platform.verifier(wiring)
    limits = limits_from(settings.rate_limits, rate_limits(platforms))
    return App(
        core=core,
        bot=BotContext(core, renderer),
        dispatcher=Dispatcher(core, renderer, channels, limits=limits),
        channels=channels,
        ticker=Ticker(core),
        telegram=wiring.telegram,
        wiring=wiring,
        platforms=chosen,
    )


async def run_workers(settings: Settings, count: int) -> int:
    """``gomflow run --workers N``: migrate once, then keep N ``gomflow run`` children serving."""
    app = bootstrap(settings)
    try:
        async with migration_lock(settings.database_direct_url or settings.database_url):
            await upgrade(app.core.db)
    finally:
        await app.core.close()
    command = [sys.executable, str(Path(__file__).resolve()), "run", "--no-console"]
    return await supervise(count, command, dict(os.environ))


async def run(settings: Settings, console: bool, numbered: bool = False) -> None:
    app = bootstrap(
        settings, telegram=TelegramSettings.from_env(), console_input=console, console_numbered=numbered
    )
    await serve(app)


async def serve(
    app: App, stop: asyncio.Event | None = None, *, platforms: tuple[Platform, ...] = PLATFORMS
) -> None:
    """Serve until ``stop`` is set (by default: SIGTERM or SIGINT), then close everything.

    Every configured platform's inbound adapter is mounted on the web app and started; one
    that cannot start is logged and the others go on. Unconfigured ones are named in the log.
    Adapters that pull their messages, the scheduler and the outbox run only while this
    worker leads (``workers.leader_work``); on SQLite, or alone, it always does.
    """
    settings = app.wiring.settings
    async with migration_lock(settings.database_direct_url or settings.database_url):
        await upgrade(app.core.db)
    leadership = Leadership(
        settings.database_direct_url or settings.database_url,
        retry_seconds=settings.leader_retry_seconds,
        on_notify=app.dispatcher.wake,
    )
    notifier = OutboxNotifier(app.core.db.engine, leadership)
    if not leadership.leading:
        app.core.outbox_listeners.append(notifier)
    web_app = build_web_app(app.core, role=lambda: leadership.role, renderer=app.bot.renderer)
    inbound: list[tuple[str, Inbound]] = []
    leader_inbound: list[tuple[str, Callable[[], contextlib.AbstractAsyncContextManager[object]]]] = []
    for platform in platforms:
        if platform not in app.platforms:
            log.info("%s: not started (%s not set)", platform.name, platform.needs)
            continue
        channel = app.channels[platform.name]
        adapter = platform.inbound(app.wiring, app.bot, channel) if platform.inbound is not None else None
        if adapter is None:
            log.info("%s: sending", platform.name)
        elif leader_only(adapter):
            leader_inbound.append((platform.name, _fresh_running(app, platform, adapter)))
        else:
            adapter.mount(web_app)
            inbound.append((platform.name, adapter))
    # on stop, requests in flight get a few seconds, not aiohttp's default minute
    runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    reuse = True if settings.http_reuse_port else None
    await web.TCPSite(runner, settings.http_host, settings.http_port, reuse_port=reuse).start()
    log.info("web server on http://%s:%s (health: /health)", settings.http_host, settings.http_port)
    log.info("database: %s", settings.database_url.split("@")[-1])
    try:
        async with contextlib.AsyncExitStack() as adapters:
            for name, adapter in inbound:
                try:
                    await adapters.enter_async_context(adapter.running())
                except Exception as exc:
                    log.error("%s: not started: %s", name, exc)
                else:
                    log.info("%s: receiving and sending", name)
            with settled_heap():  # start-up is over: what it made stays out of the collector's way
                await _serve(app, stop, leadership, leader_inbound)
    finally:
        await runner.cleanup()
        await notifier.close()
        await leadership.close()
        await close_all(app.channels)
        await close_verifiers(app.core)
        for gateway in app.core.payment_gateways.values():
            await gateway.close()
        await app.core.close()


def _fresh_running(
    app: App, platform: Platform, first: Inbound
) -> Callable[[], contextlib.AbstractAsyncContextManager[object]]:
    """A leader-only adapter's ``running()``, from a new adapter for each turn as leader
    (a client stopped when leadership was lost is not started again)."""
    made = [first]

    def running() -> contextlib.AbstractAsyncContextManager[object]:
        if made:
            return made.pop().running()
        assert platform.inbound is not None
        adapter = platform.inbound(app.wiring, app.bot, app.channels[platform.name])
        assert adapter is not None
        return adapter.running()

    return running


async def close_verifiers(core: Core) -> None:
    """Release the HTTP sessions the channel verifiers opened, if any."""
    for verifier in core.channel_verifiers.values():
        close = getattr(verifier, "close", None)
        if close is not None:
            await close()


async def _serve(
    app: App,
    stop: asyncio.Event | None,
    leadership: Leadership,
    leader_inbound: Sequence[tuple[str, Callable[[], contextlib.AbstractAsyncContextManager[object]]]] = (),
) -> None:
    if stop is None:
        stop = asyncio.Event()
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(signal_number, stop.set)
    if not leadership.leading:
        log.info("this worker follows; it leads when no other worker does")
    while await leadership.acquire(stop):
        if leadership.shared:
            log.info("this worker is now the leader: scheduler, outbox and polling run here")
        async with leader_work(app.ticker, app.dispatcher, leader_inbound):
            lost = await leadership.lost(stop)
        if not lost:
            break
        log.warning("this worker lost the leader lock: its scheduler, outbox and polling stopped")
    log.info("stopping")
    await leadership.step_down()  # before the slower goodbyes, so another worker leads sooner


DEMO_SCRIPT = """
/as gom gina
/newgo SVT-FML "Seventeen FML album" currency=SGD moq=4 cap=6 limit=2 deadline=+3d
/additem SVT-FML ALB 25.90 "FML album" versions="A:Faded Mono Life,B:Fallen Misfit,C:Fight My Way"
/additem SVT-FML POB 3 "Pre-order photocard" stock=2
/paymethods SVT-FML paynow:+6591234567 manual
/open SVT-FML
/newgo NJZ-OMG "NewJeans OMG merch" currency=PHP moq=10 cap=50 deadline=+2d
/additem NJZ-OMG TOTE 850 "Tote bag"
/paymethods NJZ-OMG qrph:GXCHPHM2XXX:09171234567 bank="BDO Unibank" name="Gina Reyes" account=0012-3456-7890
/open NJZ-OMG
/as buyer bob
/browse
/go SVT-FML
/order SVT-FML ALB:A 1 POB 1
/pay SVT-FML-1
/paid SVT-FML-1 DBS-TRF-123
/order SVT-FML ALB:Z 1
/order SVT-FML ALB:B 0
/order NJZ-OMG TOTE 2
"""

DEMO_AFTER_RUSH = """
/as buyer zoe
/order SVT-FML ALB:C 1
/waitlist SVT-FML ALB:C 1
/as buyer bob
/myorders
/cancel SVT-FML-1
/as buyer zoe
/myorders
/as gom gina
/progress SVT-FML
/orders SVT-FML
/payments SVT-FML
/close SVT-FML
/close SVT-FML confirm
/close NJZ-OMG confirm
/status SVT-FML ordered
/as buyer amy
/order SVT-FML ALB:A 1
"""


async def demo() -> None:
    """Play a whole group order on a throwaway database and print the transcript."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp}/demo.db")
        app = bootstrap(settings)
        await upgrade(app.core.db)
        chat = ConsoleChat(app.bot, print, export_dir=Path(tmp))

        async def play(script: str) -> None:
            for line in filter(None, script.strip().splitlines()):
                print(f"\n{chat.speaker or '?'}> {line}")
                await chat.feed(line)
                await app.dispatcher.run_once()

        await play(DEMO_SCRIPT)
        print("\n--- drop: five fans order SVT-FML in the same instant ---")
        fans = ["amy", "cal", "dee", "eli", "fay"]
        replies = await asyncio.gather(
            *(
                handle(app.bot, ChatRequest("console", fan, fan, "/order SVT-FML ALB:C 2", fan))
                for fan in fans
            )
        )
        for fan, reply in zip(fans, replies, strict=True):
            print(f"{fan}: {reply.text.splitlines()[0]}")
        await play(DEMO_AFTER_RUSH)
        await app.core.close()


async def db_upgrade(settings: Settings) -> None:
    app = bootstrap(settings)
    await upgrade(app.core.db)
    await app.core.close()
    print("database is at the newest schema")


async def add_gom(settings: Settings, channel: str, external_id: str, name: str) -> None:
    app = bootstrap(settings)
    await upgrade(app.core.db)
    actor = await register_gom(app.core.uow(), channel, external_id, name)
    await app.core.close()
    print(f"{actor.name} ({channel}:{external_id}) can now run group orders")


async def gom_task(settings: Settings, args: argparse.Namespace) -> None:
    if args.action == "add":
        await add_gom(settings, args.channel, args.external_id, args.name)
        return
    app = bootstrap(settings)
    try:
        await upgrade(app.core.db)
        if args.action == "list":
            rows = await gom_accounts.list_goms(app.core.reader())
            print(app.bot.renderer.render("gom_list", "console", {"goms": rows}).text)
            return
        name = await gom_accounts.remove_gom(app.core.uow(), args.channel, args.external_id)
        print(f"{name} ({args.channel}:{args.external_id}) no longer runs group orders")
    except GomflowError as refusal:
        sys.exit(f"gomflow gom {args.action}: {refusal.message}")
    finally:
        await app.core.close()


async def keys_rotate(settings: Settings, batch: int) -> None:
    """Seal every personal value again under the newest data key, in short transactions.

    With a key file, a fresh key is added to it first; with GOMFLOW_DATA_KEYS, the first
    key listed is the newest (add it there, and restart the servers, before rotating)."""
    app = bootstrap(settings)
    try:
        await upgrade(app.core.db)
        ring = app.core.keyring
        assert ring is not None
        if ring.source is not None:
            print(f"added data key {add_key_to_file(ring)} to {ring.source}")
        done = await rotate(app.core.uow, ring, batch=batch)
    finally:
        await app.core.close()
    for table_name, count in done.resealed.items():
        print(f"{table_name}: {count} values sealed again")
    if done.still_old:
        print(f"{done.still_old} values changed meanwhile under an older key: run it again")
    else:
        print(f"every personal value is under key {ring.current}; older keys may now leave the ring")


async def check(settings: Settings) -> int:
    """Print each invariant with OK or FAIL; 0 if all hold, 1 if one does not, 2 if unreadable."""
    db = None
    try:
        db = database_for_check(settings.database_url)
        results = await check_database(db)
    except DatabaseNotReady as exc:
        print(f"gomflow check: {exc.message}", file=sys.stderr)
        return 2
    except (SQLAlchemyError, OSError, ValueError) as exc:
        log.debug("check failed", exc_info=True)
        where = settings.database_url.split("@")[-1]
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"gomflow check: cannot read the database at {where}: {reason}", file=sys.stderr)
        return 2
    finally:
        if db is not None:
            await db.dispose()
    width = max(len(r.name) for r in results)
    for result in results:
        line = f"{result.name:<{width}}  {'OK' if result.ok else 'FAIL'}"
        print(f"{line}  {result.detail}" if result.detail else line)
    failed = sum(not r.ok for r in results)
    print(f"{failed} of {len(results)} checks failed" if failed else f"all {len(results)} checks passed")
    return 1 if failed else 0


async def verify_allocation(
    settings: Settings, go_code: str, item_code: str, seed: str | None, inputs: Path | None
) -> int:
    """Re-run an item's allocation and say whether it matches what was recorded: from the
    database, or with ``inputs`` from an export file and no database. 0 when it matches, 1
    when it does not, 2 when it cannot be checked."""
    from core import allocation
    from core.services.allocations import verify_recorded

    try:
        if inputs is not None:
            content = _read_input(inputs, "verify-allocation")
            if content is None:
                return 2
            verdict = allocation.verify_export(content, go_code, item_code, seed)
        else:
            app = bootstrap(settings)
            try:
                verdict = await verify_recorded(app.core.reader(), go_code, item_code, seed)
            finally:
                await app.core.close()
    except GomflowError as refusal:
        print(f"gomflow verify-allocation: {refusal.message}", file=sys.stderr)
        return 2
    name = f"{go_code.upper()} {item_code.upper()}"
    if verdict.matches:
        print(f"{name}: the allocation matches: the same inputs and seed give the same result.")
        return 0
    print(f"{name}: the allocation does NOT match:")
    for reason in verdict.reasons:
        print(f"  - {reason}")
    return 1


def _read_input(path: Path, tool: str) -> bytes | None:
    """The file a command-line tool was given, or None after saying on stderr why not."""
    try:
        return path.read_bytes()
    except OSError as exc:
        print(f"gomflow {tool}: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return None


async def _as_chat_person(
    settings: Settings,
    who: list[str],
    tool: str,
    refused: int,
    act: Callable[[App, Actor], Awaitable[int]],
) -> int:
    """Run ``act`` as the person ``who`` names (``CHANNEL ID``), as their chat command
    would; a refusal goes to stderr and exits ``refused``."""
    app = bootstrap(settings)
    try:
        await upgrade(app.core.db)
        channel, external_id = who
        return await act(app, await identify(app.core.uow(), channel, external_id, external_id))
    except GomflowError as refusal:
        print(f"gomflow {tool}: {refusal.message}", file=sys.stderr)
        return refused
    finally:
        await app.core.close()


async def import_tracking(
    settings: Settings, as_who: list[str], go_code: str, path: Path, carrier: str, apply: bool
) -> int:
    """Check a tracking CSV for a GO as the GOM (or helper) ``as_who`` names, and apply it
    with ``--apply`` when every line is clean; the report is printed as the chat shows it."""
    content = _read_input(path, "tracking")
    if content is None:
        return 2

    async def check(app: App, actor: Actor) -> int:
        carriers = carrier_table(settings.carrier_links)
        report = await tracking_import.check_file(app.core.uow(), actor, go_code, content, carriers, carrier)
        if apply and report.import_id is not None:
            report = await tracking_import.apply_import(app.core.uow(), actor, report.import_id, carriers)
        print(app.bot.renderer.render("tracking_import_report", "console", {"report": report}).text)
        return 0 if report.import_id is not None else 1

    return await _as_chat_person(settings, as_who, "tracking", 1, check)


def read_statement_file(path: Path, currency: str | None) -> int:
    """``gomflow statement read``: one JSON object per transaction understood, so whoever
    looks at a new bank's export sees at once what was read (exit 2 when nothing could be)."""
    from core.services import statements  # only what reading a file needs

    content = _read_input(path, "statement")
    if content is None:
        return 2
    try:
        statement = statements.read_file(content, currency)
    except GomflowError as refusal:
        print(f"gomflow statement: {refusal.message}", file=sys.stderr)
        return 2
    for transaction in statement.transactions:
        print(json.dumps(transaction.as_json(), ensure_ascii=False))
    if statement.skipped_rows:
        rows = ", ".join(map(str, statement.skipped_rows[:20]))
        print(f"gomflow statement: skipped rows that are not transactions: {rows}", file=sys.stderr)
    return 0


async def import_statement(
    settings: Settings, gom: list[str], path: Path, currency: str | None, apply: bool
) -> int:
    """Match a statement as the GOM (or helper) ``gom`` names, as ``/statement`` does, and
    apply the matches with ``--apply``; the report is printed as the chat shows it."""
    from core.permissions import Permission
    from core.services import statements

    content = _read_input(path, "statement")
    if content is None:
        return 2

    async def match(app: App, person: Actor) -> int:
        actor = person.acting_for(Permission.PROOFS)
        report = await statements.preview_statement(app.core.uow(), actor, content, path.name, currency)
        if apply and report.to_apply:
            report = await statements.apply_statement(app.core.uow(), actor, report.import_id)
        print(app.bot.renderer.render("statement_report", "console", {"report": report}).text)
        return 0

    return await _as_chat_person(settings, gom, "statement", 2, match)


async def matrix(target: Path | None, check_only: bool) -> int:
    """Print the authorization matrix, or write it into ``target`` between its markers
    (``--check``: exit 1 when the page differs from what is enforced)."""
    import authz  # it builds apps with ``bootstrap``, so only imported when asked for

    table = authz.markdown(*await authz.matrix())
    if target is None:
        print(table)
        return 0
    current = target.read_text(encoding="utf-8")
    updated = authz.replace_in(current, table)
    if check_only:
        print(f"{target} is up to date" if updated == current else f"{target} differs from what is enforced")
        return 0 if updated == current else 1
    target.write_text(updated, encoding="utf-8")
    print(f"wrote the authorization matrix into {target}")
    return 0


async def discord_sync(settings: Settings, guild: int | None) -> None:
    if not settings.discord_bot_token:
        raise ValueError("DISCORD_BOT_TOKEN is not set")
    translate = JinjaRenderer().translate  # each command described in every language
    count = await sync_commands(settings.discord_bot_token, settings.discord_api_base, guild, translate)
    print(f"synced {count} slash commands " + (f"to server {guild}" if guild else "globally"))


def configured_secrets(settings: Settings, telegram: TelegramSettings) -> list[str]:
    """Every secret the environment gave, and the forms it travels in, for the log filter."""
    named = [
        (f.name, value)
        for config in (settings, telegram)
        for f in dataclasses.fields(config)
        if isinstance(value := getattr(config, f.name), str)
    ]
    found = redact.secrets_of(named)
    found.append(redact.basic_credentials(settings.twilio_account_sid, settings.twilio_auth_token))
    if telegram.bot_token:
        found.append(telegram.secret())
    return found


def proof_read(image: Path, currency: str | None) -> int:
    """``gomflow proof read``: what a transfer screenshot was read to say, as one JSON object.

    Exit 2, with one line on stderr, when the file cannot be read as a screenshot."""
    from core.payments.reading.proof import MAX_BYTES, read_proof

    try:
        if image.stat().st_size > MAX_BYTES:
            print(f"{image}: larger than 20 MB; a screenshot is far smaller", file=sys.stderr)
            return 2
        data = image.read_bytes()
    except OSError as exc:
        print(f"{image}: cannot be read ({exc.strerror or exc})", file=sys.stderr)
        return 2
    try:
        reading = read_proof(data, expect_currency=currency)
    except GomflowError as exc:
        print(f"{image}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(reading.as_json(), ensure_ascii=False))
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="gomflow", description="Group orders, run from chat.")
    sub = top.add_subparsers(dest="command", required=True)
    run_cmd = sub.add_parser("run", help="serve: web server, bots, console chat")
    run_cmd.add_argument("--no-console", action="store_true", help="do not read chat from the terminal")
    run_cmd.add_argument(
        "--numbered",
        action="store_true",
        help="the console chat shows buttons as numbered replies, as SMS and WhatsApp do",
    )
    run_cmd.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="start N worker processes sharing the HTTP port (PostgreSQL only; see docs/workers.md)",
    )
    sub.add_parser("demo", help="play a scripted group order on a temporary database")
    db = sub.add_parser("db", help="database tasks")
    db.add_argument("action", choices=["upgrade"])
    sub.add_parser("check", help="verify the database's invariants (read-only); exit 1 on a violation")
    gom = sub.add_parser("gom", help="GOM accounts").add_subparsers(dest="action", required=True)
    gom_add = gom.add_parser("add", help="let someone run group orders")
    gom_remove = gom.add_parser("remove", help="take that away (refused while their GOs run)")
    for action in (gom_add, gom_remove):
        action.add_argument("channel", choices=[p.name for p in PLATFORMS])
        action.add_argument("external_id", help="the platform's id: Telegram user id, phone number, address…")
    gom_add.add_argument("name")
    gom.add_parser("list", help="every GOM, where they write from, and their running group orders")
    tracking = sub.add_parser("tracking", help="tracking numbers from a CSV file (order,carrier,tracking)")
    tracking.add_argument("action", choices=["import"])
    tracking.add_argument("code", help="the group order's code")
    tracking.add_argument("file", type=Path)
    tracking.add_argument(
        "--as", dest="as_who", nargs=2, metavar=("CHANNEL", "ID"), required=True,
        help="the GOM or helper importing, as they are known in chat, e.g. telegram 12345",
    )  # fmt: skip
    tracking.add_argument("--carrier", default="", help="the carrier of every line (no carrier column)")
    tracking.add_argument("--apply", action="store_true", help="apply at once when every line checks out")
    statement = sub.add_parser("statement", help="bank statement exports: read one, or match and apply it")
    statement.add_argument("action", choices=["read", "import"])
    statement.add_argument("file", type=Path, help="the bank's export: CSV, XLSX, OFX or MT940")
    statement.add_argument("--currency", help="the currency of a file that does not name one")
    statement.add_argument(
        "--gom", nargs=2, metavar=("CHANNEL", "ID"),
        help="import: the GOM or helper importing, as they are known in chat, e.g. telegram 12345",
    )  # fmt: skip
    statement.add_argument("--apply", action="store_true", help="import: apply the matches at once")
    keys = sub.add_parser("keys", help="the data keys that seal personal data")
    keys.add_argument("action", choices=["rotate"], help="seal everything again under the newest key")
    keys.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="rows per short transaction")
    matrix_cmd = sub.add_parser(
        "matrix", help="who may run each command and route, tried on a temporary database"
    )
    matrix_cmd.add_argument(
        "--write", type=Path, metavar="FILE", help="put the table into FILE (docs/security.md)"
    )
    matrix_cmd.add_argument(
        "--check", action="store_true", help="with --write: only say whether FILE is current"
    )
    proof_cmd = sub.add_parser("proof", help="transfer screenshots")
    proof_cmd.add_argument("action", choices=["read"], help="print what a screenshot says, as JSON")
    proof_cmd.add_argument("image", type=Path, help="a PNG, JPEG or WebP screenshot of a transfer")
    proof_cmd.add_argument(
        "--currency", help="the currency to assume when the screenshot shows none (e.g. THB)"
    )
    verify_cmd = sub.add_parser(
        "verify-allocation", help="re-run an item's inclusion allocation and say whether it matches"
    )
    verify_cmd.add_argument("code", help="the group order's code")
    verify_cmd.add_argument("item", help="the item's code")
    verify_cmd.add_argument("--seed", help="the seed to use instead of the recorded or revealed one")
    verify_cmd.add_argument(
        "--inputs", type=Path, metavar="FILE",
        help="an export (/allocation CODE ITEM export): check it with no database",
    )  # fmt: skip
    discord_cmd = sub.add_parser("discord", help="Discord tasks")
    discord_cmd.add_argument("action", choices=["sync"], help="publish the chat commands as slash commands")
    discord_cmd.add_argument("--guild", type=int, help="only in this server (shows at once)")
    return top


def cli(argv: Sequence[str] | None = None) -> None:
    load_dotenv()
    args = parser().parse_args(argv)
    settings = Settings.from_env()
    logging.basicConfig(
        level=settings.log_level, format=f"%(asctime)s{worker_name()} %(levelname)s %(name)s: %(message)s"
    )
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # APScheduler says "Running job … executed successfully" at INFO on every tick: in a
        # terminal that buries the console chat. Its warnings and errors still show.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    redact.install(configured_secrets(settings, TelegramSettings.from_env()))
    if args.command == "demo":
        logging.getLogger().setLevel(logging.WARNING)
    if args.command == "check":
        sys.exit(asyncio.run(check(settings)))
    if args.command == "matrix":
        logging.getLogger().setLevel(logging.WARNING)
        sys.exit(asyncio.run(matrix(args.write, args.check)))
    if args.command == "verify-allocation":
        logging.getLogger().setLevel(logging.WARNING)
        sys.exit(asyncio.run(verify_allocation(settings, args.code, args.item, args.seed, args.inputs)))
    if args.command == "proof":
        logging.getLogger().setLevel(logging.WARNING)
        sys.exit(proof_read(args.image, args.currency))
    if args.command == "run" and args.workers is not None:
        refusal = refuse_workers(args.workers, settings.database_url)
        if refusal is not None:
            sys.exit(f"gomflow run: {refusal}")
        with contextlib.suppress(KeyboardInterrupt):
            sys.exit(asyncio.run(run_workers(settings, args.workers)))
    if args.command == "tracking":
        sys.exit(
            asyncio.run(
                import_tracking(settings, args.as_who, args.code, args.file, args.carrier, args.apply)
            )
        )
    if args.command == "statement":
        if args.action == "read":
            sys.exit(read_statement_file(args.file, args.currency))
        if not args.gom:
            sys.exit("gomflow statement import: say who imports with --gom CHANNEL ID")
        sys.exit(asyncio.run(import_statement(settings, args.gom, args.file, args.currency, args.apply)))
    jobs: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {
        "run": lambda: run(settings, console=not args.no_console, numbered=args.numbered),
        "demo": demo,
        "db": lambda: db_upgrade(settings),
        "gom": lambda: gom_task(settings, args),
        "discord": lambda: discord_sync(settings, getattr(args, "guild", None)),
        "keys": lambda: keys_rotate(settings, max(1, getattr(args, "batch", DEFAULT_BATCH))),
    }
    try:
        asyncio.run(jobs[args.command]())
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # the outermost boundary: a clear line, not a traceback
        log.debug("failed", exc_info=True)
        sys.exit(f"gomflow {args.command} failed: {exc}")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        cli()
