"""Checking typed Telegram usernames and phone numbers, and the one-tap links built from them."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from dialogs.contact_links import Check, chat_url, check_phone, check_username, share_url

USERNAMES: list[tuple[str, Check]] = [
    # accepted, in the forms people paste them
    ("anna_k", Check(value="anna_k", count=6)),
    ("@anna_k", Check(value="anna_k", count=6)),
    ("  @Anna_K  ", Check(value="Anna_K", count=6)),
    ("t.me/anna_k", Check(value="anna_k", count=6)),
    ("https://t.me/anna_k", Check(value="anna_k", count=6)),
    ("http://telegram.me/anna_k/", Check(value="anna_k", count=6)),
    ("https://www.T.ME/anna_k?start=hi", Check(value="anna_k", count=6)),
    ("t.me/@anna_k", Check(value="anna_k", count=6)),
    ("abcde", Check(value="abcde", count=5)),
    ("a" * 32, Check(value="a" * 32, count=32)),
    ("a1_2_3", Check(value="a1_2_3", count=6)),
    # refused, each with the reason the reply gives
    ("@", Check(problem="empty")),
    ("https://t.me/", Check(problem="empty")),
    ("+44 7700 900123", Check(problem="looks_like_phone")),
    ("07700900123", Check(problem="looks_like_phone")),
    ("anna k", Check(problem="spaces")),
    ("anna.k!", Check(problem="bad_chars", chars=(".", "!"))),
    ("anna-k-anna-k", Check(problem="bad_chars", chars=("-",))),
    ("ánna_k", Check(problem="bad_chars", chars=("á",))),
    ("an@na_k", Check(problem="bad_chars", chars=("@",))),
    ("1anna", Check(problem="bad_start", chars=("1",))),
    ("_anna", Check(problem="bad_start", chars=("_",))),
    ("anna", Check(problem="too_short", count=4)),
    ("@ab", Check(problem="too_short", count=2)),
    ("a" * 33, Check(problem="too_long", count=33)),
    ("anna_k_", Check(problem="bad_end")),
]


@pytest.mark.parametrize(("typed", "expected"), USERNAMES, ids=[u[0] for u in USERNAMES])
def test_usernames(typed: str, expected: Check) -> None:
    assert check_username(typed) == expected


PHONES: list[tuple[str, Check]] = [
    ("+44 7700 900123", Check(value="+447700900123", count=12)),
    ("+44 (0)7700 900-123", Check(value="+447700900123", count=12)),
    ("(020) 7946-0958", Check(value="02079460958", count=11)),
    ("06.12.34.56.78", Check(value="0612345678", count=10)),
    ("1234567", Check(value="1234567", count=7)),
    ("+123456789012345", Check(value="+123456789012345", count=15)),
    ("", Check(problem="empty")),
    ("@anna_k", Check(problem="looks_like_username")),
    ("t.me/anna_k", Check(problem="looks_like_username")),
    ("anna_k", Check(problem="looks_like_username")),
    ("0770 ABC 123", Check(problem="bad_chars", chars=("A", "B", "C"))),
    ("0770/900#123", Check(problem="bad_chars", chars=("/", "#"))),
    ("44+7700900123", Check(problem="plus_position")),
    ("++447700900123", Check(problem="plus_position")),
    ("12-34", Check(problem="too_few_digits", count=4)),
    ("+1 (0)", Check(problem="too_few_digits", count=1)),
    ("1234567890123456", Check(problem="too_many_digits", count=16)),
]


@pytest.mark.parametrize(("typed", "expected"), PHONES, ids=[p[0] or "empty" for p in PHONES])
def test_phone_numbers(typed: str, expected: Check) -> None:
    assert check_phone(typed) == expected


def test_ok_is_true_only_without_a_problem() -> None:
    assert check_username("anna_k").ok
    assert not check_username("anna").ok
    assert check_phone("+44 7700 900123").ok
    assert not check_phone("12").ok


def test_chat_url_opens_the_chat() -> None:
    assert chat_url("anna_k") == "https://t.me/anna_k"


SHARES = [
    ("Need a quick chat?", "https://t.me/share/url?url=Need%20a%20quick%20chat%3F"),
    ("<b> & {{ x }}", "https://t.me/share/url?url=%3Cb%3E%20%26%20%7B%7B%20x%20%7D%7D"),
    ("tea? 🍵 #1/2", "https://t.me/share/url?url=tea%3F%20%F0%9F%8D%B5%20%231%2F2"),
]


@pytest.mark.parametrize(("message", "url"), SHARES, ids=[s[0] for s in SHARES])
def test_share_url_carries_the_message_exactly(message: str, url: str) -> None:
    assert share_url(message) == url
    query = urlsplit(url).query
    assert parse_qs(query) == {"url": [message]}  # decodes back to exactly what they wrote
