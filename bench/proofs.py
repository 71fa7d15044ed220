"""How well and how fast transfer screenshots are read.

    python -m bench.proofs [--count 50] [--edited 15] [--seed 7]

Generates the synthetic corpus (``bench.proof_corpus``) into a temporary folder, reads
every screenshot with ``read_proof`` one after another, and prints: amounts (with their
currency) and references read right, transaction ids and dates read right, edited ones
flagged and clean ones wrongly flagged, seconds per screenshot (median, p95; the first,
which loads the OCR models, apart) in wall time and in CPU time (what the read costs,
whatever else the machine is doing), the process's peak memory and the machine's load.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.common import table
from bench.proof_corpus import Sample, build
from core.payments.reading import ProofReading
from core.payments.reading.policy import Expected, judge
from core.payments.reading.proof import read_proof
from core.when import timezone_for


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def right(sample: Sample, reading: ProofReading) -> dict[str, bool]:
    shown = datetime.fromisoformat(sample.paid_at)
    seen = reading.paid_at.replace(tzinfo=None) if reading.paid_at else None
    return {
        "amount": reading.amount_minor == sample.amount_minor and reading.currency == sample.currency,
        "reference": reading.reference == sample.reference,
        "txn_id": reading.txn_id == sample.txn_id,
        "date": seen is not None and seen.replace(second=0) == shown.replace(second=0),
    }


def approvals(sample: Sample, reading: ProofReading) -> tuple[bool, int]:
    """Whether the ``auto`` policy approves the screenshot for the request it pays (ordered an
    hour before), and for how many requests it does not pay would it: one asking 1.00 more,
    one with another reference, one ordered after the transfer. An edited screenshot pays
    none, even the request its typed-over amount matches."""
    zone = timezone_for(sample.currency, "UTC")
    shown = datetime.fromisoformat(sample.paid_at).replace(tzinfo=ZoneInfo(zone))
    asked = Expected(sample.amount_minor, sample.currency, sample.reference, shown - timedelta(hours=1), zone)
    other = "8" if sample.reference.endswith("9") else "9"
    unpaid = [
        replace(asked, amount_minor=asked.amount_minor + 100),
        replace(asked, reference=asked.reference[:-1] + other),
        replace(asked, ordered_at=shown + timedelta(hours=2)),
    ]
    wrong = sum(judge(reading, request).approvable for request in unpaid)
    own = judge(reading, asked).approvable
    if sample.edited:
        return False, wrong + own
    return own, wrong


def run(count: int, edited: int, seed: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        samples = build(Path(folder), count, edited, seed)
        files = {s.name: (Path(folder) / f"{s.name}.jpg").read_bytes() for s in samples}
        started = time.perf_counter()
        read_proof(files[samples[0].name])  # loads the models: timed apart
        first = time.perf_counter() - started
        took: list[float] = []
        cpu: list[float] = []
        hits: Counter[str] = Counter()
        by_layout: Counter[str] = Counter()
        layouts: Counter[str] = Counter()
        flagged = false_flags = clean = approved = wrongly_approved = 0
        misses: list[str] = []
        for sample in samples:
            started, busy = time.perf_counter(), time.process_time()
            reading = read_proof(files[sample.name])
            took.append(time.perf_counter() - started)
            cpu.append(time.process_time() - busy)
            own, wrong = approvals(sample, reading)
            approved += own
            wrongly_approved += wrong
            if sample.edited:
                flagged += bool(reading.edited)
                continue
            clean += 1
            false_flags += bool(reading.edited)
            got = right(sample, reading)
            hits.update(k for k, v in got.items() if v)
            layouts[sample.layout] += 1
            both = got["amount"] and got["reference"]
            by_layout[sample.layout] += both
            if not both:
                read = f"{reading.amount_minor} {reading.currency} {reading.reference!r}"
                misses.append(f"{sample.name}: read {read}, was {sample.amount_minor} {sample.reference!r}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = [
        ("amount + currency read right", f"{hits['amount']}/{clean}", f"{hits['amount'] / clean:.0%}"),
        ("reference read right", f"{hits['reference']}/{clean}", f"{hits['reference'] / clean:.0%}"),
        ("transaction id read right", f"{hits['txn_id']}/{clean}", f"{hits['txn_id'] / clean:.0%}"),
        ("date and time read right", f"{hits['date']}/{clean}", f"{hits['date'] / clean:.0%}"),
        ("edited ones flagged", f"{flagged}/{edited}", f"{flagged / max(1, edited):.0%}"),
        ("clean ones flagged (false alarms)", f"{false_flags}/{clean}", f"{false_flags / clean:.0%}"),
        ("clean ones the auto policy approves", f"{approved}/{clean}", f"{approved / clean:.0%}"),
        ("wrong automatic approvals", f"{wrongly_approved}/{3 * clean + 4 * edited}", ""),
        ("first read (loads the models), s", f"{first:.2f}", ""),
        ("seconds per screenshot, median", f"{statistics.median(took):.2f}", ""),
        ("seconds per screenshot, p95", f"{percentile(took, 0.95):.2f}", ""),
        ("CPU seconds per screenshot, median", f"{statistics.median(cpu):.2f}", ""),
        ("CPU seconds per screenshot, p95", f"{percentile(cpu, 0.95):.2f}", ""),
        ("peak memory (RSS), MB", f"{peak_mb:.0f}", ""),
        ("load average (1 min) at the end", f"{os.getloadavg()[0]:.1f}", ""),
    ]
    print(table([(name, f"{value}  {share}".rstrip()) for name, value, share in rows]))
    print("amount and reference both right, by layout:")
    print(table([(f"  {k}", f"{by_layout[k]}/{v}") for k, v in layouts.items()]))
    for miss in misses:
        print("  miss:", miss)


def main() -> None:
    parser = argparse.ArgumentParser(description="Accuracy and speed of reading transfer screenshots")
    parser.add_argument("--count", type=int, default=50, help="clean screenshots")
    parser.add_argument("--edited", type=int, default=15, help="edited screenshots")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    run(args.count, args.edited, args.seed)


if __name__ == "__main__":
    main()
