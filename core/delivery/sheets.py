"""Reading a CSV file the way spreadsheets write them: Excel's BOM, ``;`` or tab as the
delimiter (many locales), blank lines, header names in any case and with synonyms."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping

from core.errors import InvalidInput

MAX_BYTES = 1_000_000
MAX_ROWS = 5_000


def read_table(
    content: bytes, columns: Mapping[str, tuple[str, ...]], required: set[str], expected: str
) -> list[tuple[int, dict[str, str]]]:
    """``(line number, {column: cell})`` for every non-blank data line.

    ``columns`` names each wanted column with the header texts that mean it; a file whose
    header lacks a ``required`` one is refused, naming the ``expected`` header.
    """
    if len(content) > MAX_BYTES:
        raise InvalidInput(
            "That file is larger than %(max_bytes)s kB; split it.", max_bytes=format(MAX_BYTES // 1000, ",")
        )
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("That file is not UTF-8 text; save it as “CSV UTF-8” and send it again.") from None
    rows = [(n, r) for n, r in enumerate(csv.reader(io.StringIO(text, newline=""), _dialect(text)), 1)]
    rows = [(n, r) for n, r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise InvalidInput(
            "That file is empty. The first line must be the header %(expected)s.", expected=expected
        )
    header_line, header = rows[0]
    names = [h.strip().lower().lstrip("\ufeff") for h in header]
    at = {
        key: next((i for i, n in enumerate(names) if n in synonyms), None)
        for key, synonyms in columns.items()
    }
    if any(at[key] is None for key in required):
        raise InvalidInput(
            "Line %(header_line)s must be the header %(expected)s; it is: %(header)s",
            header_line=header_line,
            expected=expected,
            header=",".join(header)[:80],
        )
    if len(rows) - 1 > MAX_ROWS:
        raise InvalidInput("At most %(max_rows)s lines per file; split it.", max_rows=format(MAX_ROWS, ","))
    table = []
    for number, row in rows[1:]:
        cells = [*row, *[""] * len(names)]
        table.append((number, {key: cells[i].strip() if i is not None else "" for key, i in at.items()}))
    return table


def _dialect(text: str) -> type[csv.Dialect]:
    """``;`` or tab when the header line uses them more than ``,``, else ``,``."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","

    class Sniffed(csv.excel):
        pass

    Sniffed.delimiter = delimiter
    return Sniffed
