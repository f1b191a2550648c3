"""Plain data the dialog manager works on: user state, events, replies and effects.

Everything here is serialisable and free of Telegram and SQL, so the same
manager runs on Telegram, in the terminal and in the scheduler.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal


@dataclass
class Frame:
    """One active dialog on the stack: where the person is and what they said."""

    dialog: str
    step: str
    slots: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """{"dialog", "step", "slots"} as kept in conversations.stack (slots: plain JSON)."""
        return {"dialog": self.dialog, "step": self.step, "slots": dict(self.slots)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Frame:
        """The inverse of to_json; missing slots are {}. Raises KeyError when "dialog" or
        "step" is missing."""
        return cls(str(data["dialog"]), str(data["step"]), dict(data.get("slots") or {}))


@dataclass
class Profile:
    """What the coach knows about the person outside any one dialog."""

    consented: bool = False
    onboarded: bool = False
    locale: str = "en"
    timezone: str | None = None
    checkin_time: str | None = None  # "HH:MM" local time, None = no check-ins
    country: str | None = None  # ISO 3166-1 alpha-2 they chose; None = from their time zone
    nudges: str = "gentle"  # "off" | "gentle" (at most 2 a week) | "daily"
    quiet_start: str = "21:00"  # quiet hours, local "HH:MM": no nudges from here...
    quiet_end: str = "08:00"  # ...until here
    paused_until: datetime | None = None  # UTC; no check-ins or nudges before it
    # Safety memory (issue 9): the level of the last risky message and when, never its words;
    # a "concern" soon after another concern or a crisis counts as a crisis.
    risk_level: str | None = None  # None | "concern" | "crisis"
    risk_at: datetime | None = None  # UTC
    # Set when they said "No, I'm not safe"; the emergency number stays on every screen
    # until they say they have called or someone is with them. UTC.
    unsafe_at: datetime | None = None
    # A gentle follow-up message after a crisis screen, sent by the sweep. UTC; None = none.
    followup_at: datetime | None = None
    # When they last wrote (UTC), read from storage and never written back from here: the
    # weekly review is skipped after a silent week (dialogs/reminders.py).
    last_seen_at: datetime | None = field(default=None, compare=False)


@dataclass
class Record:
    """One thing a person keeps: a contact, a needs map, a thought entry, a draft...

    `data` is plain JSON; `id` is None until storage has saved it. Lists of records
    are ordered, and storage keeps that order.
    """

    kind: str
    data: dict[str, Any]
    id: int | None = None
    created_at: datetime | None = None


@dataclass
class UserState:
    """Everything a turn knows about one person: the dialog stack (the last frame is on
    top), the profile, and records by kind (each list in stored order, new ones last)."""

    stack: list[Frame] = field(default_factory=list)
    profile: Profile = field(default_factory=Profile)
    records: dict[str, list[Record]] = field(default_factory=dict)

    @property
    def top(self) -> Frame | None:
        """The dialog being answered (the stack's last frame), or None when none is open."""
        return self.stack[-1] if self.stack else None

    def copy(self) -> UserState:
        """A copy a turn may change freely: slots and records deep-copied, kinds with no
        records left out."""
        return UserState(
            stack=[Frame(f.dialog, f.step, copy.deepcopy(f.slots)) for f in self.stack],
            profile=Profile(**vars(self.profile)),
            records={k: copy.deepcopy(v) for k, v in self.records.items() if v},
        )


# --- events: what happened, already stripped of transport details -------------


@dataclass(frozen=True)
class Text:
    """A text message (or a command whose words screened as risky), as typed: up to
    Telegram's 4,096 characters, screened for crisis before anything else."""

    text: str
    # The language of the person's app as it reports it, an IETF tag ("es-MX"); "" when
    # unknown. Read only before onboarding is finished (dialogs/engine_events.py).
    language: str = ""


@dataclass(frozen=True)
class Command:
    """A /command; `args` is the rest of the message, stripped (most commands ignore it)."""

    name: str  # lower-case, without the slash or a @botname suffix
    args: str = ""
    language: str = ""  # the app's language tag, as on Text


@dataclass(frozen=True)
class Press:
    """A tapped inline button; `data` is untrusted (it can be stale or forged)."""

    data: str


@dataclass(frozen=True)
class Location:
    """A shared location, in degrees as Telegram sends it: read for a time zone
    (dialogs/places.py zone_from_location)."""

    latitude: float
    longitude: float


@dataclass(frozen=True)
class Unsupported:
    """A message the current step can't take: media (a sticker, a voice message, a photo
    where none is asked...) or an edit, whose words come in `caption` so they are
    screened like any message."""

    # The Telegram message part ("sticker", "animation", "video_note", "voice", "document",
    # ...), "message" for another kind, or "edited"; common/unsupported.j2 names each.
    kind: str
    caption: str = ""  # a photo's caption is free text too, so it is screened


@dataclass(frozen=True)
class Photo:
    """A photo the person sent; `file_id` is Telegram's id for its largest size."""

    file_id: str
    caption: str = ""  # free text too, so it is screened first


@dataclass(frozen=True)
class Due:
    """The scheduler says a morning check-in, a nudge, a crisis follow-up or one of the
    small-steps reminders (dialogs/reminders.py) is due."""

    kind: Literal["checkin", "nudge", "followup", "reminder"]
    soft: bool = False  # several went unanswered: a gentler, lower-key opening


@dataclass(frozen=True)
class Missed:
    """Their last question never reached them (a send failed for good, bot/sender.py):
    show it again before `event` is taken as its answer. Words in `event` are still
    screened first, and a command still runs."""

    event: Text | Command | Press | Location | Unsupported | Photo


Event = Text | Command | Press | Location | Unsupported | Photo | Due | Missed


# --- what a turn produces -------------------------------------------------------


@dataclass(frozen=True)
class Button:
    """One button of a Reply. `data` (1-64 bytes: the Bot API's limit on callback_data) comes
    back as a Press when tapped; a link button has `url` and no data."""

    label: str  # label key in the prompt catalog
    data: str  # callback data (<= 64 bytes); empty for a link button
    ctx: tuple[tuple[str, Any], ...] = ()  # values the label template may use
    url: str | None = None  # a link button (open a chat, share a message)
    checked: bool = False  # a ticked option of a multi-select step


# "main" is the persistent keyboard with "Need a quick chat?" on its first button.
Keyboard = Literal["location", "remove", "main"] | None


@dataclass(frozen=True)
class Reply:
    """One message to send: `template` rendered with `ctx` in the person's locale, with
    inline buttons (rows of Button), a reply keyboard, or a photo, file or chart."""

    template: str  # prompt name, e.g. "onboarding/welcome"
    ctx: dict[str, Any] = field(default_factory=dict)
    buttons: tuple[tuple[Button, ...], ...] = ()
    keyboard: Keyboard = None
    edit: bool = False  # replace the message whose button was tapped, instead of a new one
    photo: str | None = None  # a photo's file id: sent as that photo, the text as its caption
    document: tuple[str, bytes] | None = None  # a file to send (name, bytes); text is its caption
    # A chart's data (plain JSON, e.g. {"days": [["2026-11-01", 3.5], ...]}): the adapter
    # draws it (bot/chart.py) and sends it as a photo, the text as its caption.
    chart: dict[str, Any] | None = None


@dataclass(frozen=True)
class ForgetMe:
    """Erase everything stored about this person (declined consent)."""


Effect = ForgetMe


@dataclass
class Turn:
    """What one event comes to: the person's new state (storage saves it), the replies to
    send in order, and effects (ForgetMe)."""

    state: UserState
    replies: list[Reply] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
