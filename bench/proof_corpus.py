"""Synthetic transfer screenshots with their ground truth, for the proof reader's accuracy.

    python -m bench.proof_corpus OUT_DIR [--count 40] [--seed 7]

Layouts after the SEA banking apps buyers pay from: a PayNow receipt (DBS-like), DuitNow
(Maybank-like, English or Malay labels), PromptPay (K PLUS-like, Thai labels, Buddhist-era
dates), QRIS/BCA-like (Indonesian) and GCash-like (English or Tagalog). Light and dark
themes, several fonts, slight rotation and JPEG noise. Edited variants have the amount
typed over in another font and colour on a patch of another shade, some with an image
editor's name in their EXIF. Nothing generated is committed: it goes to OUT_DIR.

Fonts: Roboto and Open Sans (the ``fontpkg-roboto`` and ``fontpkg-open-sans`` packages),
Noto Sans Thai (``fontpkg-noto-sans-thai``) for Thai words, and Pillow's bundled default
when those are missing.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import random
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from core.money import format_money

WIDTH, HEIGHT = 720, 1280
FontMaker = Callable[[int], ImageFont.FreeTypeFont | ImageFont.ImageFont]
_THAI = re.compile(r"[\u0e00-\u0e7f]+")
THAI_MONTHS = "ม.ค. ก.พ. มี.ค. เม.ย. พ.ค. มิ.ย. ก.ค. ส.ค. ก.ย. ต.ค. พ.ย. ธ.ค.".split()  # noqa: SIM905
MALAY_MONTHS = "Jan Feb Mac Apr Mei Jun Jul Ogos Sep Okt Nov Dis".split()  # noqa: SIM905
INDONESIAN_MONTHS = (
    "Januari Februari Maret April Mei Juni Juli Agustus September Oktober November Desember".split()  # noqa: SIM905
)


@dataclass
class Sample:
    """One screenshot and what it says."""

    name: str
    layout: str
    amount_minor: int
    currency: str
    reference: str
    txn_id: str
    paid_at: str  # ISO, local time as shown on the receipt
    recipient: str
    edited: bool = False
    notes: list[str] = field(default_factory=list)


def font_files() -> list[Path]:
    """Latin fonts from the fontpkg packages, when installed."""
    found: list[Path] = []
    for package in ("fontpkg_roboto", "fontpkg_open_sans"):
        spec = importlib.util.find_spec(package)
        if spec and spec.submodule_search_locations:
            folder = Path(next(iter(spec.submodule_search_locations))) / "files"
            found.extend(p for p in sorted(folder.glob("*.ttf")) if "Italic" not in p.name)
    return found


def thai_font_file() -> Path | None:
    spec = importlib.util.find_spec("fontpkg_noto_sans_thai")
    if not spec or not spec.submodule_search_locations:
        return None
    files = sorted((Path(next(iter(spec.submodule_search_locations))) / "files").glob("*.ttf"))
    return files[0] if files else None


def font_makers() -> list[tuple[str, FontMaker]]:
    """(name, size → font) for every font available; Pillow's own always among them."""
    makers: list[tuple[str, FontMaker]] = [(p.stem.split("[")[0], _truetype(p)) for p in font_files()]
    makers.append(("Pillow default", lambda size: ImageFont.load_default(size=size)))
    return makers


def _truetype(path: Path) -> FontMaker:
    return lambda size: ImageFont.truetype(str(path), size)


class Canvas:
    """A phone screen drawn top to bottom, Thai runs in the Thai font."""

    def __init__(self, font: FontMaker, dark: bool, accent: tuple[int, int, int]) -> None:
        self.background = (18, 18, 20) if dark else (250, 250, 250)
        self.ink = (235, 235, 235) if dark else (25, 25, 28)
        self.muted = (160, 160, 165) if dark else (110, 110, 115)
        self.accent = accent
        self.image = Image.new("RGB", (WIDTH, HEIGHT), self.background)
        self.draw = ImageDraw.Draw(self.image)
        self.font = font
        thai = thai_font_file()
        self.thai: FontMaker | None = _truetype(thai) if thai else None
        self.y = 60
        self.amount_box: tuple[int, int, int, int] | None = None

    def text(self, x: int, text: str, size: int, colour: tuple[int, int, int]) -> int:
        """Draw ``text`` at (x, self.y), Thai runs in the Thai font; returns the end x."""
        for run, thai in _runs(text):
            font = self.thai(size) if thai and self.thai else self.font(size)
            self.draw.text((x, self.y), run, font=font, fill=colour)
            x += int(self.draw.textlength(run, font=font))
        return x

    def heading(self, text: str, size: int = 34) -> None:
        self.text(40, text, size, self.accent)
        self.y += size + 36

    def headline(self, text: str, size: int = 64) -> None:
        self.text(40, text, size, self.ink)
        self.y += size + 44

    def row(self, label: str, value: str, *, amount: bool = False, size: int = 28) -> None:
        """Label on the left, value right-aligned, as bank apps draw detail rows."""
        self.text(40, label, size, self.muted)
        width = sum(int(self.draw.textlength(r, font=self._font_for(t, size))) for r, t in _runs(value))
        x = WIDTH - 40 - width
        self.text(x, value, size, self.ink)
        if amount:
            self.amount_box = (x - 6, self.y - 6, WIDTH - 34, self.y + size + 10)
        self.y += size + 40

    def stacked(self, label: str, value: str, size: int = 28) -> None:
        """Label above its value, as some apps draw them."""
        self.text(40, label, size - 4, self.muted)
        self.y += size + 6
        self.text(40, value, size, self.ink)
        self.y += size + 34

    def _font_for(self, thai: bool, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        return self.thai(size) if thai and self.thai else self.font(size)


def _runs(text: str) -> list[tuple[str, bool]]:
    runs: list[tuple[str, bool]] = []
    at = 0
    for match in _THAI.finditer(text):
        if match.start() > at:
            runs.append((text[at : match.start()], False))
        runs.append((match.group(0), True))
        at = match.end()
    if at < len(text):
        runs.append((text[at:], False))
    return runs


def _paynow(c: Canvas, s: Sample, rng: random.Random, when: datetime) -> None:
    c.heading("DBS digibank")
    c.heading("Transfer Successful", 30)
    c.headline(format_money(s.amount_minor, "SGD"))
    c.row("To", s.recipient)
    c.row("Amount", f"SGD {format_money(s.amount_minor, 'SGD')[2:]}", amount=True)
    c.row("Date", when.strftime("%d %b %Y, %I:%M %p"))
    c.row("Transferred via", "PayNow")
    c.row("Comments", s.reference)
    c.row("Transaction Ref", s.txn_id)


def _duitnow(c: Canvas, s: Sample, rng: random.Random, when: datetime) -> None:
    malay = rng.random() < 0.5
    c.heading("Maybank2u  DuitNow")
    c.heading("Pemindahan Berjaya" if malay else "Transfer Successful", 30)
    c.headline(format_money(s.amount_minor, "MYR"))
    month = MALAY_MONTHS[when.month - 1] if malay else when.strftime("%b")
    c.row("Jumlah" if malay else "Amount", format_money(s.amount_minor, "MYR"), amount=True)
    c.row("Penerima" if malay else "Recipient", s.recipient)
    c.row("Rujukan Penerima" if malay else "Recipient Reference", s.reference)
    c.row("Tarikh" if malay else "Date", f"{when.day:02d} {month} {when.year} {when:%H:%M:%S}")
    c.row("No. Rujukan" if malay else "Reference No.", s.txn_id)


def _promptpay(c: Canvas, s: Sample, rng: random.Random, when: datetime) -> None:
    buddhist = when.year + 543
    c.heading("K PLUS  PromptPay")
    c.heading("โอนเงินสำเร็จ", 30)
    if rng.random() < 0.5:
        c.text(40, f"{when.day} {THAI_MONTHS[when.month - 1]} {buddhist % 100} {when:%H:%M} น.", 28, c.muted)
    else:
        c.text(40, f"{when:%d/%m}/{buddhist} {when:%H:%M}", 28, c.muted)
    c.y += 70
    c.row("ผู้รับ", s.recipient)
    c.row("จำนวน:", f"{format_money(s.amount_minor, 'THB')[1:]} บาท", amount=True)
    c.row("ค่าธรรมเนียม:", "0.00 บาท")
    c.row("เลขที่รายการ:", s.txn_id)
    c.row("บันทึกช่วยจำ:", s.reference)


def _qris(c: Canvas, s: Sample, rng: random.Random, when: datetime) -> None:
    c.heading("BCA mobile  QRIS")
    c.heading("Transaksi Berhasil", 30)
    c.headline(format_money(s.amount_minor, "IDR"))
    c.row("Nominal", format_money(s.amount_minor, "IDR"), amount=True)
    month = INDONESIAN_MONTHS[when.month - 1]
    c.row("Tanggal", f"{when.day} {month} {when.year} {when:%H:%M} WIB")
    c.row("Penerima", s.recipient)
    c.row("Berita", s.reference)
    spaced = " ".join(s.txn_id[i : i + 4] for i in range(0, len(s.txn_id), 4))
    c.row("No. Referensi", spaced)


def _gcash(c: Canvas, s: Sample, rng: random.Random, when: datetime) -> None:
    tagalog = rng.random() < 0.5
    c.heading("GCash")
    c.heading("Naipadala" if tagalog else "Sent via GCash", 30)
    c.row("Halaga" if tagalog else "Amount", format_money(s.amount_minor, "PHP"), amount=True)
    c.row("Tatanggap" if tagalog else "Recipient", s.recipient)
    c.row("Mensahe" if tagalog else "Message", s.reference)
    spaced = f"{s.txn_id[:4]} {s.txn_id[4:7]} {s.txn_id[7:]}"
    c.stacked("Ref No.", spaced)
    c.text(40, when.strftime("%b %d, %Y %I:%M %p").replace(" 0", " "), 26, c.muted)


LAYOUTS: dict[str, tuple[str, Callable[[Canvas, Sample, random.Random, datetime], None], int, int]] = {
    # name: (currency, drawer, smallest and largest amount in minor units)
    "paynow": ("SGD", _paynow, 500, 250_000),
    "duitnow": ("MYR", _duitnow, 500, 150_000),
    "promptpay": ("THB", _promptpay, 10_000, 2_000_000),
    "qris": ("IDR", _qris, 1_000_000, 500_000_000),
    "gcash": ("PHP", _gcash, 10_000, 2_500_000),
}
RECIPIENTS = (
    "MINJI GOODS",
    "Kim Haerin",
    "SEOUL MERCH CO",
    "NurAisyah Store",
    "TOKO KPOP JKT",
    "Juan Dela Cruz",
)
ACCENTS = ((214, 40, 40), (0, 120, 80), (0, 90, 200), (255, 170, 0), (110, 60, 190))


def make_sample(index: int, rng: random.Random, *, edited: bool = False) -> tuple[Sample, bytes]:
    """One screenshot (JPEG bytes) and its truth."""
    layout = list(LAYOUTS)[index % len(LAYOUTS)]
    currency, drawer, low, high = LAYOUTS[layout]
    amount = rng.randrange(low, high)
    if currency == "IDR":
        amount -= amount % 100  # rupiah receipts show no sen
    go = rng.choice(("KPOP1", "NJZ24", "SVT17", "IVE9"))
    sample = Sample(
        name=f"{index:03d}-{layout}{'-edited' if edited else ''}",
        layout=layout,
        amount_minor=amount,
        currency=currency,
        reference=f"{go}-{rng.randrange(1, 999)}-P{rng.randrange(1, 4)}",
        txn_id="".join(rng.choice("0123456789") for _ in range(12 if layout != "paynow" else 10)),
        paid_at="",
        recipient=rng.choice(RECIPIENTS),
        edited=edited,
    )
    if layout == "paynow":
        sample.txn_id = "DBS" + sample.txn_id
    when = datetime(2026, 1, 1) + timedelta(minutes=rng.randrange(0, 60 * 24 * 330))
    sample.paid_at = when.isoformat()
    fonts = font_makers()
    font_name, font = fonts[index // len(LAYOUTS) % len(fonts)]
    dark = rng.random() < 0.35
    sample.notes.append(f"{font_name}, {'dark' if dark else 'light'}")
    canvas = Canvas(font, dark, rng.choice(ACCENTS))
    drawer(canvas, sample, rng, when)
    exif = None
    if edited:
        exif = _edit_amount(canvas, sample, rng, fonts, font_name)
    picture = canvas.image.rotate(
        rng.uniform(-1.2, 1.2), resample=Image.Resampling.BICUBIC, fillcolor=canvas.background
    )
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=rng.randrange(72, 92), exif=exif or Image.Exif())
    return sample, out.getvalue()


def _edit_amount(
    canvas: Canvas, sample: Sample, rng: random.Random, fonts: list[tuple[str, FontMaker]], font_name: str
) -> Image.Exif | None:
    """Type a bigger amount over the amount row: another font, colour and shade of patch."""
    assert canvas.amount_box is not None
    left, top, right, bottom = canvas.amount_box
    shade = tuple(
        max(0, min(255, c + rng.choice((-1, 1)) * rng.randrange(22, 40))) for c in canvas.background
    )
    canvas.draw.rectangle((left - 60, top, right, bottom), fill=shade)
    others = [f for name, f in fonts if name != font_name] or [f for _, f in fonts]
    font = rng.choice(others)(rng.choice((24, 34)))
    ink = (90, 90, 200) if sum(canvas.background) > 380 else (140, 200, 255)
    sample.amount_minor = sample.amount_minor * 2 + 1000
    text = format_money(sample.amount_minor, sample.currency)
    width = int(canvas.draw.textlength(text, font=font))
    canvas.draw.text((right - 6 - width, top + 6), text, font=font, fill=ink)
    sample.notes.append("amount typed over")
    if rng.random() < 0.5:
        exif = Image.Exif()
        exif[0x0131] = rng.choice(("Adobe Photoshop 25.0 (Macintosh)", "PicsArt", "Snapseed 2.0", "Canva"))
        sample.notes.append("editor in EXIF")
        return exif
    return None


def build(out: Path, count: int, edited: int, seed: int) -> list[Sample]:
    """``count`` clean screenshots and ``edited`` edited ones in ``out``, with truth.json."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    samples: list[Sample] = []
    for index in range(count + edited):
        sample, data = make_sample(index, rng, edited=index >= count)
        (out / f"{sample.name}.jpg").write_bytes(data)
        samples.append(sample)
    (out / "truth.json").write_text(json.dumps([asdict(s) for s in samples], ensure_ascii=False, indent=1))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--edited", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    samples = build(args.out, args.count, args.edited, args.seed)
    print(f"{len(samples)} screenshots and truth.json in {args.out}")


if __name__ == "__main__":
    main()
