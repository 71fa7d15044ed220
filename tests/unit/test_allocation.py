"""The inclusion allocation (core.allocation): deterministic for a seed, by the rankings,
counts conserved, and checkable again from its inputs."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import allocation as algo
from core.errors import InvalidInput


def inputs(
    received: list[int],
    rankings: list[tuple[int, ...]],
    tie_break: str = algo.LOTTERY,
) -> algo.AllocationInputs:
    return algo.AllocationInputs(
        go="SVT-FML",
        item="ALB",
        tie_break=tie_break,
        seed_commitment=algo.commitment("SVT-FML", "s33d-one") if tie_break == algo.LOTTERY else None,
        inclusions=tuple(algo.Inclusion(n, f"PC {n}", r) for n, r in enumerate(received, start=1)),
        claims=tuple(
            algo.Claim(f"SVT-FML-{n}#1", f"2026-11-20T12:00:{n:02d}Z", ranking)
            for n, ranking in enumerate(rankings, start=1)
        ),
    )


# Six buyers all want inclusion 1, of which one copy came: who gets it is the lottery's.
CONTESTED = inputs([1, 5], [(1, 2)] * 6)


def test_the_same_inputs_and_seed_give_the_same_result() -> None:
    assert algo.allocate(CONTESTED, "s33d-one") == algo.allocate(CONTESTED, "s33d-one")


def test_a_different_seed_gives_a_different_result_on_a_known_case() -> None:
    first = algo.allocate(CONTESTED, "s33d-one")
    second = algo.allocate(CONTESTED, "s33d-two")
    winner = {a.claim for a in first if a.inclusion == 1}
    assert winner != {a.claim for a in second if a.inclusion == 1}
    assert [a.draw for a in first] != [a.draw for a in second]


def test_the_lottery_order_is_the_hmac_of_each_claim_under_the_seed() -> None:
    keys = {c.claim: algo.lottery_key("s33d-one", "SVT-FML", "ALB", c.claim) for c in CONTESTED.claims}
    by_key = sorted(keys, key=lambda claim: keys[claim])
    result = {a.claim: a.draw for a in algo.allocate(CONTESTED, "s33d-one")}
    assert [claim for claim, _ in sorted(result.items(), key=lambda x: x[1])] == by_key
    assert len(keys["SVT-FML-1#1"]) == 64


def test_claim_time_draws_in_the_order_claims_were_placed() -> None:
    case = inputs([1, 5], [(1,)] * 3, tie_break=algo.CLAIM_TIME)
    result = algo.allocate(case, None)
    assert [a.draw for a in result] == [1, 2, 3]
    assert [a.inclusion for a in result] == [1, 2, 2]


def test_unranked_units_get_the_inclusion_with_most_left_and_the_lowest_number_on_a_tie() -> None:
    case = inputs([2, 2, 1], [(), (), (), (3,)], tie_break=algo.CLAIM_TIME)
    # ranked first: claim 4 takes 3; then the unranked, in draw order: 1 (2 left, tie with 2),
    # then 2 (2 left), then 1
    assert [a.inclusion for a in algo.allocate(case, None)] == [1, 2, 1, 3]


def test_nothing_is_given_once_nothing_is_left() -> None:
    case = inputs([1], [(1,), (1,)], tie_break=algo.CLAIM_TIME)
    assert [a.inclusion for a in algo.allocate(case, None)] == [1, None]


def test_the_commitment_is_sha256_of_the_go_and_the_seed() -> None:
    expected = hashlib.sha256(b"gomflow-seed:SVT-FML:s33d-one").hexdigest()
    assert algo.commitment("SVT-FML", "s33d-one") == expected


rankings = st.lists(st.integers(min_value=1, max_value=4), max_size=4, unique=True).map(tuple)


@settings(max_examples=150, deadline=None)
@given(
    received=st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=4),
    claims=st.lists(rankings, max_size=14),
    seed=st.text(min_size=1, max_size=12),
    tie_break=st.sampled_from(algo.TIE_BREAKS),
)
def test_rankings_are_respected_and_counts_conserved(
    received: list[int], claims: list[tuple[int, ...]], seed: str, tie_break: str
) -> None:
    count = len(received)
    case = inputs(received, [tuple(n for n in r if n <= count) for r in claims], tie_break)
    result = algo.allocate(case, seed)
    # counts conserved: as many allocated as min(units, received), none given beyond what came
    given_out = [a.inclusion for a in result if a.inclusion is not None]
    assert len(given_out) == min(len(claims), sum(received))
    for number, copies in enumerate(received, start=1):
        assert given_out.count(number) <= copies
    # no claim prefers an inclusion given to a later-drawn claim that was still left at its turn
    by_draw = sorted(zip(result, case.claims, strict=True), key=lambda x: x[0].draw)
    left = dict(enumerate(received, start=1))
    for turn, (mine, claim) in enumerate(by_draw):
        later = {a.inclusion for a, _ in by_draw[turn + 1 :]}
        got_rank = (
            claim.ranking.index(mine.inclusion) if mine.inclusion in claim.ranking else len(claim.ranking)
        )
        for better in claim.ranking[:got_rank]:
            assert not (better in later and left[better] > 0), (mine, claim, better)
        if mine.inclusion in claim.ranking:
            left[mine.inclusion] -= 1
    assert sorted(a.draw for a in result) == list(range(1, len(claims) + 1))


def test_verify_matches_the_result_and_detects_a_tampered_one() -> None:
    result = algo.allocate(CONTESTED, "s33d-one")
    assert algo.verify(CONTESTED, "s33d-one", result).matches
    swapped = [
        algo.Allotted(a.claim, a.draw, 2 if a.inclusion == 1 else 1 if a == result[0] else a.inclusion)
        for a in result
    ]
    verdict = algo.verify(CONTESTED, "s33d-one", swapped)
    assert not verdict.matches and "differs" in verdict.reasons[0]
    wrong_seed = algo.verify(CONTESTED, "another-seed", result)
    assert not wrong_seed.matches
    assert "commitment" in wrong_seed.reasons[0]


def test_an_export_is_checked_offline_and_refused_when_malformed() -> None:
    result = algo.allocate(CONTESTED, "s33d-one")
    document = {
        "algorithm": algo.ALGORITHM,
        "inputs": CONTESTED.as_json(),
        "seed": "s33d-one",
        "result": algo.result_json(result),
    }
    assert algo.verify_export(json.dumps(document).encode(), "svt-fml", "alb", None).matches
    unrevealed = {**document, "seed": None}
    assert not algo.verify_export(json.dumps(unrevealed).encode(), "SVT-FML", "ALB", None).matches
    assert algo.verify_export(json.dumps(unrevealed).encode(), "SVT-FML", "ALB", "s33d-one").matches
    for bad in (b"\xff\xfe", b"[1,2]", json.dumps({**document, "inputs": {"go": 1}}).encode()):
        with pytest.raises(InvalidInput):
            algo.verify_export(bad, "SVT-FML", "ALB", None)
    with pytest.raises(InvalidInput, match="not SVT-FML POB"):
        algo.verify_export(json.dumps(document).encode(), "SVT-FML", "POB", None)


def test_canonical_json_is_one_spelling() -> None:
    assert algo.canonical({"b": 1, "a": "ü"}) == '{"a":"ü","b":1}'
    assert algo.digest(CONTESTED.as_json()) == algo.digest(json.loads(json.dumps(CONTESTED.as_json())))
