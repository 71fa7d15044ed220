"""Which incoming credit pays which open payment request: pure, so every rule is tested.

A credit pays a request only when it is in the request's currency and is exactly what is
still owed on it, and one of these names the request and no other:

1. **its reference** in the line's description, compared without spaces, dashes or case;
   banks cut descriptions, so the description may end in the reference's first
   ``MIN_PREFIX``+ characters (a cut that fits two requests names neither);
2. **its amount alone**, when no other open request in that currency owes the same amount
   (the unique amounts a GOM may turn on make this common);
3. **a near reference** among the requests owing that amount (``rapidfuzz``'s partial
   ratio ≥ ``FUZZY_THRESHOLD``, and no other within ``FUZZY_MARGIN`` of it).

Anything else is never applied: two candidates are *ambiguous*; a reference that names a
request the amount does not fit (a cent short, another currency) is *unmatched* with why.
The first credit for a request takes it; a second is reported as such.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from core.money import format_money
from core.payments.statements.model import Transaction

MIN_PREFIX = 6
FUZZY_THRESHOLD = 95.0
FUZZY_MARGIN = 5.0
_NOT_ALNUM = re.compile(r"[^0-9A-Z]+")


@dataclass(frozen=True)
class OpenRequest:
    """A payment request that still wants money: what the buyer was asked to pay."""

    request_id: int
    reference: str
    currency: str
    owed_minor: int
    order_number: str = ""


@dataclass(frozen=True)
class Decision:
    """What one credit line does: ``matched`` (``request_id`` set, ``how`` says by what),
    ``ambiguous`` or ``unmatched`` (``why`` says why, naming the candidates)."""

    transaction: Transaction
    outcome: str  # "matched", "ambiguous", "unmatched"
    request_id: int | None = None
    how: str = ""  # "reference", "near reference", "amount"
    why: str = ""


@dataclass(frozen=True)
class Report:
    decisions: tuple[Decision, ...]
    unpaid: tuple[OpenRequest, ...]  # open requests no credit matched
    debits: int = 0

    def of(self, outcome: str) -> list[Decision]:
        return [d for d in self.decisions if d.outcome == outcome]


@dataclass
class _Index:
    requests: Sequence[OpenRequest]
    keys: dict[int, str] = field(default_factory=dict)
    amounts: dict[tuple[str, int], list[OpenRequest]] = field(default_factory=dict)
    whole: dict[str, set[int]] = field(default_factory=dict)  # a reference → requests
    sizes: set[int] = field(default_factory=set)
    prefixes: dict[str, set[int]] = field(default_factory=dict)  # a cut reference → requests
    longest: int = 0

    def __post_init__(self) -> None:
        for r in self.requests:
            key = self.keys[r.request_id] = squash(r.reference)
            self.amounts.setdefault((r.currency, r.owed_minor), []).append(r)
            if key:
                self.whole.setdefault(key, set()).add(r.request_id)
                self.sizes.add(len(key))
            for n in range(MIN_PREFIX, len(key)):
                self.prefixes.setdefault(key[:n], set()).add(r.request_id)
            self.longest = max(self.longest, len(key))


def squash(text: str) -> str:
    """A reference as banks may mangle it: upper case, only letters and digits."""
    return _NOT_ALNUM.sub("", text.upper())


def match(
    transactions: Sequence[Transaction],
    requests: Sequence[OpenRequest],
    closed: Mapping[str, str] | None = None,
) -> Report:
    """Decide every credit; ``closed`` maps references of requests no longer open (paid,
    void) to why, so a credit naming one is reported rather than matched by amount."""
    index = _Index(requests)
    shut = {squash(ref): (ref, why) for ref, why in (closed or {}).items() if squash(ref)}
    by_id = {r.request_id: r for r in requests}
    taken: dict[int, int] = {}  # request id → the row that took it
    decisions: list[Decision] = []
    debits = 0
    for t in transactions:
        if t.amount_minor <= 0:
            debits += 1
            continue
        decision = _decide(t, index, by_id, shut)
        if decision.request_id is not None and decision.request_id in taken:
            request = by_id[decision.request_id]
            decision = Decision(
                t,
                "unmatched",
                why=f"{request.reference} was already paid by row {taken[decision.request_id]} of this file",
            )
        if decision.request_id is not None:
            taken[decision.request_id] = t.row
        decisions.append(decision)
    unpaid = tuple(r for r in requests if r.request_id not in taken)
    return Report(tuple(decisions), unpaid, debits)


def _decide(
    t: Transaction, index: _Index, by_id: dict[int, OpenRequest], shut: dict[str, tuple[str, str]]
) -> Decision:
    named = _named(t, index)
    if len(named) > 1:
        refs = ", ".join(sorted(by_id[i].reference for i in named))
        return Decision(t, "ambiguous", why=f"the description fits {refs}")
    if len(named) == 1:
        request_id, how = next(iter(named.items()))
        request = by_id[request_id]
        problem = _misfit(t, request)
        if problem:
            return Decision(t, "unmatched", why=f"names {request.reference} but {problem}")
        return Decision(t, "matched", request_id, how)
    text = squash(t.description)
    gone = [ref_why for key, ref_why in shut.items() if len(key) >= MIN_PREFIX and key in text]
    if gone:
        ref, why = gone[0]
        return Decision(t, "unmatched", why=f"names {ref}, which is {why}")
    same = index.amounts.get((t.currency, t.amount_minor), [])
    if len(same) == 1:
        return Decision(t, "matched", same[0].request_id, "amount")
    near = _near(t, same, index)
    if near is not None:
        return Decision(t, "matched", near.request_id, "near reference")
    if len(same) > 1:
        refs = ", ".join(sorted(r.reference for r in same)[:5])
        return Decision(t, "ambiguous", why=f"{len(same)} open requests owe this amount ({refs})")
    if index.requests and t.currency not in {c for c, _ in index.amounts}:
        return Decision(t, "unmatched", why=f"no open request is in {t.currency}")
    return Decision(
        t, "unmatched", why="no reference in the description and no open request owes this amount"
    )


def _misfit(t: Transaction, request: OpenRequest) -> str:
    if t.currency != request.currency:
        return f"the credit is in {t.currency} and the request in {request.currency}"
    if t.amount_minor != request.owed_minor:
        gap = t.amount_minor - request.owed_minor
        word = "short" if gap < 0 else "over"
        return (
            f"{format_money(t.amount_minor, t.currency)} is {format_money(abs(gap), t.currency)} {word} "
            f"of the {format_money(request.owed_minor, request.currency)} owed"
        )
    return ""


def _named(t: Transaction, index: _Index) -> dict[int, str]:
    """The requests the description names: the full reference, else a cut one. A
    reference found inside a longer one found too yields to it."""
    text = squash(t.description)
    if not text:
        return {}
    full = {
        rid
        for size in index.sizes
        for start in range(len(text) - size + 1)
        for rid in index.whole.get(text[start : start + size], ())
    }
    full = {rid for rid in full if not any(o != rid and index.keys[rid] in index.keys[o] for o in full)}
    if full:
        return dict.fromkeys(full, "reference")
    # a cut reference ends the description, or one of its words
    ends = {text, *(squash(word) for word in t.description.split())}
    cut = {
        rid
        for end in ends
        for n in range(MIN_PREFIX, min(len(end), index.longest) + 1)
        for rid in index.prefixes.get(end[-n:], ())
    }
    return dict.fromkeys(cut, "reference")


def _near(t: Transaction, candidates: Sequence[OpenRequest], index: _Index) -> OpenRequest | None:
    """Of requests owing this credit's amount, the one its description nearly names
    (a garbled reference), when one stands out; ``rapidfuzz`` scores in C."""
    text = squash(t.description)
    scores = sorted(
        ((fuzz.partial_ratio(index.keys[r.request_id], text), r) for r in candidates),
        key=lambda pair: pair[0],
        reverse=True,
    )
    if not scores or scores[0][0] < FUZZY_THRESHOLD:
        return None
    if len(scores) > 1 and scores[1][0] >= scores[0][0] - FUZZY_MARGIN:
        return None
    return scores[0][1]
