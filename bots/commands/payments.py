"""Paying and getting paid: buyers' /pay and /paid, the GOM's review, refunds and reports."""

from __future__ import annotations

from dataclasses import replace

from bots.chat import Button, ChatReply, Document, Invoice
from bots.commands import ledger
from bots.commands.args import need
from bots.commands.report_args import page_buttons, parse_query
from bots.commands.table import Audience, Call, command
from core.errors import GomflowError, PaymentError
from core.payments import methods, unique_amounts
from core.payments.status import RequestKind
from core.permissions import Permission
from core.render import N_
from core.services import (
    due,
    payment_pages,
    payments,
    proof_policy,
    proof_undo,
    proofs,
    refunds,
    reports,
    store_credit,
    telegram_payments,
)
from core.services.conversations import ConversationState, end_conversation, save_conversation
from core.views import PayView

GOM = Audience.GOM
PROOF_FLOW = "payproof"
CREDIT_WORDS = frozenset({"credit", "store_credit"})
IN_CHAT_HINT = N_("Or tap Pay on the invoice below to pay without leaving this chat.")


@command(
    "pay",
    "ORDER [METHOD|instalments]",
    "Pay for an order: QR code, transfer, payment link, store credit (METHOD credit), "
    "or in instalments where offered",
    permission=Permission.ORDERS,
)
async def pay(call: Call) -> ChatReply:
    need(call.args, 1, "/pay ORDER")
    number = call.args[0]
    choice = call.args[1].lower() if len(call.args) > 1 else ""
    if choice == payments.INSTALMENTS:
        return await _pay_options(call, number, choice)
    if len(call.args) > 1:
        provider = call.args[1].lower()
        if provider == telegram_payments.PROVIDER:
            return await _pay_in_chat(call, number)
        if provider in CREDIT_WORDS:
            used = await store_credit.pay_with_credit(call.uow(), call.actor, number)
            return call.reply("credit_used", use=used)
        url = await payments.start_checkout(
            call.bot.core.uow,
            call.actor,
            number,
            provider,
            call.bot.core.payment_gateways,
            call.bot.core.settings.public_base_url,
        )
        view = await payments.pay_options(call.uow(), call.actor, number)
        label = methods.LABELS.get(provider, provider)
        amount = view.with_surcharge.get(provider, view.amount)  # the link asks the surcharge too
        return call.reply(
            "checkout_link",
            number=view.number,
            amount=amount,
            label=label,
            url=url,
            buttons=[
                [
                    Button(
                        call.gettext("Pay %(amount)s · %(method)s", amount=amount, method=label)[:60], url=url
                    )
                ]
            ],
        )
    return await _pay_options(call, number, "")


async def _pay_options(call: Call, number: str, choice: str) -> ChatReply:
    view = await payments.pay_options(call.uow(), call.actor, number, choice)
    url = f"{call.bot.core.settings.public_base_url}/pay/{view.token}"
    buttons = [[Button(call.gettext("Open the pay page"), url=url)]]
    if view.can_split:
        buttons.append(
            [Button(call.gettext("Pay in instalments"), command=f"/pay {view.number} {payments.INSTALMENTS}")]
        )
    buttons += [
        [
            Button(
                call.gettext("Pay with %(method)s", method=label)[:60], command=f"/pay {view.number} {method}"
            )
        ]
        for method, label in view.gateways
        if method in call.bot.core.payment_gateways
    ]
    if view.credit:
        buttons.insert(
            0,
            [
                Button(
                    call.gettext("Use store credit (%(credit)s)", credit=view.credit)[:60],
                    command=f"/pay {view.number} credit",
                )
            ],
        )
    if view.manual:
        await expect_proof(call, view.number)
    reply = call.reply("pay_options", pay=view, url=url, buttons=buttons + _copy_buttons(call, view))
    if view.payable and call.request.in_chat_payments and telegram_payments.PROVIDER in dict(view.gateways):
        try:
            invoice = await _invoice(call, view.number)
            reply = replace(reply, text=f"{reply.text}\n\n{call.gettext(IN_CHAT_HINT)}", invoice=invoice)
        except GomflowError as refusal:  # the other ways to pay still stand
            reply = replace(reply, text=f"{reply.text}\n\n{call.said(refusal)}")
    if not view.qr_payload:
        return reply
    return replace(reply, image=await call.bot.core.qr_images.png(view.qr_payload))


async def expect_proof(call: Call, number: str) -> None:
    """The buyer's next message (a screenshot, a typed reference) is proof for ``number``:
    an order after /pay, a bundle's reference after /myorders."""
    await save_conversation(
        call.uow(), call.actor.identity_id, ConversationState(PROOF_FLOW, "proof", {"order": number})
    )


def _copy_buttons(call: Call, view: PayView) -> list[list[Button]]:
    """What a buyer types into a banking app by hand, one tap to copy where the platform can."""
    if not view.payable:
        return []
    row = [Button(call.gettext("📋 Number"), copy=view.pay_to)] if view.pay_to else []
    row += [Button(call.gettext("📋 Account number"), copy=view.bank.account)] if view.bank else []
    exact = (
        [Button(call.gettext("📋 Amount"), copy=view.amount_plain)]
        if view.unique_line and view.amount_plain
        else []
    )
    return (
        [[*row, Button(call.gettext("📋 Reference"), copy=view.reference)], *([exact] if exact else [])]
        if row
        else []
    )


async def _pay_in_chat(call: Call, number: str) -> ChatReply:
    """``/pay ORDER telegram``: an invoice to pay without leaving the chat."""
    if not call.request.in_chat_payments:
        on_telegram = call.request.channel == telegram_payments.PROVIDER
        if on_telegram:
            raise PaymentError(
                "Paying inside Telegram is not set up on this server; /pay %(number)s shows the other "
                "ways to pay.",
                number=number,
            )
        raise PaymentError(
            "Paying inside Telegram works in a Telegram chat with me only; /pay %(number)s shows the "
            "other ways to pay.",
            number=number,
        )
    invoice = await _invoice(call, number)
    view = await payments.pay_options(call.uow(), call.actor, number)
    return replace(call.reply("invoice_sent", pay=view), invoice=invoice)


async def _invoice(call: Call, number: str) -> Invoice:
    bill = await telegram_payments.telegram_invoice(call.uow(), call.actor, number)
    return Invoice(bill.payload, bill.title, bill.description, bill.currency, bill.amount_minor, bill.label)


@command(
    "paid", "ORDER [REFERENCE] [amount=AMOUNT]", "Tell the GOM you paid by transfer (attach the screenshot)"
)
async def paid(call: Call) -> ChatReply:
    need(call.args, 1, "/paid ORDER [REFERENCE] [amount=AMOUNT]")
    return await _proof(call, call.args[0], " ".join(call.args[1:]))


async def continue_proof(call: Call, state: ConversationState, text: str) -> ChatReply:
    """The message after /pay: a screenshot of the transfer, or its reference typed out."""
    reply = await _proof(call, str(state.data["order"]), text)
    await end_conversation(call.uow(), call.actor.identity_id)
    return reply


async def proof_without_command(call: Call) -> ChatReply:
    """A photo sent out of the blue: taken as proof for the buyer's newest unpaid order."""
    return await _proof(call, None, call.raw_args)


async def _proof(call: Call, number: str | None, text: str) -> ChatReply:
    """``amount=22.50`` anywhere in the words states what was sent; the rest is the reference."""
    attachment = call.request.attachment
    words = text.split()
    amounts = [w.split("=", 1)[1] for w in words if w.lower().startswith("amount=")]
    proof = await proofs.submit_proof(
        call.uow(),
        call.actor,
        number,
        image=attachment.content if attachment else None,
        reference=" ".join(w for w in words if not w.lower().startswith("amount=")),
        amount_text=amounts[-1] if amounts else None,
    )
    return call.reply("proof_received", proof=proof)


def _ordinal(args: list[str]) -> tuple[int | None, list[str]]:
    """``#2`` right after the order names one of its proofs (a bare number could be the
    start of a reason: "/reject TH-1-3 500 missing"); the rest is returned."""
    if args and args[0].startswith("#") and args[0][1:].isdigit() and len(args[0]) <= 6:
        return int(args[0][1:]), args[1:]
    return None, args


@command(
    "paymethods",
    "CODE METHOD […]",
    "Choose how buyers pay: paynow:+65… bank=… manual stripe …, or send a photo of your bank QR",
    audience=GOM,
    permission=Permission.PAYOUTS,
)
async def paymethods(call: Call) -> ChatReply:
    """A photo sent with the command is the GOM's static bank QR."""
    photo = call.request.attachment.content if call.request.attachment else None
    need(call.args, 1 if photo is not None else 2, methods.USAGE)
    view = await payments.set_methods(
        call.uow(),
        call.actor,
        call.args[0],
        call.args[1:],
        offered=call.bot.core.offered_gateways(),
        qr_photo=photo,
    )
    return call.reply("pay_methods_set", methods=view)


PAYMENTS_USAGE = "/payments CODE [csv] [page N] [unpaid|paid] [@buyer]"


@command(
    "payments",
    "CODE [csv] [page N] [unpaid|paid] [@buyer]",
    "Who paid, who has not, totals per buyer, proofs to review",
    audience=GOM,
    permission=Permission.ORDERS,
)
async def payments_(call: Call) -> ChatReply:
    need(call.args, 1, PAYMENTS_USAGE)
    if len(call.args) == 2 and call.args[1].lower() == "csv":
        return await ledger.buyers_csv(call)
    query = parse_query(call.args[1:], PAYMENTS_USAGE)
    page = await payment_pages.payments_page(call.reader(), call.actor, call.args[0], query)
    if page.whole is not None:  # everything fits in one message: the full report, as always
        report = page.whole
        buttons = [
            [Button(call.gettext("Review %(number)s", number=number), command=f"/proof {number}")]
            for number in report.review_orders[:10]
        ]
        return call.reply("payments_report", report=report, buttons=buttons)
    whole = Button(call.gettext("Per buyer, as a file"), command=f"/payments {page.go_code} csv")
    buttons = page_buttons(call, page.command, page.page, page.pages, whole)
    return call.reply("payments_page", p=page, buttons=buttons)


@command("proof", "ORDER [#N]", "See the proofs of payment sent for an order", permission=Permission.PROOFS)
async def proof(call: Call) -> ChatReply:
    need(call.args, 1, "/proof ORDER [#N]")
    ordinal, _rest = _ordinal(call.args[1:])
    shown = await proofs.proof_image(call.reader(), call.actor, call.args[0], ordinal)
    buttons = []
    if call.actor.may_administer:
        named = len(shown.pending) > 1  # each button names its proof; the labels only when needed
        buttons = [
            [
                Button(
                    call.gettext("Approve #%(number)s", number=p.ordinal)
                    if named
                    else call.gettext("Approve"),
                    command=f"/approve {p.number} #{p.ordinal}",
                ),
                Button(
                    call.gettext("Reject #%(number)s", number=p.ordinal) if named else call.gettext("Reject"),
                    command=f"/reject {p.number} #{p.ordinal} Payment not found",
                ),
            ]
            for p in shown.pending[:10]
        ]
    reply = call.reply("proof_view", proof=shown.proof, pending=shown.pending, buttons=buttons)
    return replace(reply, image=shown.image) if shown.image else reply


@command(
    "approve",
    "ORDER [#N] [or all CODE]",
    "Accept a buyer's proof of payment (name it when several wait), or every exact match of a GO",
    audience=GOM,
    permission=Permission.PROOFS,
)
async def approve(call: Call) -> ChatReply:
    need(call.args, 1, "/approve ORDER [#N] or /approve all CODE")
    if call.args[0].lower() == "all":
        return await ledger.approve_all(call)
    ordinal, _rest = _ordinal(call.args[1:])
    view = await proofs.approve_proof(call.uow(), call.actor, call.args[0], ordinal)
    return call.reply("proof_reviewed", proof=view)


@command(
    "reject",
    "ORDER [#N] REASON",
    "Turn down a proof of payment, saying why",
    audience=GOM,
    permission=Permission.PROOFS,
)
async def reject(call: Call) -> ChatReply:
    need(call.args, 2, "/reject ORDER [#N] REASON")
    ordinal, rest = _ordinal(call.args[1:])
    view = await proofs.reject_proof(call.uow(), call.actor, call.args[0], " ".join(rest), ordinal)
    return call.reply("proof_reviewed", proof=view)


@command(
    "refund",
    "ORDER [confirm] [REASON]",
    "Refund a paid order (through the gateway, or by hand), after seeing what goes back",
    audience=GOM,
    permission=Permission.REFUNDS,
)
async def refund(call: Call) -> ChatReply:
    need(call.args, 1, "/refund ORDER [confirm] [REASON]")
    number, rest = call.args[0], call.args[1:]
    if rest[:1] != ["confirm"]:
        preview = await refunds.preview_refund(call.reader(), call.actor, number)
        again = " ".join([preview.number, "confirm", *rest])
        buttons = [
            [Button(call.gettext("Refund %(amount)s", amount=preview.amount), command=f"/refund {again}")]
        ]
        return call.reply("refund_preview", refund=preview, confirm=f"/refund {again}", buttons=buttons)
    await refunds.refund_order(call.uow(), call.actor, number, " ".join(rest[1:]))
    await refunds.run_pending_refunds(call.bot.core.uow, call.bot.core.payment_gateways, call.args[0])
    return await _refund_state(call, number)


@command(
    "refunded",
    "ORDER REFERENCE",
    "Record a refund you sent by hand",
    audience=GOM,
    permission=Permission.REFUNDS,
)
async def refunded(call: Call) -> ChatReply:
    need(call.args, 2, "/refunded ORDER REFERENCE")
    await refunds.confirm_manual_refund(call.uow(), call.actor, call.args[0], " ".join(call.args[1:]))
    return await _refund_state(call, call.args[0])


async def _refund_state(call: Call, number: str) -> ChatReply:
    views = await refunds.refunds_of(call.reader(), call.actor, number)
    return call.reply(
        "refunds_queued",
        number=views[0].number if views else number.upper(),
        refunds=views,
        manual=any(v.status == "manual" for v in views),
    )


@command("remind", "CODE", "Nudge every buyer who has not paid", audience=GOM, permission=Permission.ORDERS)
async def remind(call: Call) -> ChatReply:
    need(call.args, 1, "/remind CODE")
    count = await due.remind_unpaid(call.uow(), call.actor, call.args[0])
    return call.reply("reminders_sent", code=call.args[0].upper(), count=count)


@command("shipping", "ORDER AMOUNT", "Ask an order to pay for shipping", audience=GOM)
async def shipping(call: Call) -> ChatReply:
    need(call.args, 2, "/shipping ORDER AMOUNT")
    view = await payments.request_shipping(call.uow(), call.actor, call.args[0], call.args[1])
    return call.reply("shipping_requested", pay=view)


@command("adjust", "ORDER AMOUNT", "Ask an order to pay an extra amount (e.g. a price change)", audience=GOM)
async def adjust(call: Call) -> ChatReply:
    need(call.args, 2, "/adjust ORDER AMOUNT")
    view = await payments.request_shipping(
        call.uow(), call.actor, call.args[0], call.args[1], kind=RequestKind.ADJUSTMENT
    )
    return call.reply("shipping_requested", pay=view)


@command("reconcile", "CODE", "Every payment and its provider reference, as CSV", audience=GOM)
async def reconcile(call: Call) -> ChatReply:
    need(call.args, 1, "/reconcile CODE")
    filename, content = await reports.reconciliation_csv(call.reader(), call.actor, call.args[0])
    return call.reply("reconciliation_ready", filename=filename, document=Document(filename, content))


@command(
    "proofpolicy",
    "CODE|default [suggest|auto|off]",
    "How screenshots are checked: suggest (you approve), auto (exact matches approve themselves), off",
    audience=GOM,
    permission=Permission.PAYOUTS,
)
async def proofpolicy(call: Call) -> ChatReply:
    need(call.args, 1, proof_policy.USAGE)
    word = call.args[1] if len(call.args) > 1 else None
    view = await proof_policy.set_policy(call.uow(), call.actor, call.args[0], word)
    return call.reply("proof_policy_set", view=view)


@command(
    "uniqueamounts",
    "CODE MAX|off",
    "Ask each payment a unique amount (a few cents more or less, at most MAX) so bank lines match",
    audience=GOM,
    permission=Permission.PAYOUTS,
)
async def uniqueamounts(call: Call) -> ChatReply:
    need(call.args, 2, unique_amounts.USAGE)
    view = await unique_amounts.set_unique(call.uow(), call.actor, call.args[0], call.args[1])
    return call.reply("unique_amounts_set", view=view)


@command(
    "unapprove",
    "ORDER [#N]",
    "Undo a proof's approval (say, an automatic one): the payment is reversed, the proof waits again",
    audience=GOM,
    permission=Permission.PROOFS,
)
async def unapprove(call: Call) -> ChatReply:
    need(call.args, 1, "/unapprove ORDER [#N]")
    ordinal, _rest = _ordinal(call.args[1:])
    view = await proof_undo.unapprove(call.uow(), call.actor, call.args[0], ordinal)
    return call.reply("proof_unapproved", proof=view)
