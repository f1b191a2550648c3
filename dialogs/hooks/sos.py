"""Hooks for "Need a quick chat?": the reach-out list's links, or an invitation to add one."""

from __future__ import annotations

from dialogs.hooks import HookCall, choices
from dialogs.hooks.contacts import contact_actions
from dialogs.spec import ChoiceSpec


@choices("sos_actions")
def sos_actions(call: HookCall) -> list[ChoiceSpec]:
    links = contact_actions(call)
    if links or not call.state.profile.onboarded:
        return links
    # Nobody on the list yet: adding one person is the most useful next step.
    return [ChoiceSpec(id="add", label="sos.main.add", next="dialog:contacts")]
