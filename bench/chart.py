"""The weekly review's mood chart (bot/chart.py): render time, PNG size, and lazy import.

Draws a seeded 28-day mood history (a fifth of the days and one 3-day stretch without a
check-in) once in this process, which still has no matplotlib, so that first render includes
importing matplotlib and loading its font cache; then --renders more. Prints the first render,
the median and max of the others (ms), the PNG's size (bytes) and pixel dimensions (read back
with Pillow).

In a fresh interpreter it also times `import bot.telegram_app, bot.cli` (best of --imports)
and checks matplotlib stayed out of sys.modules: the bot must start without it.

Exits non-zero if the median render exceeds --max-median-ms (300), the PNG breaks Telegram's
photo limits (Bot API sendPhoto: 10 MB, width + height <= 10000 px, ratio <= 20), or the bot's
import pulled in matplotlib.

    python bench/chart.py [--renders 20] [--seed 12] [--save chart.png]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script: make `bot` and `prompts` importable
    sys.path.insert(0, str(ROOT))

from bot.chart import (  # noqa: E402
    DAYS,
    TELEGRAM_PHOTO_MAX_BYTES,
    TELEGRAM_PHOTO_MAX_RATIO,
    TELEGRAM_PHOTO_MAX_SIDES_PX,
    chart_words,
    draw_mood_chart,
)
from prompts import default_catalog  # noqa: E402

LAST_DAY = date(2025, 11, 9)  # fixed, so every run draws the same chart

# Run in a fresh interpreter: what the bot's own start-up imports, and whether that is matplotlib.
IMPORT_PROBE = """
import json, sys, time
t = time.perf_counter()
import bot.telegram_app, bot.cli
ms = (time.perf_counter() - t) * 1000
print(json.dumps({"ms": ms, "matplotlib": "matplotlib" in sys.modules}))
"""


def history(seed: int) -> list[tuple[date, float | None]]:
    """28 days, oldest first: a mood wandering on the 1-5 scale, mean of 1-3 check-ins a day."""
    rng = random.Random(seed)
    gap = rng.randrange(3, DAYS - 10)  # a quiet stretch of 3 days, not in the last week
    level = rng.uniform(2.0, 4.0)
    days: list[tuple[date, float | None]] = []
    for i in range(DAYS):
        when = LAST_DAY - timedelta(days=DAYS - 1 - i)
        # A random walk pulled back towards the middle, so the week neither sinks nor soars.
        level = min(5.0, max(1.0, level + 0.3 * (3.0 - level) + rng.uniform(-0.9, 0.9)))
        if gap <= i < gap + 3 or rng.random() < 0.2:
            days.append((when, None))
            continue
        answers = [
            min(5, max(1, round(level + rng.uniform(-1, 1)))) for _ in range(rng.randint(1, 3))
        ]
        days.append((when, sum(answers) / len(answers)))
    return days


def probe_imports(runs: int) -> tuple[float, bool]:
    """Best time (ms) of `import bot.telegram_app, bot.cli` in a fresh interpreter, and whether
    any run imported matplotlib."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    best, leaked = float("inf"), False
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", IMPORT_PROBE],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        found = json.loads(done.stdout.strip().splitlines()[-1])
        best = min(best, found["ms"])
        leaked = leaked or found["matplotlib"]
    return best, leaked


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--renders", type=int, default=20, help="renders after the first")
    parser.add_argument("--seed", type=int, default=12, help="seed of the mood history")
    parser.add_argument("--imports", type=int, default=3, help="fresh interpreters to time")
    parser.add_argument("--max-median-ms", type=float, default=300.0)
    parser.add_argument("--save", type=Path, help="write the chart here as a PNG")
    args = parser.parse_args()

    if "matplotlib" in sys.modules:
        print("matplotlib was imported before the first render: that figure would be wrong")
        return 2
    words = chart_words(default_catalog(), "en")
    days = history(args.seed)
    start = time.perf_counter()
    png = draw_mood_chart(days, words)
    first_ms = (time.perf_counter() - start) * 1000

    times = []
    for _ in range(args.renders):
        start = time.perf_counter()
        again = draw_mood_chart(days, words)
        times.append((time.perf_counter() - start) * 1000)
    median_ms = statistics.median(times) if times else first_ms
    max_ms = max(times) if times else first_ms

    from PIL import Image  # installed with matplotlib

    with Image.open(io.BytesIO(png)) as image:
        width, height = image.size
    if args.save:
        args.save.write_bytes(png)
    import_ms, leaked = probe_imports(args.imports)

    missing = sum(mood is None for _, mood in days)
    print(f"history: {DAYS} days to {LAST_DAY}, {missing} without a check-in (seed {args.seed})")
    print(f"import matplotlib + first render: {first_ms:8.1f} ms")
    print(f"render, median of {len(times):3d}:       {median_ms:8.1f} ms")
    print(f"render, max:                     {max_ms:8.1f} ms")
    print(f"PNG: {len(png)} bytes, {width} x {height} px, same bytes again: {again == png}")
    print(f"import bot.telegram_app, bot.cli: {import_ms:7.1f} ms (best of {args.imports})")
    print(f"  matplotlib imported by it: {'YES' if leaked else 'no'}")

    failures = []
    if median_ms > args.max_median_ms:
        failures.append(f"median render {median_ms:.1f} ms > {args.max_median_ms:.0f} ms")
    if len(png) > TELEGRAM_PHOTO_MAX_BYTES:
        failures.append(f"PNG of {len(png)} bytes > {TELEGRAM_PHOTO_MAX_BYTES} (Telegram)")
    if width + height > TELEGRAM_PHOTO_MAX_SIDES_PX:
        failures.append(f"width + height = {width + height} px > {TELEGRAM_PHOTO_MAX_SIDES_PX}")
    if max(width / height, height / width) > TELEGRAM_PHOTO_MAX_RATIO:
        failures.append(f"ratio of {width} x {height} > {TELEGRAM_PHOTO_MAX_RATIO}")
    if leaked:
        failures.append("importing bot.telegram_app, bot.cli imported matplotlib")
    for failure in failures:
        print(f"FAIL: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
