"""bot/split.py: parts within Telegram's limits in UTF-16 units, cut where a reader expects."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.split import (
    CAPTION_LIMIT,
    MESSAGE_LIMIT,
    split_caption,
    split_html,
    utf16_len,
    visible_len,
)
from tests.fakebot import FakeBotApi
from tests.fakebot.formatting import html_error, strip_html
from tests.fakebot.formatting import utf16_len as fake_utf16_len

HEART = "💛"  # U+1F49B, outside the BMP: 2 UTF-16 units
STYLED = "𝓗𝓮𝓵𝓵𝓸"  # mathematical script letters, 2 units each
E_ACUTE = "e\u0301"  # base letter + combining acute accent
FAMILY = "👨\u200d👩\u200d👧\u200d👦"  # ZWJ sequence: 7 code points, 11 UTF-16 units
THUMB = "👍🏽"  # emoji + skin-tone modifier
FLAG = "🇺🇦"  # two regional indicators
WS = " \t\n\r\f\v"


# --- helpers -------------------------------------------------------------------------------


def fake_len(part: str) -> int:
    """How the fake Bot API measures a text sent with parse_mode=HTML."""
    return fake_utf16_len(strip_html(part))


def assert_parts_ok(html: str, parts: list[str], limit: int, first: int | None = None) -> None:
    """Each part within its limit (ours and the fake's count), valid HTML, nothing lost."""
    assert parts, "no parts"
    for n, part in enumerate(parts):
        cap = first if (first is not None and n == 0) else limit
        assert visible_len(part) <= cap, (n, visible_len(part))
        assert fake_len(part) <= cap
        assert html_error(part) is None, (part, html_error(part))
        assert strip_html(part).strip(WS), "empty part"
        assert part == part.strip(WS)
    assert_same_text(html, parts)


def assert_same_text(html: str, parts: list[str]) -> None:
    """The parts' visible texts, in order, are the original's with only whitespace between."""
    original = strip_html(html)
    pos = 0
    for part in parts:
        seen = strip_html(part)
        rest = original[pos:]
        skipped = len(rest) - len(rest.lstrip(WS))
        assert rest[skipped:].startswith(seen), (pos, seen[:40], rest[skipped : skipped + 40])
        pos += skipped + len(seen)
    assert original[pos:].strip(WS) == ""


def send_ok(api: FakeBotApi, part: str) -> None:
    status, body = api.handle("sendMessage", {"chat_id": 1, "text": part, "parse_mode": "HTML"})
    assert (status, body["ok"]) == (200, True), body


# --- counting ------------------------------------------------------------------------------


def test_utf16_len_counts_non_bmp_as_two() -> None:
    assert utf16_len("hello") == 5
    assert utf16_len(HEART) == 2
    assert utf16_len(HEART * 3000) == 6000
    assert utf16_len(STYLED) == 10
    assert utf16_len(E_ACUTE) == 2
    assert utf16_len(FAMILY) == 11
    assert utf16_len("\ud83d") == 1  # a lone surrogate does not crash the count


@pytest.mark.parametrize(
    "html",
    [
        "plain",
        '<b>bold</b> and <i>it</i> &amp; <a href="https://x.org/?a=1&amp;b=2">link</a>',
        "&lt;tag&gt; &quot;quoted&quot; it&#39;s &#x1F49B; &#128155;",
        f"<tg-spoiler>{FAMILY}</tg-spoiler> <blockquote>{STYLED}</blockquote> {E_ACUTE}",
        '<pre><code class="language-python">x = 1 &lt; 2</code></pre> <u>u</u> <s>s</s>',
        "",
    ],
)
def test_visible_len_matches_the_fake_bot_api(html: str) -> None:
    assert visible_len(html) == fake_len(html)


def test_visible_len_counts_what_telegram_shows() -> None:
    assert visible_len("<b>a</b>&amp;b") == 3
    assert visible_len(f"<i>{HEART}</i>") == 2
    # Telegram decodes only &lt; &gt; &amp; &quot; by name: others show literally, and
    # counting them literally is never less than the fake's html.unescape count.
    assert visible_len("&copy;") == 6 >= fake_len("&copy;")
    assert visible_len("&amp") == 4 >= fake_len("&amp")


# --- whole texts -----------------------------------------------------------------------------


@pytest.mark.parametrize("html", ["  <b>short</b>\n", "x" * MESSAGE_LIMIT, HEART * 2048, " "])
def test_text_within_limit_comes_back_unchanged(html: str) -> None:
    assert split_html(html) == [html]


def test_emoji_heavy_text_splits_by_utf16_units() -> None:
    html = HEART * 3000  # 3,000 code points, 6,000 UTF-16 units: over 4,096 only in UTF-16
    parts = split_html(html)
    assert parts == [HEART * 2048, HEART * 952]
    assert_parts_ok(html, parts, MESSAGE_LIMIT)


def test_styled_letters_split_between_words() -> None:
    html = " ".join([STYLED] * 500)  # 500 * 10 + 499 = 5,499 units
    parts = split_html(html)
    assert len(parts) == 2
    assert_parts_ok(html, parts, MESSAGE_LIMIT)
    for part in parts:
        assert set(part.split(" ")) == {STYLED}
        part.encode("utf-16-le")  # no half surrogate pair anywhere


def test_combining_marks_stay_with_their_letter() -> None:
    # A naive cut at 4,096 units would land between "e" and its accent (1 + 2 * 2047 + 1).
    html = "x" + E_ACUTE * 3000
    parts = split_html(html)
    assert_parts_ok(html, parts, MESSAGE_LIMIT)
    assert parts[0] == "x" + E_ACUTE * 2047
    for part in parts[1:]:
        assert part == E_ACUTE * (len(part) // 2)
        assert not unicodedata.combining(part[0])


@pytest.mark.parametrize("cluster", [FAMILY, THUMB, FLAG, "1\ufe0f\u20e3", "❤\ufe0f"])
def test_emoji_sequences_are_never_cut(cluster: str) -> None:
    html = "x" + cluster * (2 * MESSAGE_LIMIT // utf16_len(cluster))
    parts = split_html(html)
    assert len(parts) >= 2
    assert_parts_ok(html, parts, MESSAGE_LIMIT)
    body = [parts[0][1:], *parts[1:]]
    for part in body:
        assert part == cluster * (len(part) // len(cluster))


def test_a_cluster_longer_than_the_limit_is_cut_as_last_resort() -> None:
    html = "a" + "\u0301" * 20
    parts = split_html(html, 8)
    assert "".join(parts) == html
    assert all(visible_len(p) <= 8 for p in parts)


def test_limit_shorter_than_one_character_is_an_error() -> None:
    with pytest.raises(ValueError):
        split_html(HEART * 3, 1)


def test_bold_span_crossing_a_cut_is_closed_and_reopened() -> None:
    link = '<a href="https://example.org/?a=1&amp;b=2">'
    html = f"Intro <b>{'word ' * 700}<i>{link}{'link ' * 200}</a> tail</i></b> end"
    parts = split_html(html)
    assert len(parts) == 2
    assert_parts_ok(html, parts, MESSAGE_LIMIT)
    assert parts[0].startswith("Intro <b>word")
    assert parts[0].endswith("</a></i></b>")
    assert parts[1].startswith(f"<b><i>{link}link")
    assert parts[1].endswith("tail</i></b> end")


def test_tags_at_a_cut_do_not_leave_empty_pairs() -> None:
    html = f"{'a' * 10}\n\n<b>{'b' * 10}</b>"
    assert split_html(html, 15) == ["a" * 10, "<b>" + "b" * 10 + "</b>"]
    html = f"<i>{'a' * 10}</i> <i>{'b' * 10}</i>"
    assert split_html(html, 15) == ["<i>" + "a" * 10 + "</i>", "<i>" + "b" * 10 + "</i>"]


def test_entities_near_a_cut_stay_whole_and_count_one() -> None:
    html = "a" * 4095 + "&amp;" + "b" * 10  # visible 4,106; raw 4,110
    parts = split_html(html)
    assert parts == ["a" * 4095 + "&amp;", "b" * 10]
    assert_parts_ok(html, parts, MESSAGE_LIMIT)
    html = "&lt;&gt;" * 3000  # visible 6,000, raw 24,000: still only two parts
    parts = split_html(html)
    assert [visible_len(p) for p in parts] == [4096, 1904]
    assert_parts_ok(html, parts, MESSAGE_LIMIT)
    assert all(re.fullmatch(r"(?:&lt;|&gt;)+", p) for p in parts)


def test_cut_prefers_the_last_blank_line_in_reach() -> None:
    para = "\n".join(["a line of words here"] * 40)  # 839 units, lines and spaces inside
    html = "\n\n".join([para] * 6)  # 5,044 units
    parts = split_html(html)
    assert parts == ["\n\n".join([para] * 4), "\n\n".join([para] * 2)]
    # A blank line with spaces on it counts as a blank line too.
    html = f"{para}\n  \n{para}\n{para}\n{para}\n{para}\n{para}"
    assert split_html(html)[0] == para


def test_without_blank_lines_the_cut_is_at_a_line_then_a_space() -> None:
    line = "words " * 9 + "end"  # 57 units
    html = "\n".join([line] * 100)
    parts = split_html(html)
    assert_parts_ok(html, parts, MESSAGE_LIMIT)
    assert all(p.endswith("end") and p.startswith("words") for p in parts)
    assert visible_len(parts[0]) == 70 * 58 - 1  # as many whole lines as fit
    html = "word " * 1000
    parts = split_html(html)
    assert_parts_ok(html, parts, MESSAGE_LIMIT)
    assert all(set(p.split(" ")) == {"word"} for p in parts)


def test_non_breaking_space_is_not_a_cut() -> None:
    html = "a\u00a0" * 10 + "b c"
    assert split_html(html, 21)[0] == "a\u00a0" * 10 + "b"


# --- captions --------------------------------------------------------------------------------


def test_short_caption_is_unchanged() -> None:
    assert split_caption("<b>Your plan</b>") == ("<b>Your plan</b>", [])


def test_long_caption_continues_in_messages_the_fake_accepts() -> None:
    para = " ".join(["breathing", HEART, STYLED, E_ACUTE, "&amp;"] * 20)
    html = "<b>Your kit</b>\n\n" + "\n\n".join([para] * 12)
    caption, rest = split_caption(html)
    assert caption.startswith("<b>Your kit</b>")
    assert visible_len(caption) <= CAPTION_LIMIT
    assert rest and all(visible_len(p) <= MESSAGE_LIMIT for p in rest)
    assert_parts_ok(html, [caption, *rest], MESSAGE_LIMIT, first=CAPTION_LIMIT)
    api = FakeBotApi()
    photo = {"chat_id": 1, "photo": "AgACAgFAKE", "caption": caption, "parse_mode": "HTML"}
    assert api.handle("sendPhoto", photo)[0] == 200
    for part in rest:
        send_ok(api, part)


# --- against the fake Bot API ----------------------------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        HEART * 3000,
        " ".join([STYLED] * 900),
        "x" + E_ACUTE * 3000,
        "x" + FAMILY * 800,
        "<b>" + "bold &amp; brave " * 600 + "</b>",
        "\n\n".join(["<i>line</i> &lt;one&gt;\n" * 30] * 20),
    ],
)
def test_the_fake_bot_api_accepts_every_part(html: str) -> None:
    api = FakeBotApi()
    status, body = api.handle("sendMessage", {"chat_id": 1, "text": html, "parse_mode": "HTML"})
    assert status == 400 and "too long" in body["description"]  # the check is real
    parts = split_html(html)
    assert len(parts) >= 2
    for part in parts:
        send_ok(api, part)


# --- property --------------------------------------------------------------------------------

PIECES = st.sampled_from(
    [
        "a", "word", "Hello", " ", "  ", "\n", "\n\n", "\n \n", "\t", ".",
        HEART, STYLED, E_ACUTE, "a\u0301\u0308", FAMILY, THUMB, FLAG, "1\ufe0f\u20e3",
        "&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "&#x1F49B;", "\u00a0",
    ]
)  # fmt: skip
TAGS = st.sampled_from(
    [
        ("<b>", "</b>"), ("<i>", "</i>"), ("<u>", "</u>"), ("<s>", "</s>"),
        ("<code>", "</code>"), ("<pre>", "</pre>"), ("<tg-spoiler>", "</tg-spoiler>"),
        ("<blockquote>", "</blockquote>"), ('<a href="https://x.org/?q=1&amp;r=2">', "</a>"),
    ]
)  # fmt: skip
TEXT = st.lists(PIECES, max_size=12).map("".join)


def _wrap(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    wrapped = st.tuples(TAGS, children).map(lambda t: t[0][0] + t[1] + t[0][1])
    return st.lists(st.one_of(TEXT, wrapped), max_size=6).map("".join)


DOCUMENT = st.recursive(TEXT, _wrap, max_leaves=30)


def _starts_mid_cluster(text: str) -> bool:
    first = text[0]
    return bool(
        unicodedata.combining(first)
        or unicodedata.category(first) in ("Mn", "Me")
        or first in "\u200d\ufe0f"
        or 0x1F3FB <= ord(first) <= 0x1F3FF
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(html=DOCUMENT, limit=st.integers(min_value=2, max_value=80))
def test_property_parts_fit_lose_nothing_and_nest(html: str, limit: int) -> None:
    assert html_error(html) is None  # the generator makes valid markup
    parts = split_html(html, limit)
    if visible_len(html) <= limit:
        assert parts == [html]
        return
    if not strip_html(html).strip(WS):
        assert parts == []
        return
    assert_parts_ok(html, parts, limit)
    if limit >= utf16_len(FAMILY):  # every cluster in PIECES fits: none may be cut
        for part in parts:
            seen = strip_html(part)
            assert not _starts_mid_cluster(seen), seen
            assert not seen.endswith("\u200d")
            assert sum(0x1F1E6 <= ord(c) <= 0x1F1FF for c in seen) % 2 == 0


@settings(max_examples=100, deadline=None)
@given(html=DOCUMENT)
def test_property_caption_split(html: str) -> None:
    html = html * 40  # long enough to need a split now and then
    caption, rest = split_caption(html)
    if visible_len(html) <= CAPTION_LIMIT:
        assert (caption, rest) == (html, [])
        return
    if not strip_html(html).strip(WS):
        return
    assert_parts_ok(html, [caption, *rest], MESSAGE_LIMIT, first=CAPTION_LIMIT)
