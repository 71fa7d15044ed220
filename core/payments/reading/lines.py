"""What OCR hands the parsers: lines of text in reading order, each with where it stood.

The parsers read only these, so they are tested on plain text; the OCR engine, or a test,
builds them. A row a bank app draws as "label ⟶ value" comes out of OCR as two boxes on
one height; ``rows`` joins boxes that share a row so the label and its value meet again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Cells of one row are joined with this, so "Amount" and "S$49.00" stay apart in the text.
CELL_GAP = "  "


@dataclass(frozen=True)
class TextLine:
    """One line of text; ``box`` is (left, top, right, bottom) in pixels, or None from text."""

    text: str
    box: tuple[float, float, float, float] | None = None
    score: float = 1.0
    # The boxes a row was joined from, each with its own box; () for a single box.
    cells: tuple[TextLine, ...] = ()

    @property
    def height(self) -> float:
        return 0.0 if self.box is None else self.box[3] - self.box[1]

    def cell_at(self, offset: int) -> tuple[TextLine, int]:
        """The cell holding character ``offset`` of the row's text, and where it starts."""
        start = 0
        for cell in self.cells:
            end = start + len(cell.text)
            if offset < end:
                return cell, start
            start = end + len(CELL_GAP)
        return self, 0


def lines_from_text(text: str) -> list[TextLine]:
    """Plain text (a notification, a test) as lines with no boxes and full confidence."""
    return [TextLine(line.strip()) for line in text.splitlines() if line.strip()]


def rows(boxes: Iterable[TextLine]) -> list[TextLine]:
    """Boxes grouped into rows (vertical centres within half a line height), left to right.

    A row's box is the union of its cells and its score the lowest of them, so one doubtful
    cell makes the whole row doubtful."""
    ordered = sorted((b for b in boxes if b.box is not None), key=lambda b: _centre(b))
    grouped: list[list[TextLine]] = []
    for line in ordered:
        if grouped and abs(_centre(line) - _centre(grouped[-1][0])) <= 0.5 * _row_height(grouped[-1], line):
            grouped[-1].append(line)
        else:
            grouped.append([line])
    return [_join(sorted(cells, key=lambda c: c.box[0] if c.box else 0.0)) for cells in grouped]


def _centre(line: TextLine) -> float:
    return 0.0 if line.box is None else (line.box[1] + line.box[3]) / 2


def _row_height(cells: Sequence[TextLine], line: TextLine) -> float:
    return min(min(c.height for c in cells), line.height)


def _join(cells: Sequence[TextLine]) -> TextLine:
    if len(cells) == 1:
        return cells[0]
    boxes = [c.box for c in cells if c.box is not None]
    union = (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
    return TextLine(CELL_GAP.join(c.text for c in cells), union, min(c.score for c in cells), tuple(cells))
