"""Twilio's webhooks: inbound SMS and WhatsApp messages, and delivery status callbacks.

Every request is checked first with the ``twilio`` package's ``RequestValidator`` against
the URL Twilio signed: ``GOMFLOW_PUBLIC_BASE_URL`` plus the path and query it requested
(DESIGN rule 9). An unsigned or forged request gets 403 and nothing is recorded. A message
is answered 200 only once it is recorded (DESIGN rule 5); a refusal that writes nothing is
answered in the response's TwiML, and a failure to record is a 503, so Twilio tries again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from channels.twilio import UNREACHABLE_CODES
from core.app import Core
from core.services.deliveries import record_delivery

log = logging.getLogger(__name__)

INBOUND_PATH = "/webhooks/twilio/{name}"
STATUS_PATH = "/webhooks/twilio/status"
SIGNATURE_HEADER = "X-Twilio-Signature"
STATUS_MOUNTED = web.AppKey("twilio_status_mounted", bool)

Receive = Callable[[Mapping[str, str]], Awaitable[str | None]]


async def signed_form(request: web.Request, validator: RequestValidator, public_base: str) -> dict[str, str]:
    """The form of a request Twilio signed; raises HTTPForbidden for any other."""
    signature = request.headers.get(SIGNATURE_HEADER, "")
    form = await request.post()
    url = public_base.rstrip("/") + str(request.rel_url)
    if not signature or not validator.validate(url, form, signature):
        raise web.HTTPForbidden(text="invalid or missing Twilio signature")
    return {key: str(value) for key, value in form.items()}


def twiml(message: str | None = None) -> web.Response:
    response = MessagingResponse()
    if message:
        response.message(message)
    return web.Response(text=str(response), content_type="text/xml")


def add_twilio_webhook(
    app: web.Application, name: str, auth_token: str, public_base: str, receive: Receive
) -> None:
    """``/webhooks/twilio/<name>``: a message in; a refusal is answered at once in TwiML."""
    validator = RequestValidator(auth_token)

    async def inbound(request: web.Request) -> web.Response:
        form = await signed_form(request, validator, public_base)
        try:
            refusal = await receive(form)
        except ValueError:
            return web.Response(text="not a Twilio message", status=400)
        except Exception:  # the outermost boundary of the request: Twilio will retry
            log.exception("could not record a Twilio %s message", name)
            return web.Response(text="not recorded; please retry", status=503)
        return twiml(refusal)

    app.router.add_post(INBOUND_PATH.format(name=name), inbound)


def add_twilio_status(app: web.Application, core: Core, auth_token: str, public_base: str) -> None:
    """``/webhooks/twilio/status?m=<outbox key>``: Twilio's report on a message it accepted
    (``MessageStatus``, ``ErrorCode``), recorded on the outbox row. Mounted once."""
    if app.get(STATUS_MOUNTED):
        return
    app[STATUS_MOUNTED] = True
    validator = RequestValidator(auth_token)

    async def status(request: web.Request) -> web.Response:
        form = await signed_form(request, validator, public_base)
        code_text = form.get("ErrorCode", "").strip()
        code = int(code_text) if code_text.isdigit() else None
        try:
            await record_delivery(
                core.uow(),
                request.query.get("m", ""),
                form.get("MessageStatus", ""),
                code,
                unreachable=code in UNREACHABLE_CODES,
            )
        except Exception:  # the outermost boundary of the request: Twilio retries
            log.exception("could not record a Twilio status callback")
            return web.Response(text="not recorded; please retry", status=503)
        return web.Response(status=204)

    app.router.add_post(STATUS_PATH, status)
