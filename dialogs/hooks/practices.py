"""Hooks for the short practices: the self-compassion break and one tiny truth.

Neither keeps a record: what they name (slot `named`), their kind words and the tiny truth
stay in the frame's slots to be shown back once, and go when the dialog closes. A tiny
truth is either one of the examples (slot `example`: its id, words in
prompts/en/truth/_examples.j2) or the person's own words (slot `own`).
"""

from __future__ import annotations

from dialogs.hooks import HookCall, action

EXAMPLES = ("lonely", "miss", "harder", "glad", "more")  # ids of the truth examples
OWN = "own"  # slot: their own words, as typed
EXAMPLE = "example"  # slot: the id of the example they tapped


@action("truth_example")
def truth_example(call: HookCall) -> None:
    """A tapped example: keep its id as `example` (not as their own words)."""
    call.frame.slots.pop(OWN, None)
    if call.value in EXAMPLES:
        call.frame.slots[EXAMPLE] = call.value


@action("truth_own")
def truth_own(call: HookCall) -> None:
    """Their own words (or none, for "Not today"): an earlier example no longer applies."""
    call.frame.slots.pop(EXAMPLE, None)
