"""The pure parts of bench/turns.py: Bridges' calls given to the right turn for the replay bot,
the replay's parameters, the seeded history and the open loop's arrivals. Nothing is timed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench.turns_history import parse_history, seeded_rows
from bench.turns_replay import QUERY, calls_per_turn, record_turns, resolve, snake_case
from bench.turns_users import TurnMark, arrival_offsets
from tests.fakebot.models import Call

ADA, BEA = 880_000_001, 880_000_002


def test_calls_go_to_the_turn_they_answer() -> None:
    marks = {
        ADA: [TurnMark(1.0, None), TurnMark(2.0, "q-ada")],
        BEA: [TurnMark(1.5, "q-bea")],
    }
    calls = [
        Call("getMe", {}, 0.5),  # start-up: no chat, left out
        Call("sendMessage", {"chat_id": ADA, "text": "Hi"}, 1.2),
        Call("answerCallbackQuery", {"callback_query_id": "q-bea"}, 1.6),
        Call("sendMessage", {"chat_id": BEA, "text": "B"}, 1.7, error_code=400),
        # Ada's second turn: the answer logged after the message still goes to the tap's turn.
        Call("sendMessage", {"chat_id": ADA, "text": "Next"}, 2.1),
        Call("answerCallbackQuery", {"callback_query_id": "q-ada"}, 2.2),
        Call("getUpdates", {"offset": 3}, 2.3),
        Call("sendMessage", {"chat_id": 999, "text": "not a bench chat"}, 2.4),
    ]
    recording = record_turns(calls, marks)

    assert [[c["method"] for c in turn] for turn in recording[ADA]] == [
        ["sendMessage"],
        ["sendMessage", "answerCallbackQuery"],
    ]
    assert recording[ADA][1][1]["params"] == {"callback_query_id": QUERY}
    assert [[c["method"] for c in turn] for turn in recording[BEA]] == [
        ["answerCallbackQuery", "sendMessage"]
    ]
    assert recording[BEA][0][1].get("fails") is True
    assert "fails" not in recording[ADA][0][0]
    assert set(recording) == {ADA, BEA}
    assert calls_per_turn(recording) == {"sendMessage": 1.0, "answerCallbackQuery": 2 / 3}


def test_a_call_before_any_turn_of_its_chat_goes_to_the_first() -> None:
    recording = record_turns(
        [Call("sendMessage", {"chat_id": ADA}, 0.1)], {ADA: [TurnMark(1.0, None)]}
    )
    assert recording == {ADA: [[{"method": "sendMessage", "params": {"chat_id": ADA}}]]}


def test_the_replay_answers_the_query_of_the_update_in_hand() -> None:
    call = {"method": "answerCallbackQuery", "params": {"callback_query_id": QUERY}}
    assert resolve(call, "q-7") == ("answer_callback_query", {"callback_query_id": "q-7"})
    with pytest.raises(ValueError):
        resolve(call, None)
    markup = {"inline_keyboard": [[{"text": "3", "callback_data": "c:3"}]]}
    send = {"method": "sendMessage", "params": {"chat_id": ADA, "reply_markup": markup}}
    assert resolve(send, None) == ("send_message", send["params"])
    assert snake_case("editMessageReplyMarkup") == "edit_message_reply_markup"


def test_seeded_history_is_mostly_moods_numbered_per_kind() -> None:
    now = datetime(2026, 11, 23, 8, tzinfo=UTC)
    rows = list(seeded_rows(7, 25, now))
    kinds = [r["kind"] for r in rows]
    assert kinds.count("win") == 2 and kinds.count("mood") == 23
    assert [r["position"] for r in rows if r["kind"] == "mood"] == list(range(23))
    assert [r["position"] for r in rows if r["kind"] == "win"] == [0, 1]
    assert all(r["user_id"] == 7 and r["created_at"] < now for r in rows)
    times = [r["created_at"] for r in rows]
    assert times == sorted(times)  # oldest first, as storage appends them
    assert all(1 <= r["data"]["mood"] <= 5 for r in rows if r["kind"] == "mood")


def test_history_counts_and_arrivals() -> None:
    assert parse_history("5000,0,0") == [0, 5000]
    with pytest.raises(ValueError):
        parse_history("-1")
    offsets = arrival_offsets(2000, rate=50.0)
    assert offsets[0] == 0.0 and offsets == sorted(offsets)
    assert offsets == arrival_offsets(2000, rate=50.0)  # seeded: every run offers the same
    assert 2000 / offsets[-1] == pytest.approx(50.0, rel=0.1)
