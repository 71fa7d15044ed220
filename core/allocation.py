"""Random inclusions shared out fairly and reproducibly: the algorithm, with no database.

An item's random photocards or pre-order benefits (its *inclusions*) are shared out one
per unit claimed. Everything the result depends on is in ``AllocationInputs``; the same
inputs and seed always give the same result, in any implementation that follows
docs/allocation.md. Python's ``random`` is not used: the lottery is HMAC-SHA256 of each
claim under the seed, so anyone can re-run it.

1. **Draw order.** ``claim_time``: claims in the order they were placed (as listed).
   ``lottery``: claims sorted by ``HMAC-SHA256(key=seed, msg="GO\\nITEM\\nCLAIM")`` as
   lowercase hex, ties (never seen in practice) by their place in the list.
2. **First pass (serial dictatorship).** In draw order, each claim takes the inclusion it
   ranked highest that still has a copy left; a claim with no ranked inclusion left waits.
3. **Second pass.** In draw order, each waiting claim takes the inclusion with the most
   copies left, the lowest number on a tie; when nothing is left it gets none.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from core.errors import InvalidInput

ALGORITHM = "gomflow-inclusions-1"
CLAIM_TIME = "claim_time"
LOTTERY = "lottery"
TIE_BREAKS = (LOTTERY, CLAIM_TIME)


@dataclass(frozen=True)
class Inclusion:
    number: int  # 1, 2, 3… in the order the GOM listed them
    name: str
    received: int


@dataclass(frozen=True)
class Claim:
    """One unit claimed: ``ORDER#N`` is the N-th unit of this item in that order."""

    claim: str
    claimed_at: str  # ISO 8601, UTC: shown for the record; the list is already in this order
    ranking: tuple[int, ...]  # inclusion numbers, most wanted first


@dataclass(frozen=True)
class AllocationInputs:
    go: str
    item: str
    tie_break: str
    seed_commitment: str | None
    inclusions: tuple[Inclusion, ...]
    claims: tuple[Claim, ...]  # in claim order

    def as_json(self) -> dict[str, Any]:
        return {
            "go": self.go,
            "item": self.item,
            "tie_break": self.tie_break,
            "seed_commitment": self.seed_commitment,
            "inclusions": [
                {"number": i.number, "name": i.name, "received": i.received} for i in self.inclusions
            ],
            "claims": [
                {"claim": c.claim, "claimed_at": c.claimed_at, "ranking": list(c.ranking)}
                for c in self.claims
            ],
        }

    @classmethod
    def from_json(cls, data: Any) -> AllocationInputs:
        """Inputs read from an export file; anything malformed is a clear ``InvalidInput``."""
        try:
            inputs = cls(
                go=_text(data["go"]),
                item=_text(data["item"]),
                tie_break=_text(data["tie_break"]),
                seed_commitment=None
                if data.get("seed_commitment") is None
                else _text(data["seed_commitment"]),
                inclusions=tuple(
                    Inclusion(_whole(i["number"]), _text(i["name"]), _whole(i["received"]))
                    for i in data["inclusions"]
                ),
                claims=tuple(
                    Claim(_text(c["claim"]), _text(c["claimed_at"]), tuple(_whole(n) for n in c["ranking"]))
                    for c in data["claims"]
                ),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise InvalidInput(
                "These are not allocation inputs: %(exc)s", exc=format(str(exc), ".80")
            ) from exc
        if inputs.tie_break not in TIE_BREAKS:
            raise InvalidInput("Unknown tie-break '%(tie_break)s'.", tie_break=inputs.tie_break[:20])
        if [i.number for i in inputs.inclusions] != list(range(1, len(inputs.inclusions) + 1)):
            raise InvalidInput("Inclusions must be numbered 1, 2, 3… in order.")
        if len({c.claim for c in inputs.claims}) != len(inputs.claims):
            raise InvalidInput("Two claims have the same name.")
        return inputs


@dataclass(frozen=True)
class Allotted:
    claim: str
    draw: int  # 1 for the first claim drawn
    inclusion: int | None  # the inclusion's number; None when nothing was left


def commitment(go: str, seed: str) -> str:
    """What is published before the draw: SHA-256 of ``gomflow-seed:GO:SEED`` (UTF-8), hex."""
    return hashlib.sha256(f"gomflow-seed:{go}:{seed}".encode()).hexdigest()


def lottery_key(seed: str, go: str, item: str, claim: str) -> str:
    return hmac.new(seed.encode(), f"{go}\n{item}\n{claim}".encode(), hashlib.sha256).hexdigest()


def draw_order(inputs: AllocationInputs, seed: str | None) -> list[int]:
    """Indexes of ``inputs.claims`` in the order they choose."""
    indexes = list(range(len(inputs.claims)))
    if inputs.tie_break == CLAIM_TIME:
        return indexes
    if seed is None:
        raise InvalidInput("A lottery needs its seed.")
    keys = [lottery_key(seed, inputs.go, inputs.item, c.claim) for c in inputs.claims]
    return sorted(indexes, key=lambda n: (keys[n], n))


def allocate(inputs: AllocationInputs, seed: str | None) -> list[Allotted]:
    """The result, one entry per claim, in the order of ``inputs.claims``."""
    left = {i.number: i.received for i in inputs.inclusions}
    order = draw_order(inputs, seed)
    given: dict[int, int | None] = {}
    waiting: list[int] = []
    for n in order:
        choice = next((x for x in inputs.claims[n].ranking if left.get(x, 0) > 0), None)
        if choice is None:
            waiting.append(n)
            continue
        left[choice] -= 1
        given[n] = choice
    for n in waiting:
        most = max(left.values(), default=0)
        choice = min((x for x, count in left.items() if count == most), default=None) if most > 0 else None
        if choice is not None:
            left[choice] -= 1
        given[n] = choice
    draws = {n: position for position, n in enumerate(order, start=1)}
    return [Allotted(c.claim, draws[n], given[n]) for n, c in enumerate(inputs.claims)]


def result_json(result: list[Allotted]) -> list[dict[str, Any]]:
    return [{"claim": a.claim, "draw": a.draw, "inclusion": a.inclusion} for a in result]


def result_from_json(data: Any) -> list[Allotted]:
    try:
        return [
            Allotted(
                _text(a["claim"]),
                _whole(a["draw"]),
                None if a["inclusion"] is None else _whole(a["inclusion"]),
            )
            for a in data
        ]
    except (KeyError, TypeError) as exc:
        raise InvalidInput("That is not an allocation result: %(exc)s", exc=format(str(exc), ".80")) from exc


def canonical(data: Any) -> str:
    """The one way inputs and results are written, so their SHA-256 is the same everywhere."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def digest(data: Any) -> str:
    return hashlib.sha256(canonical(data).encode()).hexdigest()


@dataclass(frozen=True)
class Verdict:
    matches: bool
    reasons: tuple[str, ...]


def verify(inputs: AllocationInputs, seed: str | None, recorded: list[Allotted]) -> Verdict:
    """Re-run the allocation and compare it with what was recorded."""
    reasons: list[str] = []
    if inputs.tie_break == LOTTERY:
        if seed is None:
            return Verdict(False, ("the seed is not known yet: it is revealed with the result",))
        if inputs.seed_commitment is not None and commitment(inputs.go, seed) != inputs.seed_commitment:
            reasons.append("the seed does not match the commitment published before the draw")
    again = allocate(inputs, seed)
    if again != recorded:
        theirs = {a.claim: a for a in recorded}
        differ = [a.claim for a in again if theirs.get(a.claim) != a]
        extra = len(recorded) - len(again)
        shown = ", ".join(differ[:5]) + (" …" if len(differ) > 5 else "")
        reasons.append(f"the recorded result differs for {len(differ)} claim(s): {shown}" if differ else "")
        if extra:
            reasons.append(f"the recorded result has {extra:+d} claim(s) more than the inputs")
    reasons = [r for r in reasons if r]
    return Verdict(not reasons, tuple(reasons))


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {value!r:.40}")
    return value


def _whole(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError(f"expected a whole number, got {value!r:.40}")
    return value


def verify_export(content: bytes, go: str, item: str, seed: str | None) -> Verdict:
    """Check an export file (``/allocation CODE ITEM export``) with no database: the seed is
    the one given, else the one the file reveals."""
    try:
        data = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput("That file is not JSON (%(exc)s).", exc=format(str(exc), ".60")) from exc
    if not isinstance(data, dict) or data.get("algorithm") != ALGORITHM:
        raise InvalidInput("That file is not a %(algorithm)s allocation export.", algorithm=ALGORITHM)
    inputs = AllocationInputs.from_json(data.get("inputs"))
    if (inputs.go, inputs.item) != (go.strip().upper(), item.strip().upper()):
        raise InvalidInput(
            "That file is the allocation of %(go)s %(item)s, not %(go2)s %(item2)s.",
            go=inputs.go,
            item=inputs.item,
            go2=go,
            item2=item,
        )
    revealed = data.get("seed")
    if revealed is not None and not isinstance(revealed, str):
        raise InvalidInput("The file's seed is not text.")
    return verify(inputs, seed if seed is not None else revealed, result_from_json(data.get("result")))
