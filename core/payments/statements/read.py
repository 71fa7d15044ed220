"""Which kind of file a statement is, and reading it: CSV and XLSX as tables, OFX and
MT940 by their own tags.

The kind is told by the content, not the name: ``%PDF`` is refused (a PDF is a picture
of a statement; banks offer CSV or XLSX beside it), ``PK`` is a spreadsheet, ``OFXHEADER``
or ``<OFX>`` is OFX, ``:20:`` with ``:61:`` lines is MT940, anything else is read as CSV.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from core.errors import InvalidInput
from core.payments.statements.banking import read_mt940, read_ofx
from core.payments.statements.model import Statement
from core.payments.statements.table import Cell, read_table
from core.payments.statements.values import decode

MAX_BYTES = 8_000_000
MAX_ROWS = 100_000


def read_statement(content: bytes, currency: str | None = None) -> Statement:
    """Every transaction of a bank export; ``currency`` is used when the file names none.

    Raises ``InvalidInput`` (with what to do) for an empty file, a PDF, a file over
    ``MAX_BYTES``, no recognisable header; ``UnknownCurrency`` for a currency not known.
    """
    if len(content) > MAX_BYTES:
        raise InvalidInput(
            (
                "That file is %(content_count)s MB; a statement export may be at most "
                "%(max_bytes)s MB. Export a shorter period."
            ),
            content_count=format(len(content) / 1e6, ".1f"),
            max_bytes=format(MAX_BYTES / 1e6, ".0f"),
        )
    if not content.strip():
        raise InvalidInput("That file is empty. Export the statement again as CSV, XLSX, OFX or MT940.")
    if content.lstrip()[:5] == b"%PDF-":
        raise InvalidInput(
            "That is a PDF. gomflow reads the bank's export as CSV or XLSX (or OFX, MT940): "
            "in the bank's website look for Download or Export and pick CSV or Excel."
        )
    if content[:4] == b"PK\x03\x04":
        return read_table(_sheet_rows(content), "xlsx", currency)
    text = decode(content)
    head = text[:2000].upper()
    if "OFXHEADER" in head or "<OFX>" in head:
        return read_ofx(text, currency)
    if ":20:" in head and ":61:" in text:
        return read_mt940(text, currency)
    return read_table(_csv_rows(text), "csv", currency)


def _csv_rows(text: str) -> list[tuple[int, Sequence[Cell]]]:
    lines = text.splitlines()
    if len(lines) > MAX_ROWS:
        raise InvalidInput(
            "At most %(max_rows)s lines per statement; export a shorter period.",
            max_rows=format(MAX_ROWS, ","),
        )
    dialect = _dialect(lines)
    rows: list[tuple[int, Sequence[Cell]]] = []
    # one line at a time, so the row number is the file's line number (a quoted cell
    # spanning lines is rare in bank exports and is read as the lines it spans)
    for number, line in enumerate(lines, 1):
        if line.strip():
            rows.append((number, next(csv.reader([line], dialect), [])))
    return rows


def _dialect(lines: list[str]) -> type[csv.Dialect]:
    """The delimiter used most on the first lines: ``,``, ``;``, tab or ``|``."""
    sample = "\n".join(lines[:HEAD_LINES])
    counts = {d: sample.count(d) for d in (",", ";", "\t", "|")}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","

    class Sniffed(csv.excel):
        pass

    Sniffed.delimiter = delimiter
    return Sniffed


HEAD_LINES = 40


def _sheet_rows(content: bytes) -> list[tuple[int, Sequence[Cell]]]:
    """The first sheet's rows, numbered as the spreadsheet numbers them."""
    from python_calamine import CalamineError, CalamineWorkbook  # imported when a sheet comes

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(content))
        sheet = book.get_sheet_by_index(0)
        values = sheet.to_python(skip_empty_area=False)
    except (CalamineError, ValueError, OSError) as exc:
        raise InvalidInput(
            "That spreadsheet could not be read (%(name)s); save it as XLSX or CSV.", name=type(exc).__name__
        ) from None
    if len(values) > MAX_ROWS:
        raise InvalidInput(
            "At most %(max_rows)s rows per statement; export a shorter period.",
            max_rows=format(MAX_ROWS, ","),
        )
    return [(number, row) for number, row in enumerate(values, 1) if any(c not in ("", None) for c in row)]
