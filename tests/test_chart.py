"""The weekly review's mood chart (bot/chart.py): a PNG Telegram accepts, drawn from any history."""

from __future__ import annotations

import dataclasses
import io
import math
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import pytest
from PIL import Image

from bot.chart import (
    DAYS,
    HEIGHT_PX,
    TELEGRAM_PHOTO_MAX_BYTES,
    WIDTH_PX,
    ChartWords,
    _rolling_mean,
    chart_words,
    draw_mood_chart,
)
from prompts import Catalog

ROOT = Path(__file__).resolve().parents[1]
LAST = date(2025, 11, 9)


@pytest.fixture(scope="module")
def words() -> ChartWords:
    return chart_words(Catalog(), "en")


def history(moods: list[float | None]) -> list[tuple[date, float | None]]:
    start = LAST - timedelta(days=len(moods) - 1)
    return [(start + timedelta(days=i), mood) for i, mood in enumerate(moods)]


def some_moods() -> list[float | None]:
    """Every value the scale allows, whole and half, with gaps of one and of three days."""
    pattern: list[float | None] = [1, 2.5, None, 5, 3, None, None, None, 4.5, 2]
    return (pattern * 3)[:DAYS]


def png_size(png: bytes) -> tuple[str | None, tuple[int, int]]:
    with Image.open(io.BytesIO(png)) as image:
        image.load()  # decodes every pixel: a truncated file fails here
        return image.format, image.size


def test_png_opens_with_the_promised_size(words: ChartWords) -> None:
    png = draw_mood_chart(history(some_moods()), words)
    assert png_size(png) == ("PNG", (WIDTH_PX, HEIGHT_PX))
    assert len(png) < TELEGRAM_PHOTO_MAX_BYTES


def test_english_words_come_from_the_labels(words: ChartWords) -> None:
    fields = dataclasses.asdict(words)
    assert len(fields["weekdays"]) == 7 and len(fields["months"]) == 12
    for name, value in fields.items():
        values = value if isinstance(value, tuple) else (value,)
        assert all(isinstance(v, str) and v.strip() for v in values), name
    assert len(set(words.weekdays)) == 7 and len(set(words.months)) == 12


@pytest.mark.parametrize(
    "moods",
    [
        [None] * DAYS,  # nobody checked in: both panels say so
        [3.0] * (DAYS - 7) + [None] * 7,  # a quiet week after busy ones
        [None] * (DAYS - 1) + [1.0],  # one check-in, at the bottom of the scale
        [5] * DAYS,  # whole numbers, top of the scale
    ],
    ids=["all-none", "quiet-week", "one-day", "all-five"],
)
def test_sparse_histories_draw(words: ChartWords, moods: list[float | None]) -> None:
    png = draw_mood_chart(history(moods), words)
    assert png_size(png) == ("PNG", (WIDTH_PX, HEIGHT_PX))


@pytest.mark.parametrize(
    ("moods", "shows_no_data"),
    [([None] * DAYS, True), ([3.0] * (DAYS - 7) + [None] * 7, True), (some_moods(), False)],
    ids=["all-none", "quiet-week", "some"],
)
def test_no_data_text_is_drawn_only_in_an_empty_panel(
    words: ChartWords, moods: list[float | None], shows_no_data: bool
) -> None:
    days = history(moods)
    one = draw_mood_chart(days, words)
    other = draw_mood_chart(days, dataclasses.replace(words, no_data="Nothing yet"))
    assert (one != other) == shows_no_data


def test_month_names_come_from_the_words_not_the_c_locale(words: ChartWords) -> None:
    days = history(some_moods())
    other = dataclasses.replace(words, months=tuple(f"M{i}" for i in range(1, 13)))
    assert draw_mood_chart(days, words) != draw_mood_chart(days, other)


@pytest.mark.parametrize("length", [0, 7, DAYS - 1, DAYS + 1])
def test_wrong_length_raises(words: ChartWords, length: int) -> None:
    with pytest.raises(ValueError, match="28 days"):
        draw_mood_chart(history([3.0] * length), words)


@pytest.mark.parametrize("bad", [7, 0, 0.99, 5.01, -3, math.nan, math.inf, True, "3"])
def test_mood_off_the_scale_raises(words: ChartWords, bad: object) -> None:
    moods: list = some_moods()
    moods[10] = bad
    with pytest.raises(ValueError, match="mood"):
        draw_mood_chart(history(moods), words)


def test_dates_must_be_consecutive_oldest_first(words: ChartWords) -> None:
    days = history(some_moods())
    with pytest.raises(ValueError, match="consecutive"):
        draw_mood_chart(days[::-1], words)
    days[5] = (days[5][0] + timedelta(days=1), days[5][1])
    with pytest.raises(ValueError, match="consecutive"):
        draw_mood_chart(days, words)


@pytest.mark.parametrize("field", ["weekdays", "months"])
def test_words_need_every_name(words: ChartWords, field: str) -> None:
    with pytest.raises(ValueError, match=field[:-1]):
        dataclasses.replace(words, **{field: getattr(words, field)[:-1]})


def test_rolling_mean_needs_four_of_seven_days() -> None:
    moods: list[float | None] = [None, 1, 2, 3, None, 4, None, None, None, 5]
    means = _rolling_mean(moods)
    assert all(math.isnan(v) for v in means[:5])
    assert means[5] == pytest.approx((1 + 2 + 3 + 4) / 4)  # days 0-5: four moods
    assert means[7] == pytest.approx((1 + 2 + 3 + 4) / 4)  # days 1-7
    assert math.isnan(means[8])  # days 2-8: only three
    assert math.isnan(means[9])  # days 3-9: three again


def test_threads_draw_the_same_bytes(words: ChartWords) -> None:
    days = history(some_moods())
    alone = draw_mood_chart(days, words)
    with ThreadPoolExecutor(max_workers=4) as pool:
        drawn = list(pool.map(lambda _: draw_mood_chart(days, words), range(8)))
    assert all(png == alone for png in drawn)


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **env}
    full["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_bot_starts_without_matplotlib() -> None:
    done = run_python(
        """
        import sys
        import bot.chart, bot.cli, bot.telegram_app, bot.sender
        print(sorted(m for m in sys.modules if m.split(".")[0] == "matplotlib"))
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_first_draw_is_silent_with_an_unwritable_config_dir(tmp_path: Path) -> None:
    """No warning reaches stderr (the bot's logs): not matplotlib's about its config dir,
    nor one about a glyph DejaVu Sans lacks. The fallback dir keeps the font cache."""
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    done = run_python(
        """
        import logging, sys
        from datetime import date, timedelta
        logging.basicConfig(level=logging.WARNING)
        from bot.chart import ChartWords, draw_mood_chart
        words = ChartWords("你好 📈", "week", "month", "mood", "none", tuple("MTWTFSS"),
                           tuple("JFMAMJJASOND"))
        days = [(date(2025, 1, 1) + timedelta(days=i), 1 + i % 5) for i in range(28)]
        sys.stdout.write(str(len(draw_mood_chart(days, words))))
        """,
        MPLCONFIGDIR=str(blocked / "matplotlib"),  # under a file: cannot be made
        TMPDIR=str(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert int(done.stdout) > 1000
    caches = list(tmp_path.glob("bridges-matplotlib-*/fontlist-*.json"))
    assert len(caches) == 1
