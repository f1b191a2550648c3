"""Figures of bench/turns.py: one bot's run, medians and spread over --runs, the bounds of
issue 15 and the printed report."""

from __future__ import annotations

import math
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

# Issue 15's bounds ("Must show"). The replay/Bridges floor depends on the database.
REPLAY_RATIO_MIN = {"sqlite": 0.8, "postgresql": 0.7}
P99_MAX_MS = 50.0  # at half of Bridges' saturating rate
HISTORY_RATIO_MAX = 1.2  # CPU per turn, largest --history over the smallest
PEAK_RSS_MAX_MB = 100.0
STARTUP_MAX_S = 1.2  # spawn of the child to its first getUpdates
SHOWN_FAILURES = 3


@dataclass
class BotRun:
    """One bot, one run: figures as measured (times in ms, rates in turns/s)."""

    bot: str
    users: int
    turns_per_user: int
    turns: int  # completed
    attempted: int  # queued, failed turns included: CPU per turn divides by this
    wall_s: float
    turns_per_s: float
    p50_ms: float
    p99_ms: float
    bot_cpu_ms_per_turn: float
    harness_cpu_pct: float
    peak_rss_mb: float
    startup_s: float  # spawn to the first getUpdates the fake received
    offered_rate: float | None = None  # open loop: turns/s offered; None: closed loop
    late_turns: int = 0  # open loop: turns that started late (their user still waited)
    history: int | None = None  # --history phase: stored records per person
    onboarded: int | None = None
    failures: list[str] = field(default_factory=list)


def percentile_ms(run: BotRun) -> str:
    return f"{run.p50_ms:.1f}/{run.p99_ms:.1f}"


def spread(values: Sequence[float], digits: int = 2) -> str:
    """ "median [min-max]" (just the value for one run)."""
    clean = [v for v in values if not math.isnan(v)]
    if not clean:
        return "n/a"
    middle = f"{statistics.median(clean):.{digits}f}"
    if len(clean) == 1:
        return middle
    return f"{middle} [{min(clean):.{digits}f}-{max(clean):.{digits}f}]"


def median(values: Sequence[float]) -> float:
    clean = [v for v in values if not math.isnan(v)]
    return statistics.median(clean) if clean else math.nan


def ratios(runs: list[dict[str, BotRun]], top: str, bottom: str = "bridges") -> list[float]:
    """Per run: top's CPU per turn over bottom's (replay/Bridges: the share of Bridges' CPU
    that PTB, HTTP and the same calls cost anyway; 1.0 would be Bridges at the floor)."""
    found = []
    for run in runs:
        low = run[bottom].bot_cpu_ms_per_turn
        found.append(run[top].bot_cpu_ms_per_turn / low if low else math.nan)
    return found


def print_table(title: str, rows: dict[str, list[BotRun]]) -> None:
    """One line per bot: medians over its runs, [min-max] where there were several."""
    print(title)
    print(
        f"{'bot':<14} {'turns':>9} {'turns/s':>20} {'p50 ms':>20} {'p99 ms':>22} "
        f"{'CPU ms/turn':>20} {'peak RSS MB':>12} {'start-up s':>18}"
    )
    for name, runs in rows.items():

        def col(get: Callable[[BotRun], float], digits: int = 1, runs: list[BotRun] = runs) -> str:
            return spread([get(r) for r in runs], digits)

        print(
            f"{name:<14} {turns(runs[0]):>9} {col(lambda r: r.turns_per_s):>20} "
            f"{col(lambda r: r.p50_ms):>20} {col(lambda r: r.p99_ms):>22} "
            f"{col(lambda r: r.bot_cpu_ms_per_turn, 2):>20} "
            f"{max(r.peak_rss_mb for r in runs):>12.1f} {col(lambda r: r.startup_s, 2):>18}"
        )


def turns(run: BotRun) -> str:
    """Completed turns, "/attempted" when some failed."""
    return str(run.turns) if run.turns == run.attempted else f"{run.turns}/{run.attempted}"


@dataclass
class Bound:
    """One of issue 15's bounds: its name, the measured figure and whether it holds (None:
    not measured in this invocation, with the option that measures it)."""

    name: str
    figure: str
    holds: bool | None


def check_bounds(
    runs: list[dict[str, BotRun]],
    backend: str,
    half_rate: bool,
    history: dict[int, list[BotRun]],
) -> list[Bound]:
    bounds = []
    floor = REPLAY_RATIO_MIN.get(backend, REPLAY_RATIO_MIN["sqlite"])
    replay = median(ratios(runs, "replay"))
    bounds.append(
        Bound(f"replay/Bridges CPU >= {floor} ({backend})", f"{replay:.3f}", replay >= floor)
    )
    if half_rate:
        p99 = median([run["bridges"].p99_ms for run in runs])
        bounds.append(
            Bound(f"Bridges p99 < {P99_MAX_MS:.0f} ms at half rate", f"{p99:.1f} ms", p99 < 50)
        )
    else:
        bounds.append(Bound("Bridges p99 at half rate", "needs --rate half", None))
    if len(history) >= 2:
        low, high = min(history), max(history)
        cpu = {n: median([r.bot_cpu_ms_per_turn for r in history[n]]) for n in (low, high)}
        grows = cpu[high] / cpu[low] if cpu[low] else math.nan
        bounds.append(
            Bound(
                f"CPU/turn history {high} / history {low} <= {HISTORY_RATIO_MAX}",
                f"{grows:.2f}",
                grows <= HISTORY_RATIO_MAX,
            )
        )
    else:
        bounds.append(Bound("history growth", "needs --history 0,5000", None))
    bridges = [run["bridges"] for run in runs] + [r for rs in history.values() for r in rs]
    rss = max(r.peak_rss_mb for r in bridges)
    bounds.append(
        Bound(f"Bridges peak RSS <= {PEAK_RSS_MAX_MB:.0f} MB", f"{rss:.1f} MB", rss <= 100)
    )
    startup = median([r.startup_s for r in bridges])
    bounds.append(
        Bound(f"Bridges start-up <= {STARTUP_MAX_S} s (median)", f"{startup:.2f} s", startup <= 1.2)
    )
    return bounds


def print_bounds(bounds: list[Bound], enforced: bool) -> bool:
    """Print each bound; True if one is broken (and bounds are enforced)."""
    print()
    print("Issue 15 bounds" + ("" if enforced else " (--no-bounds: printed only)") + ":")
    for bound in bounds:
        verdict = {True: "ok", False: "BROKEN", None: "not measured"}[bound.holds]
        print(f"  {verdict:<12} {bound.name}: {bound.figure}")
    broken = [b.name for b in bounds if b.holds is False]
    if broken and enforced:
        print(f"BOUNDS BROKEN: {'; '.join(broken)}", file=sys.stderr)
    return bool(broken) and enforced


def report_failures(runs: list[BotRun]) -> bool:
    """Print what went wrong to stderr; True if anything did."""
    problems = [(run.bot, failure) for run in runs for failure in run.failures]
    for run in runs:
        if run.onboarded is not None and run.history is None and run.onboarded != run.users:
            problems.append((run.bot, f"only {run.onboarded}/{run.users} users onboarded"))
    for bot, failure in problems[:SHOWN_FAILURES]:
        print(f"\nFAILED ({bot}): {failure}", file=sys.stderr)
    if len(problems) > SHOWN_FAILURES:
        print(f"... and {len(problems) - SHOWN_FAILURES} more failures", file=sys.stderr)
    return bool(problems)


def as_json(run: BotRun) -> dict[str, Any]:
    """The run's figures; failures by their first line only (transcripts go to stderr)."""
    return {**asdict(run), "failures": [f.partition("\n")[0] for f in run.failures]}
