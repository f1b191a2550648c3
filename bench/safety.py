"""Crisis screen figures: recall and false positives on the labelled table, and its speed.

Reads tests/data/crisis_phrases.yaml (every phrase labelled crisis or not), runs
dialogs.safety.is_crisis on each, and prints the count of phrases, recall, false-positive rate,
every miss and every false positive (with the pattern that fired), and the time per check:
the median over many runs, for the table's phrases and for a long message.

    python bench/safety.py [--runs N]

Exits non-zero when a crisis phrase is missed or a non-crisis phrase fires.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script: make `dialogs` importable
    sys.path.insert(0, str(ROOT))

from dialogs.safety import explain, is_crisis  # noqa: E402

TABLE = ROOT / "tests" / "data" / "crisis_phrases.yaml"


def load_table() -> list[dict]:
    return yaml.safe_load(TABLE.read_text("utf-8"))["phrases"]


def per_check_us(texts: list[str], runs: int) -> list[float]:
    """Microseconds per is_crisis call, one sample per run over all `texts`."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        for text in texts:
            is_crisis(text)
        samples.append((time.perf_counter_ns() - start) / 1000 / len(texts))
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="timing runs (default 200)")
    args = parser.parse_args()

    table = load_table()
    crisis = [row for row in table if row["crisis"]]
    calm = [row for row in table if not row["crisis"]]
    misses = [row for row in crisis if not is_crisis(row["text"])]
    false_alarms = [row for row in calm if is_crisis(row["text"])]
    recall = 1 - len(misses) / len(crisis)
    fp_rate = len(false_alarms) / len(calm)

    print(f"phrases: {len(table)}  (crisis {len(crisis)}, not crisis {len(calm)})")
    print(
        f"recall: {recall:.1%}  ({len(crisis) - len(misses)}/{len(crisis)} crisis phrases caught)"
    )
    print(f"false-positive rate: {fp_rate:.1%}  ({len(false_alarms)}/{len(calm)} fired wrongly)")
    print(
        "categories:",
        ", ".join(f"{k} {v}" for k, v in sorted(Counter(r["category"] for r in table).items())),
    )
    print(f"misses ({len(misses)}):")
    for row in misses:
        print(f"  - [{row['category']}] {row['text']!r}")
    print(f"false positives ({len(false_alarms)}):")
    for row in false_alarms:
        print(f"  - [{row['category']}] {row['text']!r}")
        for pattern in explain(row["text"]):
            print(f"      fired: {pattern}")

    texts = [row["text"] for row in table]
    # Telegram's longest message, twice: all the table's non-crisis phrases (mixed scripts,
    # idioms that pass the first search, so both passes run), and a plain English diary entry.
    mixed = " ".join(row["text"] for row in calm)[:4096]
    diary = next(r["text"] for r in calm if r["category"] == "long_message")
    plain = " ".join([diary] * (4096 // len(diary) + 1))[:4096]
    table_us = statistics.median(per_check_us(texts, args.runs))
    calm_us = statistics.median(per_check_us([r["text"] for r in calm], args.runs))
    mixed_us = statistics.median(per_check_us([mixed], args.runs))
    plain_us = statistics.median(per_check_us([plain], args.runs))
    print(f"time per check (median of {args.runs} runs):")
    print(f"  table phrases: {table_us:.1f} µs   (not-crisis phrases only: {calm_us:.1f} µs)")
    print(f"  4,096 characters, plain English, no crisis: {plain_us:.0f} µs")
    print(f"  4,096 characters, mixed scripts and idioms, no crisis: {mixed_us:.0f} µs")
    return 1 if misses or false_alarms else 0


if __name__ == "__main__":
    sys.exit(main())
