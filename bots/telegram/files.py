"""Files a person sends: photos and images (proofs of payment) and CSV sheets (a GOM's
tracking numbers or shipping fees), picked, checked, downloaded.

The size is checked from what the update says (``file_size``) before anything is fetched,
again from ``getFile``, and once more on the bytes; the download goes through the Bot API's
file URL (``TELEGRAM_FILE_BASE_URL``). The payments core checks the image type by its bytes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import Bot, Message
from telegram.error import TelegramError

from bots.chat import Attachment
from core.render import N_
from core.services.payments import MAX_PROOF_BYTES

log = logging.getLogger(__name__)

IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
# what spreadsheets and phones call a CSV file; the sheet reader checks what is inside
SHEET_TYPES = {
    "text/csv",
    "text/comma-separated-values",
    "application/csv",
    "text/plain",
    "application/vnd.ms-excel",
}
# bank statement exports (/statement) travel the same way; their reader tells the kinds
# apart by what is inside, not by the name
STATEMENT_SUFFIXES = (".xlsx", ".ofx", ".qfx", ".sta", ".mt940")
SHEET_TYPES |= {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/x-ofx"}
MAX_SHEET_BYTES = 1_000_000  # the sheet reader's own limit (core.delivery.sheets)
TOO_BIG = N_("That image is larger than 5 MB; please send a smaller screenshot.")
SHEET_TOO_BIG = N_("That file is larger than 1 MB; please split it.")
NOT_IMAGE = N_(
    "Please send the proof as a PNG, JPEG or WebP image (sending it as a photo works best), "
    "or a sheet as a .csv file."
)
UNREACHABLE = N_("I couldn't fetch that image from Telegram; please send it again.")


class FileRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class WantedFile:
    file_id: str
    size: int | None
    filename: str
    mime_type: str


def wanted_file(message: Message) -> WantedFile | None:
    """The image (a photo or an image file) or the CSV sheet to fetch; None for anything
    else (a sticker, a voice note).

    Raises FileRefused for a file that is too large or neither, before any download.
    """
    if message.photo:
        # the largest size: a smaller one would leave a screenshot unreadable
        best = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        if best.file_size is not None and best.file_size > MAX_PROOF_BYTES:
            raise FileRefused(TOO_BIG)
        return WantedFile(best.file_id, best.file_size, f"{best.file_unique_id}.jpg", "image/jpeg")
    document = message.document
    if document is not None:
        mime = (document.mime_type or "").lower()
        name = document.file_name or ""
        if name.lower().endswith((".csv", *STATEMENT_SUFFIXES)) or mime in SHEET_TYPES:
            if document.file_size is not None and document.file_size > MAX_SHEET_BYTES:
                raise FileRefused(SHEET_TOO_BIG)
            return WantedFile(document.file_id, document.file_size, (name or "sheet.csv")[:100], "text/csv")
        if mime not in IMAGE_TYPES:
            raise FileRefused(NOT_IMAGE)
        if document.file_size is not None and document.file_size > MAX_PROOF_BYTES:
            raise FileRefused(TOO_BIG)
        name = document.file_name or f"{document.file_unique_id}.{IMAGE_TYPES[mime]}"
        return WantedFile(document.file_id, document.file_size, name[:100], mime)
    return None


async def download(bot: Bot, wanted: WantedFile) -> Attachment:
    """getFile, then the file's bytes; raises FileRefused with what to tell the sender."""
    limit, too_big = (
        (MAX_SHEET_BYTES, SHEET_TOO_BIG) if wanted.mime_type == "text/csv" else (MAX_PROOF_BYTES, TOO_BIG)
    )
    try:
        found = await bot.get_file(wanted.file_id)
        if found.file_size is not None and found.file_size > limit:
            raise FileRefused(too_big)
        content = bytes(await found.download_as_bytearray())
    except TelegramError as exc:
        log.warning("could not fetch file %s: %s", wanted.file_id, exc)
        raise FileRefused(UNREACHABLE) from exc
    if len(content) > limit:
        raise FileRefused(too_big)
    return Attachment(wanted.filename, content, wanted.mime_type)
