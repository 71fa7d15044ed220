"""Bank statement benchmark: how many rows are read right, how many payable credits are
matched to the right request, how many are matched wrongly (goal 0), and how long a
10,000-line file takes to read and match, per bank style.

The files come from ``bench.statement_corpus`` (generated, with ground truth) and live in
memory only. Run: ``python -m bench.statements`` (``--lines`` and ``--requests`` per file,
``--big`` for the timed file's length).
"""

from __future__ import annotations

import argparse
import os
import random
import time
from dataclasses import dataclass

from bench.statement_corpus import STYLES, Sample, corpus, foreign, make_requests, plan
from core.payments.statements import read_statement
from core.payments.statements.matching import match


@dataclass(frozen=True)
class Score:
    bank: str
    rows: int
    rows_right: int
    matchable: int
    matched_right: int
    false_matches: int
    seconds: float


def score(sample: Sample) -> Score:
    """Read and match one file, compared with its ground truth."""
    started = time.perf_counter()
    statement = read_statement(sample.content, sample.requests[0].currency)
    report = match(statement.transactions, sample.requests)
    seconds = time.perf_counter() - started
    read = {t.row: (t.date, t.amount_minor, t.currency) for t in statement.transactions}
    truth = {t.row: t for t in sample.truth}
    rows_right = sum(read.get(t.row) == (t.date, t.amount_minor, t.currency) for t in sample.truth)
    rows_right -= sum(row not in truth for row in read)  # a line read that is not a transaction
    references = {r.request_id: r.reference for r in sample.requests}
    right = wrong = 0
    for decision in report.of("matched"):
        assert decision.request_id is not None
        expected = truth.get(decision.transaction.row)
        if expected is not None and expected.pays == references[decision.request_id]:
            right += 1
        else:
            wrong += 1
    matchable = sum(t.pays is not None for t in sample.truth)
    return Score(sample.bank, len(sample.truth), rows_right, matchable, right, wrong, seconds)


def run(lines: int, requests: int, big: int) -> tuple[list[Score], list[tuple[str, float, float]]]:
    scores = [score(s) for s in corpus(lines, requests)]
    scores.append(score(foreign(corpus(lines, requests)[0])))
    timings = []
    rng = random.Random(10_000)
    for bank, (_layout, _name, write, currency) in STYLES.items():
        wanted = make_requests(max(requests, big // 5), currency, rng)
        content, _ = write(plan(wanted, big, rng), currency)
        started, cpu = time.perf_counter(), time.process_time()
        match(read_statement(content, currency).transactions, wanted)
        timings.append((bank, time.perf_counter() - started, time.process_time() - cpu))
    return scores, timings


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=400, help="lines per file scored")
    parser.add_argument("--requests", type=int, default=120, help="open requests per file scored")
    parser.add_argument("--big", type=int, default=10_000, help="lines of the timed file")
    args = parser.parse_args(argv)
    scores, timings = run(args.lines, args.requests, args.big)
    print(f"{'bank':<18} {'rows':>6} {'read right':>10} {'matchable':>9} {'matched right':>13} {'false':>5}")
    for s in scores:
        print(
            f"{s.bank:<18} {s.rows:>6} {s.rows_right:>10} {s.matchable:>9} "
            f"{s.matched_right:>13} {s.false_matches:>5}"
        )
    rows = sum(s.rows for s in scores)
    read_right = sum(s.rows_right for s in scores)
    matchable = sum(s.matchable for s in scores)
    right = sum(s.matched_right for s in scores)
    false = sum(s.false_matches for s in scores)
    print(
        f"rows read right {read_right}/{rows} ({100 * read_right / rows:.1f}%), "
        f"matchable matched right {right}/{matchable} ({100 * right / max(1, matchable):.1f}%, goal ≥ 98%), "
        f"false matches {false} (goal 0)"
    )
    print(f"read + match one {args.big:,}-line file (seconds, wall and CPU; load average {_load()}):")
    for bank, seconds, cpu in timings:
        print(f"  {bank:<16} {seconds:.3f}  cpu {cpu:.3f}")
    return {
        "rows_right": read_right / rows,
        "matched_right": right / max(1, matchable),
        "false_matches": false,
        "slowest": max(s for _, s, _ in timings),
    }


def _load() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "unknown"


if __name__ == "__main__":
    main()
