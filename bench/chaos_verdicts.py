"""bench/chaos.py, polling mode: each update's verdict and each person's final state.

Definitions in bench/chaos.py. Everything here works on what the fake delivered (the chat's
history, in arrival order) and on the version numbers the people read while waiting.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from bench.chaos_common import SavedState, short, signature
from bench.chaos_scripts import Action, comparable
from tests.fakebot import FakeBotApi, SentMessage, UserAction
from tests.fakebot.transcript import render

if TYPE_CHECKING:
    from bench.chaos_polling import Person

EXAMPLES = 3

Verdict = Literal["fine", "lost", "silent", "partial", "twice"]


# --- classification -----------------------------------------------------------------------------


@dataclass
class Judged:
    verdict: Verdict
    user_id: int
    step: int
    action: Action
    matched: int
    expected: int
    unexpected: int
    turns: int


@dataclass
class Tally:
    verdicts: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    late: int = 0  # replies that arrived after the person had moved on
    unexpected: int = 0  # replies matching nothing in the reference
    partial_missing: int = 0
    partial_different: int = 0
    invalid_differs: int = 0
    invalid_unseen: int = 0
    invalid_examples: list[str] = field(default_factory=list)
    troubled: dict[int, list[str]] = field(default_factory=dict)  # user -> notes, for --show
    stale_last: int = 0  # people whose chat ends with an older reply, sent again late
    stale_examples: list[str] = field(default_factory=list)

    def add(self, judged: Judged) -> None:
        self.verdicts[judged.verdict] += 1
        if judged.verdict != "fine":
            self.troubled.setdefault(judged.user_id, []).append(
                f"step {judged.step} {judged.action}: {judged.verdict}"
            )
        if judged.verdict == "partial":
            if judged.unexpected:
                self.partial_different += 1
            else:
                self.partial_missing += 1
        if judged.verdict != "fine":
            shown = self.examples.setdefault(judged.verdict, [])
            if len(shown) < EXAMPLES:
                kind, value = judged.action
                shown.append(
                    f"user {judged.user_id} step {judged.step} ({kind} {value!r}): "
                    f"{judged.matched}/{judged.expected} replies, {judged.unexpected} other, "
                    f"{judged.turns} turn(s) saved"
                )

    @property
    def invalid(self) -> int:
        return self.invalid_differs + self.invalid_unseen


def windows(fake: FakeBotApi, user_id: int) -> dict[int, list[SentMessage]]:
    """The bot's bubbles after each of the person's updates, up to their next update."""
    out: dict[int, list[SentMessage]] = {}
    current: list[SentMessage] | None = None
    for entry in fake.history(user_id):
        if isinstance(entry, UserAction):
            current = out.setdefault(int(entry.update["update_id"]), [])
        elif isinstance(entry, SentMessage) and current is not None:
            current.append(entry)
    return out


def judge(person: Person, final: SavedState | None, tally: Tally) -> None:
    """Classify each update the person sent (see bench/chaos.py), then their final state."""
    ref = person.ref
    order = [s.update_id for s in person.sent]
    by_id = {s.update_id: s for s in person.sent}
    remaining = {u: Counter(ref.steps[by_id[u].step].sigs) for u in order}
    known = {u: set(ref.steps[by_id[u].step].sigs) for u in order}
    matched: Counter[int] = Counter()
    dupes: Counter[int] = Counter()
    unexpected: Counter[int] = Counter()
    dupe_sources: dict[int, set[int]] = {u: set() for u in order}
    seen = windows(person.fake, person.user_id)
    for index, u in enumerate(order):
        before = order[:index][::-1]
        for message in seen.get(u, []):
            sig = signature(message)
            if remaining[u][sig] > 0:
                remaining[u][sig] -= 1
                matched[u] += 1
                continue
            owner = next((e for e in before if remaining[e][sig] > 0), None)
            if owner is not None:  # a late reply to an earlier update
                remaining[owner][sig] -= 1
                matched[owner] += 1
                tally.late += 1
                continue
            owner = next((e for e in [u, *before] if sig in known[e]), None)
            if owner is not None:  # one of its replies, once more
                dupes[owner] += 1
                if owner != u:
                    dupe_sources[u].add(owner)
                continue
            unexpected[u] += 1
            tally.unexpected += 1
    final_version = final.version if final else 0
    for position, u in enumerate(order):
        record = by_id[u]
        step = ref.steps[record.step]
        turns = record.v_after - record.v_before
        if position == len(order) - 1:
            turns += final_version - record.v_after  # anything that ran after the last wait
        # Turns that ran in this window for an earlier update whose replies came again here.
        excess = max(0, turns - step.delta - len(dupe_sources[u]))
        if dupes[u] or excess > 0:
            verdict: Verdict = "twice"
        elif matched[u] == 0 and unexpected[u] == 0:
            verdict = "lost" if turns < step.delta or step.delta == 0 else "silent"
        elif matched[u] < len(step.sigs) or unexpected[u]:
            verdict = "partial"
        else:
            verdict = "fine"
        tally.add(
            Judged(verdict, person.user_id, record.step, step.action, matched[u],
                   len(step.sigs), unexpected[u], turns)
        )  # fmt: skip
    judge_state(person, final, tally)


def judge_state(person: Person, final: SavedState | None, tally: Tally) -> None:
    """Invalid: the saved state differs from the reference's for the same script, or the
    person waits at a step whose question (the reference's last reply) they never got."""
    ref = person.ref
    if final is None or comparable(final) != comparable(ref.final):
        tally.troubled.setdefault(person.user_id, []).append("invalid: state differs")
        tally.invalid_differs += 1
        if len(tally.invalid_examples) < EXAMPLES:
            where = final.top if final else "no saved state"
            tally.invalid_examples.append(
                f"user {person.user_id} ({ref.name}): state differs, at {where} "
                f"(reference at {ref.final.top})"
            )
        return
    history = person.fake.history(person.user_id)
    last_action = max(
        (i for i, e in enumerate(history) if isinstance(e, UserAction)), default=len(history)
    )
    after = [signature(e) for e in history[last_action:] if isinstance(e, SentMessage)]
    question = ref.steps[-1].sigs[-1]
    if question not in after:
        tally.troubled.setdefault(person.user_id, []).append("invalid: question never received")
        tally.invalid_unseen += 1
        if len(tally.invalid_examples) < EXAMPLES:
            last = short(after[-1]) if after else "nothing"
            tally.invalid_examples.append(
                f"user {person.user_id} ({ref.name}): at {final.top}, its question never "
                f"arrived after their last message (last reply: {last})"
            )
    elif after[-1] != question:
        # Not invalid (the question came), but an older reply came again below it.
        tally.troubled.setdefault(person.user_id, []).append("chat ends with an older reply")
        tally.stale_last += 1
        if len(tally.stale_examples) < EXAMPLES:
            tally.stale_examples.append(
                f"user {person.user_id} ({ref.name}): chat ends with {short(after[-1])}"
            )


def show_transcripts(people: list[Person], tally: Tally, count: int) -> None:
    """Print the chats of up to `count` people with a problem to stderr (bench text only)."""
    shown = 0
    for person in people:
        notes = tally.troubled.get(person.user_id)
        if not notes or shown >= count:
            continue
        shown += 1
        print(f"\n=== user {person.user_id} ({person.ref.name}): {'; '.join(notes)}",
              file=sys.stderr)  # fmt: skip
        print(render(person.fake.history(person.user_id)), file=sys.stderr)
