"""The weekly review's mood chart, drawn as a PNG.

Importing this module does not import matplotlib: the bot starts without it, and the first
chart pays for the import (about half a second; see bench/chart.py). Drawing uses a bare
``matplotlib.figure.Figure`` on an Agg canvas, never pyplot, so no GUI backend is touched and
no global figure state is shared between threads.
"""

from __future__ import annotations

import io
import math
import os
import stat
import sys
import tempfile
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prompts import Catalog

DAYS = 28  # days in a chart, oldest first; the last 7 of them make the week panel
WEEK = 7
MOOD_MIN, MOOD_MAX = 1, 5  # the check-in scale (prompts/en/checkin: "1" to "5")

# Telegram's limits for a photo (Bot API sendPhoto, https://core.telegram.org/bots/api#sendphoto):
# at most 10 MB, width + height at most 10000 px, width/height ratio at most 20.
# 1000 x 700 px at 100 dpi stays far inside them (about 60 KB) and is still sharp on a phone,
# where Telegram shows a photo some 400 px wide: hence the large fonts below.
WIDTH_PX, HEIGHT_PX = 1000, 700
DPI = 100
TELEGRAM_PHOTO_MAX_BYTES = 10 * 1000 * 1000
TELEGRAM_PHOTO_MAX_SIDES_PX = 10_000
TELEGRAM_PHOTO_MAX_RATIO = 20

# Calm colours: a soft blue for moods, warm sand for the average, grey for the frame.
_BAR = "#B9D3E3"
_LINE = "#3E7CA0"
_AVERAGE = "#D9A05B"
_TEXT = "#3A3A3A"
_MUTED = "#9A9A9A"
_GRID = "#E4E4E4"


@dataclass(frozen=True)
class ChartWords:
    """The words drawn into a chart, as plain text (already rendered from labels).

    `weekdays` holds 7 short names, Monday first; `months` 12 short names, January first.
    `average` names the dashed 7-day rolling mean in a legend; empty: no legend.
    Raises ValueError when a list has the wrong length.
    """

    title: str
    week: str
    month: str
    axis: str
    no_data: str
    weekdays: tuple[str, ...]
    months: tuple[str, ...]
    average: str = ""

    def __post_init__(self) -> None:
        if len(self.weekdays) != 7:
            raise ValueError(f"ChartWords needs 7 weekday names, got {len(self.weekdays)}")
        if len(self.months) != 12:
            raise ValueError(f"ChartWords needs 12 month names, got {len(self.months)}")


def chart_words(catalog: Catalog, locale: str) -> ChartWords:
    """The chart's words in `locale` from the labels `chart.*` (prompts/<locale>/chart/).

    Raises KeyError when a label is missing (Catalog.label falls back to English for an
    unknown locale, not for a missing key).
    """
    return ChartWords(
        title=catalog.label(locale, "chart.title"),
        week=catalog.label(locale, "chart.week"),
        month=catalog.label(locale, "chart.month"),
        axis=catalog.label(locale, "chart.axis"),
        no_data=catalog.label(locale, "chart.no_data"),
        weekdays=tuple(catalog.label(locale, f"chart.weekday.{i}") for i in range(1, 8)),
        months=tuple(catalog.label(locale, f"chart.month_name.{i}") for i in range(1, 13)),
        average=catalog.label(locale, "chart.average"),
    )


def draw_mood_chart(days: Sequence[tuple[date, float | None]], words: ChartWords) -> bytes:
    """The mood chart as PNG bytes, WIDTH_PX x HEIGHT_PX (1000 x 700 px, about 60 KB).

    `days`: exactly 28 consecutive local dates, oldest first, each with that day's mean mood
    on the 1-5 check-in scale, or None when there was no check-in. Top panel: the last 7 days
    as bars with weekday names; bottom panel: all 28 days as a line with gaps on None days,
    plus a dashed 7-day rolling mean where at least 4 of those 7 days have a mood. A panel
    with no mood at all shows `words.no_data`.

    Raises ValueError when `days` does not hold 28 consecutive dates, or a mood is not a
    number from 1 to 5. Takes some 100 ms on one core (the first call also imports
    matplotlib); safe to call from several threads at once.
    """
    dates, moods = _checked(days)
    Figure, FigureCanvasAgg = _matplotlib()

    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor="white")
    canvas = FigureCanvasAgg(fig)
    fig.suptitle(words.title, x=0.5, y=0.975, fontsize=22, color=_TEXT)
    # Fixed rectangles instead of constrained layout: same look, a third less time.
    week_ax = fig.add_axes((0.09, 0.555, 0.88, 0.31))
    month_ax = fig.add_axes((0.09, 0.085, 0.88, 0.31))

    _draw_week(week_ax, dates[-WEEK:], moods[-WEEK:], words)
    _draw_month(month_ax, dates, moods, words)

    out = io.BytesIO()
    # Warnings (a glyph missing from DejaVu Sans, say) must not reach the bot's logs: matplotlib
    # attributes them to this module, which _matplotlib() silences once.
    canvas.print_png(out, metadata={"Software": None})
    return out.getvalue()


def _checked(days: Sequence[tuple[date, float | None]]) -> tuple[list[date], list[float | None]]:
    if len(days) != DAYS:
        raise ValueError(f"a mood chart needs {DAYS} days, got {len(days)}")
    dates: list[date] = []
    moods: list[float | None] = []
    for when, mood in days:
        if not isinstance(when, date):
            raise ValueError(f"not a date: {when!r}")
        if dates and when != dates[-1] + timedelta(days=1):
            raise ValueError(f"dates must be consecutive, oldest first: {dates[-1]} then {when}")
        if mood is not None:
            if isinstance(mood, bool) or not isinstance(mood, int | float):
                raise ValueError(f"a mood must be a number from 1 to 5, got {mood!r}")
            if not MOOD_MIN <= mood <= MOOD_MAX:  # NaN fails this too
                raise ValueError(f"a mood must be from 1 to 5, got {mood!r}")
            mood = float(mood)
        dates.append(when)
        moods.append(mood)
    return dates, moods


def _style(ax: Any, title: str, words: ChartWords) -> None:
    ax.set_title(title, loc="left", fontsize=17, color=_TEXT, pad=10)
    ax.set_ylim(MOOD_MIN - 0.35, MOOD_MAX + 0.35)
    ax.set_yticks(range(MOOD_MIN, MOOD_MAX + 1))
    ax.set_ylabel(words.axis, fontsize=13, color=_MUTED)
    ax.tick_params(labelsize=14, colors=_TEXT, length=0)
    ax.grid(axis="y", color=_GRID, linewidth=1)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color(_MUTED)


def _no_data(ax: Any, words: ChartWords) -> None:
    ax.text(
        0.5,
        0.5,
        words.no_data,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=16,
        color=_MUTED,
        bbox={"facecolor": "white", "edgecolor": "none", "pad": 6},  # over the grid lines
    )


def _draw_week(ax: Any, dates: list[date], moods: list[float | None], words: ChartWords) -> None:
    _style(ax, words.week, words)
    xs = range(len(dates))
    known = [(x, m) for x, m in zip(xs, moods, strict=True) if m is not None]
    if known:
        kx = [x for x, _ in known]
        km = [m for _, m in known]
        # Bars grow from the bottom of the scale; the dot keeps a mood of 1 visible.
        ax.bar(kx, [m - MOOD_MIN for m in km], bottom=MOOD_MIN, width=0.6, color=_BAR)
        ax.plot(kx, km, linestyle="none", marker="o", markersize=9, color=_LINE)
    else:
        _no_data(ax, words)
    ax.set_xlim(-0.6, len(dates) - 0.4)
    ax.set_xticks(list(xs))
    ax.set_xticklabels([f"{words.weekdays[d.weekday()]}\n{d.day}" for d in dates])
    for label, mood in zip(ax.get_xticklabels(), moods, strict=True):
        if mood is None:
            label.set_color(_MUTED)


def _draw_month(ax: Any, dates: list[date], moods: list[float | None], words: ChartWords) -> None:
    _style(ax, words.month, words)
    xs = list(range(len(dates)))
    ys = [math.nan if m is None else m for m in moods]  # NaN breaks the line: a gap
    if any(m is not None for m in moods):
        ax.plot(xs, ys, color=_LINE, linewidth=2.2, marker="o", markersize=5)
        average = _rolling_mean(moods)
        if sum(not math.isnan(v) for v in average) >= 2:
            ax.plot(xs, average, color=_AVERAGE, linewidth=2.5, linestyle="--", label=words.average)
            if words.average:
                # Beside the panel title, where it never hides a day.
                ax.legend(
                    loc="lower right",
                    bbox_to_anchor=(1.0, 1.0),
                    fontsize=13,
                    frameon=False,
                    labelcolor=_TEXT,
                )
    else:
        _no_data(ax, words)
    ax.set_xlim(-0.7, len(dates) - 0.3)
    # Weekly ticks ending on the latest day, so the newest date is always named.
    ticks = list(range(len(dates) - 1, -1, -WEEK))[::-1]
    ax.set_xticks(ticks)
    # Faint weekly lines rather than a minor tick per day: 28 tick objects cost ~40 ms a chart.
    ax.grid(axis="x", color=_GRID, linewidth=1)
    # Day and month from the labels, never strftime: the C locale would name English months.
    ax.set_xticklabels([f"{dates[i].day} {words.months[dates[i].month - 1]}" for i in ticks])


def _rolling_mean(moods: list[float | None]) -> list[float]:
    """Mean mood of each day and the 6 before it; NaN unless at least 4 of them have a mood."""
    out = []
    for i in range(len(moods)):
        window = [m for m in moods[max(0, i - WEEK + 1) : i + 1] if m is not None]
        out.append(sum(window) / len(window) if len(window) >= 4 else math.nan)
    return out


_import_lock = threading.Lock()
_prepared = False


def _matplotlib() -> tuple[Any, Any]:
    """(Figure, FigureCanvasAgg), importing matplotlib on first use (under a lock)."""
    global _prepared
    with _import_lock:
        if not _prepared:
            if "matplotlib" not in sys.modules:
                _ensure_config_dir()
            # Matplotlib attributes its warnings to the first caller outside itself: here.
            warnings.filterwarnings("ignore", module=r"bot\.chart\Z")
            _prepared = True
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    return Figure, FigureCanvasAgg


def _ensure_config_dir() -> None:
    """Point MPLCONFIGDIR at a private temp dir when matplotlib's own dirs are unwritable.

    Otherwise matplotlib logs a warning and makes a fresh temp dir in every process, so each
    run rebuilds its font cache. The fallback lasts across runs: the cache is built once.
    """
    if _matplotlib_dirs_usable():
        return
    uid = os.getuid() if hasattr(os, "getuid") else 0
    private = Path(tempfile.gettempdir()) / f"bridges-matplotlib-{uid}"
    try:
        private.mkdir(mode=0o700, exist_ok=True)
        info = private.lstat()
        # Another user's dir could carry a planted matplotlibrc: then use a fresh one.
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid or info.st_mode & 0o022:
            raise PermissionError(private)
    except OSError:
        private = Path(tempfile.mkdtemp(prefix="bridges-matplotlib-"))
    os.environ["MPLCONFIGDIR"] = str(private)


def _matplotlib_dirs_usable() -> bool:
    """Whether matplotlib's config and cache dirs (matplotlib._get_config_or_cache_dir) work."""
    configured = os.environ.get("MPLCONFIGDIR")
    if configured:
        return _writable_dir(Path(configured))
    try:
        home = Path.home()
    except RuntimeError:  # no home directory at all
        return False
    if not sys.platform.startswith(("linux", "freebsd")):
        return _writable_dir(home / ".matplotlib")
    config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "matplotlib"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "matplotlib"
    return _writable_dir(config) and _writable_dir(cache)


def _writable_dir(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return path.is_dir() and os.access(path, os.W_OK)
