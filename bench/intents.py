"""Intent layer figures: how often dialogs.intents.match reads a phrasing as its writer meant.

    python bench/intents.py [--table PATH ...] [--locale LOCALE]

Tables. A table is a YAML list of rows, each {text, intent}: `text` is one message as a
person would type it, `intent` the id of the intent it should be read as (one of
dialogs/data/intents.yaml) or null when it should be read as no intent at all:

    - {text: "so lonelyyy", intent: lonely}
    - {text: "Paris", intent: null}

By default two tables are read per language: tests/data/intent_phrases.yaml (ours: the
patterns were written and tuned against it, so it measures regressions, not quality) and,
when it exists, tests/data/intent_holdout.yaml (written afterwards by someone who had not
read the patterns: the honest estimate; never tune the patterns on it without writing a new
one). Another language with its own intents (dialogs/data/<locale>/intents.yaml) is read
the same way from tests/data/intent_phrases_<locale>.yaml and intent_holdout_<locale>.yaml,
when they exist, with `match(text, locale)`. `--table PATH` (repeatable) reads those files
instead, the first one in the place of ours, in `--locale` (default en).

Printed per table: rows; hit rate (share of all rows read exactly as expected); per intent
its rows and hit rate (recall); wrong intent (rows of an intent read as another one); none
rows: how many were read as some intent (false matches), by the intent they got; then the
misses, one a line. Then the time of one match() call (p50 and p99, microseconds) over the
table's rows and a 300-character message, by the wall clock and in CPU time. Exits 1 when
the first table of a language has a hit rate under 95%, or a table cannot be read.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script: make `dialogs` importable
    sys.path.insert(0, str(ROOT))

from dialogs.intents import all_intents, intent_locales, match  # noqa: E402

DATA = ROOT / "tests" / "data"
OURS = DATA / "intent_phrases.yaml"
HOLDOUT = DATA / "intent_holdout.yaml"
MIN_HIT_RATE = 0.95
LONG_MESSAGE = (
    "Honestly I had such a long week at work and when I got home nobody was around, so I "
    "just sat there scrolling. My sister keeps saying I should join the running club but I "
    "never know what to say to people there, and by the time I think of something the moment "
    "has gone. Anyway, I'm fine, just wanted to say it to someone. Thanks for listening."
)[:300]


def read_table(path: Path) -> list[dict[str, Any]]:
    """Rows of a table as {text: str, intent: str | None}; raises ValueError if malformed."""
    rows = yaml.safe_load(path.read_text("utf-8"))
    if not isinstance(rows, list):
        raise ValueError(f"{path}: should be a list of {{text, intent}} rows")
    known = set(all_intents())
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise ValueError(f"{path}: row {n} should be {{text: ..., intent: ...}}")
        if row.get("intent") is not None and row["intent"] not in known:
            raise ValueError(f"{path}: row {n}: unknown intent '{row['intent']}'")
    return rows


def tables_for(locale: str) -> tuple[Path, Path]:
    """(ours, holdout) of a language: intent_phrases.yaml / intent_holdout.yaml for English,
    intent_phrases_<locale>.yaml / intent_holdout_<locale>.yaml for others (may not exist)."""
    if locale == "en":
        return OURS, HOLDOUT
    return DATA / f"intent_phrases_{locale}.yaml", DATA / f"intent_holdout_{locale}.yaml"


def _got(text: str, locale: str = "en") -> str | None:
    found = match(text, locale)
    return found.id if found else None


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "    -"


def report(title: str, rows: list[dict[str, Any]], locale: str = "en") -> float:
    """Print the figures of one table read in `locale`; return its hit rate (0..1)."""
    by_intent: Counter[str] = Counter()
    hits_by_intent: Counter[str] = Counter()
    wrong = 0
    false_matches: Counter[str] = Counter()
    misses: list[tuple[str, str | None, str | None]] = []
    for row in rows:
        want, got = row.get("intent"), _got(row["text"], locale)
        key = want or "(none)"
        by_intent[key] += 1
        if got == want:
            hits_by_intent[key] += 1
            continue
        misses.append((row["text"], want, got))
        if want is None:
            false_matches[str(got)] += 1
        elif got is not None:
            wrong += 1
    none_rows = by_intent["(none)"]
    hits = sum(hits_by_intent.values())
    print(f"\n== {title}")
    print(f"rows {len(rows)}   hit rate {_pct(hits, len(rows))}  ({hits}/{len(rows)})")
    print(f"{'intent':<12} {'rows':>5} {'hit rate':>9}")
    order = [*all_intents(), "(none)"]
    for key in order + sorted(set(by_intent) - set(order)):
        if by_intent[key]:
            print(f"{key:<12} {by_intent[key]:>5} {_pct(hits_by_intent[key], by_intent[key]):>9}")
    print(f"wrong intent (rows of an intent read as another): {wrong}")
    falses = sum(false_matches.values())
    print(f"false matches on none rows: {falses}/{none_rows} ({_pct(falses, none_rows).strip()})")
    if false_matches:
        print("  read as: " + ", ".join(f"{k} {v}" for k, v in false_matches.most_common()))
    if misses:
        print("misses (text | expected | got):")
        for text, want, got in misses:
            print(f"  {text!r} | {want} | {got}")
    return hits / len(rows) if rows else 0.0


def timing(rows: list[dict[str, Any]], locale: str = "en") -> None:
    """Print p50/p99 of one match() call in microseconds: wall clock, and this thread's CPU
    time (on a busy machine the wall clock also counts time the process waited its turn)."""
    match("warm up", locale)  # the file is compiled on first use; that is not a call's cost
    for label, texts in (("table rows", [r["text"] for r in rows]), ("300 chars", [LONG_MESSAGE])):
        wall: list[float] = []
        cpu: list[float] = []
        for _ in range(max(1, 2000 // max(1, len(texts)))):
            for text in texts:
                start, start_cpu = time.perf_counter(), time.thread_time()
                match(text, locale)
                wall.append((time.perf_counter() - start) * 1e6)
                cpu.append((time.thread_time() - start_cpu) * 1e6)
        print(
            f"match({locale}) on {label:<10}: wall p50 {_p(wall, 0.5):7.1f} us,"
            f" p99 {_p(wall, 0.99):7.1f} us; cpu p50 {_p(cpu, 0.5):7.1f} us,"
            f" p99 {_p(cpu, 0.99):7.1f} us"
        )


def _p(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--table",
        action="append",
        type=Path,
        help="a table to read instead of the default ones (repeatable; the first is checked "
        f"against the {MIN_HIT_RATE:.0%} hit rate)",
    )
    parser.add_argument("--locale", default="en", help="the language of --table (default en)")
    args = parser.parse_args(argv)
    if args.table:
        plan = [(args.locale, list(args.table))]
    else:
        plan = []
        for locale in intent_locales():
            ours, holdout = tables_for(locale)
            if not ours.exists():
                print(f"({locale}: no table yet: {ours.relative_to(ROOT)} does not exist)")
                continue
            if not holdout.exists():
                print(f"({locale}: no holdout yet: {holdout.relative_to(ROOT)} does not exist)")
            plan.append((locale, [ours] + ([holdout] if holdout.exists() else [])))
    failed = []
    for locale, tables in plan:
        first_rate = None
        all_rows: list[dict[str, Any]] = []
        for path in tables:
            try:
                rows = read_table(path)
            except (OSError, ValueError, yaml.YAMLError) as err:
                print(f"cannot read {path}: {err}", file=sys.stderr)
                return 1
            full = path.resolve()
            name = str(full.relative_to(ROOT) if full.is_relative_to(ROOT) else full)
            rate = report(f"{name} ({locale})", rows, locale)
            first_rate = rate if first_rate is None else first_rate
            all_rows.extend(rows)
        print()
        timing(all_rows, locale)
        if first_rate is not None and first_rate < MIN_HIT_RATE:
            failed.append(f"{locale} {first_rate:.1%}")
    if failed:
        print(f"\nFAIL: hit rate under {MIN_HIT_RATE:.0%} on the first table: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
