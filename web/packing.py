"""The printable packing page: one label-sized block per parcel, one pickup sheet per slot.

Reached only through the expiring link the bot gives a GO's GOM and helpers. Print CSS
keeps a parcel's block on one page and starts each pickup sheet on a new one.
"""

from __future__ import annotations

import html

import segno
from aiohttp import web

from core.app import Core
from core.delivery.packing import PackedParcel, PackingView, PickupSheet
from core.delivery.printable import ROUTE, packing_page
from core.errors import NotFound

CORE_KEY = web.AppKey("packing_core", Core)
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}
STYLE = """
body { font-family: system-ui, "Noto Sans", "Noto Sans CJK KR", "Noto Sans Thai", sans-serif;
       margin: 12mm; color: #000; }
h1 { font-size: 18pt; margin: 0 0 6mm; }
.parcels { display: flex; flex-wrap: wrap; gap: 4mm; }
.parcel { border: 1px dashed #444; width: 100mm; min-height: 60mm; padding: 4mm;
          box-sizing: border-box; break-inside: avoid; page-break-inside: avoid; }
.qr { float: right; margin-left: 2mm; }
.label { font-size: 12pt; line-height: 1.35; margin-bottom: 2mm; }
.label .to { font-weight: bold; font-size: 14pt; }
.meta { font-size: 9pt; color: #333; }
.items { font-size: 9pt; margin: 2mm 0 0; padding-left: 4mm; }
.unpaid { font-weight: bold; }
.sheet { break-before: page; page-break-before: always; }
.sheet table { border-collapse: collapse; width: 100%; font-size: 11pt; }
.sheet th, .sheet td { border: 1px solid #000; padding: 2mm; text-align: left; }
.tick { width: 12mm; text-align: center; font-size: 14pt; }
@page { size: A4; margin: 10mm; }
@media print { body { margin: 0; } }
"""


async def page(request: web.Request) -> web.Response:
    try:
        view = await packing_page(request.app[CORE_KEY].reader(), request.match_info["token"])
    except NotFound as refusal:
        return web.Response(
            text=_document("Link not valid", f"<p>{html.escape(refusal.message)}</p>"),
            content_type="text/html",
            status=404,
            headers=HEADERS,
        )
    return web.Response(text=render_packing(view), content_type="text/html", headers=HEADERS)


def render_packing(view: PackingView) -> str:
    e = html.escape
    blocks = "".join(_parcel(p) for p in view.parcels if not p.slot_id)
    sheets = "".join(_sheet(s) for s in view.sheets)
    body = f"<h1>{e(view.go_code)} · {e(view.title)} — packing list</h1>"
    body += f"<section class=parcels>{blocks or '<p>No parcels to post.</p>'}</section>{sheets}"
    return _document(f"{view.go_code} packing list", body)


def _parcel(parcel: PackedParcel) -> str:
    e = html.escape
    if parcel.address is not None:
        a = parcel.address
        lines = [a.line1, a.line2, f"{a.country} {a.postal_code}", a.phone]
        label = f"<div class=to>{e(a.recipient)}</div>" + "".join(f"<div>{e(x)}</div>" for x in lines if x)
    else:
        label = f"<div class=to>{e(parcel.buyer)}</div><div>No address yet</div>"
    paid = "paid" if parcel.paid else "<span class=unpaid>NOT PAID</span>"
    meta = f"{e(parcel.buyer)} · {e(parcel.option)} · {parcel.units} unit(s) · {paid}"
    if parcel.tracking:
        meta += f" · {e(parcel.carrier)} {e(parcel.tracking)}"
    return (
        f"<article class=parcel><div class=qr>{_qr(parcel)}</div><div class=label>{label}</div>"
        f"<div class=meta>{meta}</div><ul class=items>{_items(parcel)}</ul></article>"
    )


def _qr(parcel: PackedParcel) -> str:
    """The parcel's order numbers as a QR code, to scan when it is packed or handed over."""
    return segno.make_qr(" ".join(o.number for o in parcel.orders), error="m").svg_inline(scale=3)


def _items(parcel: PackedParcel) -> str:
    e = html.escape
    return "".join(
        f"<li>{e(o.number)}: {line.quantity} × {e(line.item)}"
        + (f" — {e(line.version)}" if line.version else "")
        + "</li>"
        for o in parcel.orders
        for line in o.lines
    )


def _sheet(sheet: PickupSheet) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td class=tick>☐</td><td>{e(p.buyer)}</td><td>{e(', '.join(o.number for o in p.orders))}</td>"
        f"<td>{p.units}</td><td>{'paid' if p.paid else '<b>NOT PAID</b>'}</td></tr>"
        for p in sheet.parcels
    )
    return (
        f"<section class=sheet><h1>Pickup: {e(sheet.place)} · {e(sheet.starts)}</h1>"
        f"<p>{e(sheet.option)} — {len(sheet.parcels)} of {sheet.capacity} place(s) taken</p>"
        "<table><thead><tr><th class=tick>✓</th><th>buyer</th><th>orders</th><th>units</th><th>paid</th>"
        f"</tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _document(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>gomflow · {html.escape(title)}</title>"
        f'<meta name=viewport content="width=device-width,initial-scale=1"><style>{STYLE}</style></head>'
        f"<body>{body}</body></html>"
    )


def add_packing_routes(app: web.Application, core: Core) -> None:
    app[CORE_KEY] = core
    app.router.add_get(ROUTE + "{token}", page)
