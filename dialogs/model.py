"""Plain data the dialog manager works on: user state, events, replies and effects.

Everything here is serialisable and free of Telegram and SQL, so the same
manager runs on Telegram, in the terminal and in the scheduler.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, MutableMapping
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


# What storage hands a state so records load only when read (storage/repository.py):
# `load(kind)`: every record of one kind, in stored order;
# `tails({kind: n})`: the newest n of each kind asked, in stored order (one round trip);
# `kinds()`: the kinds the person keeps, for reading everything (/export).
Load = Callable[[str], list[Record]]
Tails = Callable[[Mapping[str, int]], dict[str, list[Record]]]
Kinds = Callable[[], list[str]]
Count = Callable[[str], int]


@dataclass
class Changes:
    """What a turn did to a loader-backed Records, for storage to write (nothing else is).

    `whole`: kinds held whole, each the full list as it should be stored (positions are
    list indexes; [] deletes the kind). `known`: records of other kinds that were read
    (the newest few) and may have been changed in place: only their data is written.
    `added`: new records appended to kinds not held whole, to go after the stored ones.
    """

    whole: dict[str, list[Record]]
    known: dict[str, list[Record]]
    added: dict[str, list[Record]]


class Records(MutableMapping[str, list[Record]]):
    """A person's records by kind (each list in stored order, new ones last), loaded one
    kind at a time on first read, so a turn costs what it reads, not a whole history.

    Built from a plain dict (tests, the console's fresh states) it is just that dict.
    Built by storage with `load`, `tails` and `kinds` (see above), reading a kind (`[]`,
    `get`, `in`, iterating) loads it whole; `newest(kind, n)` and `fetch` load only the
    newest n; `append` adds without loading. Storage writes back only what `changes()`
    names: the kinds held whole, the newest records read, the records appended.

    Why copy-on-load rather than copy-on-write: each Records (and so each UserState.copy())
    builds its own Record objects from the loader when it first reads a kind, so the copy a
    turn changes never shares a record with the state it was copied from, and nothing but
    the few kinds already read is ever copied. Copy-on-write would need every read to hand
    out a proxy or a frozen record, and hooks change `record.data` in place today.
    """

    def __init__(
        self,
        lists: Mapping[str, list[Record]] | None = None,
        *,
        load: Load | None = None,
        tails: Tails | None = None,
        kinds: Kinds | None = None,
        count: Count | None = None,
    ) -> None:
        self._lists: dict[str, list[Record]] = dict(lists or {})  # kinds held whole
        self._load, self._tails, self._kinds, self._count = load, tails, kinds, count
        self._absent: set[str] = set()  # kinds read and found empty (or deleted)
        self._recent: dict[str, list[Record]] = {}  # newest stored ones of kinds not whole
        self._asked: dict[str, int] = {}  # how many of the newest `_recent` holds (at most)
        self._added: dict[str, list[Record]] = {}  # appended to kinds not held whole

    @property
    def lazy(self) -> bool:
        """True when backed by storage (a kind not read yet is not in memory)."""
        return self._load is not None

    def _stored(self, kind: str) -> bool:
        # Could storage hold records of this kind that are not in memory yet?
        return self._load is not None and kind not in self._lists and kind not in self._absent

    def _whole(self, kind: str) -> list[Record] | None:
        if self._stored(kind):
            assert self._load is not None
            found = self._load(kind)
            # The newest records already handed out stay the same objects: a change made to
            # one before the kind was read whole must not be lost.
            known = {r.id: r for r in self._recent.pop(kind, [])}
            found = [known.get(r.id, r) for r in found]
            found += self._added.pop(kind, [])
            self._asked.pop(kind, None)
            if found:
                self._lists[kind] = found
            else:
                self._absent.add(kind)
        return self._lists.get(kind)

    def __getitem__(self, kind: str) -> list[Record]:
        found = self._whole(kind)
        if found is None or kind in self._absent:
            raise KeyError(kind)
        return found

    def __setitem__(self, kind: str, value: list[Record]) -> None:
        self._lists[kind] = value
        self._absent.discard(kind)
        self._recent.pop(kind, None)
        self._added.pop(kind, None)
        self._asked.pop(kind, None)

    def __delitem__(self, kind: str) -> None:
        if self._whole(kind) is None:
            raise KeyError(kind)
        # Held as an empty list, so storage deletes the kind; reads say it is gone.
        self._lists[kind] = []
        self._absent.add(kind)

    def __contains__(self, kind: object) -> bool:
        if not isinstance(kind, str) or kind in self._absent:
            return False
        if kind in self._lists or self._added.get(kind):
            return True
        return bool(self.newest(kind, 1))

    def __iter__(self) -> Iterator[str]:
        names = dict.fromkeys(self._lists)
        if self._kinds is not None:
            names.update(dict.fromkeys(sorted(self._kinds())))
        names.update(dict.fromkeys(self._added))
        return iter([k for k in names if k not in self._absent])

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        # Everything, loaded if need be: a repr that hid unread kinds would mislead (the
        # privacy tests look for words in it).
        return f"Records({dict(self.items())!r})"

    def fetch(self, wanted: Mapping[str, int]) -> None:
        """Make sure the newest n records of each kind in `wanted` ({kind: n}) are in
        memory, in one round trip for all of them (storage's `tails`)."""
        missing = {
            kind: n
            for kind, n in wanted.items()
            if self._stored(kind) and self._asked.get(kind, 0) < n
        }
        if not missing:
            return
        load, tails = self._load, self._tails
        assert load is not None
        found = tails(missing) if tails else {k: load(k)[-n:] for k, n in missing.items()}
        for kind, n in missing.items():
            newest = found.get(kind, [])
            known = {r.id: r for r in self._recent.get(kind, [])}
            newest = [known.get(r.id, r) for r in newest]
            if len(newest) < n:  # fewer than asked: that is all of them
                added = self._added.pop(kind, [])
                self._recent.pop(kind, None)
                self._asked.pop(kind, None)
                if newest or added:
                    self._lists[kind] = newest + added
                else:
                    self._absent.add(kind)
            else:
                self._recent[kind] = newest
                self._asked[kind] = n

    def newest(self, kind: str, n: int) -> list[Record]:
        """The newest `n` records of `kind` (fewer if there are fewer), oldest first, in
        stored order with new ones last. A fresh list: appending to it saves nothing, but a
        record in it changed in place is saved."""
        if n <= 0:
            return []
        self.fetch({kind: n})
        if kind in self._lists:
            return self._lists[kind][-n:]
        if kind in self._absent:
            return []
        return (self._recent.get(kind, []) + self._added.get(kind, []))[-n:]

    def count(self, kind: str) -> int:
        """How many records of `kind` there are, without reading them (storage's `count`;
        one small query) unless the kind is already in memory whole."""
        if not self._stored(kind) or self._count is None:
            return len(self._whole(kind) or [])
        return self._count(kind) + len(self._added.get(kind, []))

    def append(self, kind: str, record: Record) -> None:
        """Add `record` after the others of `kind` without reading them."""
        if kind in self._lists and kind not in self._absent:
            self._lists[kind].append(record)
        elif not self._stored(kind):  # known to be empty or deleted (or a dict without it)
            self[kind] = [record]
        else:
            self._added.setdefault(kind, []).append(record)

    def changes(self) -> Changes:
        """What storage must write: see Changes. Only for a loader-backed Records."""
        return Changes(
            whole=dict(self._lists),
            known={k: list(v) for k, v in self._recent.items()},
            added={k: list(v) for k, v in self._added.items() if v},
        )

    def copy(self) -> Records:
        """A deep copy of what is in memory, with the same loaders; kinds left empty in
        memory are left out (for storage: deleted, as they would have been)."""
        twin = Records(load=self._load, tails=self._tails, kinds=self._kinds, count=self._count)
        for kind, found in self._lists.items():
            if found:
                twin._lists[kind] = copy.deepcopy(found)
            elif self._load is not None:
                # Not forgotten: an emptied kind must still be deleted by storage.
                twin._lists[kind] = []
                twin._absent.add(kind)
        twin._absent |= self._absent
        twin._recent = copy.deepcopy(self._recent)
        twin._asked = dict(self._asked)
        twin._added = copy.deepcopy(self._added)
        return twin


@dataclass
class UserState:
    """Everything a turn knows about one person: the dialog stack (the last frame is on
    top), the profile, and records by kind (each list in stored order, new ones last).

    `records` is a Records; a plain dict given (or assigned later) is wrapped in one."""

    stack: list[Frame] = field(default_factory=list)
    profile: Profile = field(default_factory=Profile)
    records: Records = field(default_factory=Records)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "records" and not isinstance(value, Records):
            value = Records(value)
        object.__setattr__(self, name, value)

    @property
    def top(self) -> Frame | None:
        """The dialog being answered (the stack's last frame), or None when none is open."""
        return self.stack[-1] if self.stack else None

    def copy(self) -> UserState:
        """A copy a turn may change freely: slots deep-copied, and of the records only what
        is in memory (Records.copy; the rest is loaded by the copy when it reads it), kinds
        with no records left out."""
        return UserState(
            stack=[Frame(f.dialog, f.step, copy.deepcopy(f.slots)) for f in self.stack],
            profile=Profile(**vars(self.profile)),
            records=self.records.copy(),
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
