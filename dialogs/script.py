"""One dialog on one page, as Markdown (`bridges dialogs script NAME`).

For a writer or a reviewer who wants to read a whole conversation without opening its
YAML file, its templates, its button labels and its hooks: the file's own comments, then
every step in reading order (breadth-first from `start`, then the draft step, then any
other), each with its words rendered from its template with sample answers, what it
accepts, its buttons with their labels and where each goes, its hooks and what comes next.

Pure: reads the dialog spec, the prompt files and the dialog file's comments, and calls
the dialog's own hooks (pure functions) on an in-memory sample person; no Telegram, no
database. The words come from a first pass through the dialog (`Sample.walk`): each step
sees the sample answers (`SAMPLE_ANSWERS`, else a fallback by input kind) of the steps
before it in reading order, and what its enter hooks give on that pass, so it reads as it
does the first time through (the reframe page shows the saved evidence table). A value no
hook gives on that pass prints as a placeholder like ‹draft_date›; a template that cannot
render even so is shown as written, with its enter hooks named.
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from jinja2 import ChainableUndefined, Environment, FileSystemLoader, TemplateError

from dialogs import hooks
from dialogs.conditions import Branch
from dialogs.graph import (
    AUTO,
    IF,
    LINES,
    LISTED,
    TICK,
    TYPED,
    choice_target,
    routes,
)
from dialogs.model import Frame, Profile, UserState
from dialogs.spec import DIALOG_PREFIX, END, FLOWS_DIR, ChoiceSpec, DialogSpec, StepSpec
from prompts import DEFAULT_LOCALE, Catalog, default_catalog

REPO_ROOT = FLOWS_DIR.parent.parent  # where a DialogSpec's `source` path starts

# Answers a person might give, by slot name: enough for the shipped dialogs to read
# naturally. Slots not listed get a fallback by input kind (`sample_answer`).
SAMPLE_ANSWERS: dict[str, Any] = {
    "thought": "nobody wants to hear from me",
    "belief_before": 80,
    "feeling": "lonely",
    "evidence_for": ["my sister didn't call back", "I ate lunch alone"],
    "evidence_against": ["a colleague asked how my weekend was"],
    "balanced": "some people do want to hear from me, even if not all the time",
    "belief_after": 55,
    "thanks_line": "a warm cup of tea",
    "when": ["evenings", "weekends"],
    "first_step": "text my cousin on Sunday",
    "own_step": "say hello to a neighbour",
    "name": "Sam",
}
SAMPLE_NOW = datetime(2025, 3, 14, 18, 30, tzinfo=UTC)  # a Friday evening
SAMPLE_PROFILE = Profile(
    consented=True,
    onboarded=True,
    timezone="Europe/London",
    checkin_time="20:00",
    country="GB",
)


class Placeholder(ChainableUndefined):
    """A value the template wants and the sample lacks (most often one an enter hook
    gives): prints as ‹name›, ‹entry.date› for an attribute of one, is empty and false."""

    __slots__ = ()

    def __str__(self) -> str:
        return f"‹{self._undefined_name or 'value'}›"

    def __html__(self) -> str:
        return str(self)

    def _more(self, name: Any) -> Placeholder:
        base = self._undefined_name
        return Placeholder(name=f"{base}.{name}" if base else str(name))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._more(name)

    # jinja2 types Undefined.__getitem__ as never returning (it raises); a Placeholder
    # returns a deeper placeholder instead, on purpose.
    def __getitem__(self, key: Any) -> Placeholder:  # type: ignore[override]
        return self._more(key)


def sample_answer(step: StepSpec) -> Any:
    """A plausible answer to `step`, as the dialog manager would keep it in the step's slot."""
    if step.slot in SAMPLE_ANSWERS:
        return SAMPLE_ANSWERS[step.slot]
    mark = f"‹{step.slot}›"
    if step.collect:
        return [mark]
    if step.input == "number" and step.min is not None and step.max is not None:
        return (step.min + step.max) // 2
    if step.input == "multi":
        return [c.id for c in step.choices if not c.finish][:2]
    if step.input == "time":
        return "08:30"
    if step.input == "timezone":
        return "Europe/London"
    if step.input == "photo":
        return {"file_id": "‹photo›", "caption": mark}
    if step.input in ("choice", "none"):
        values = [c.value for c in step.choices if c.value is not None]
        return values[0] if values else mark
    return mark


def order(dialog: DialogSpec) -> list[str]:
    """Step ids in reading order: breadth-first from `start` along the routes that can
    happen (dialogs.graph.routes), then from the draft step, then any left (file order)."""
    seen: list[str] = []
    for root in (dialog.start, dialog.draft_step):
        if root is None or root not in dialog.steps or root in seen:
            continue
        todo = [root]
        seen.append(root)
        while todo:
            step = dialog.steps[todo.pop(0)]
            # A choices hook's fallback (`next`) comes last: its buttons' own targets,
            # listed as `exits`, are the usual way on (the needs map's "Let's map it").
            ahead = sorted(routes(step), key=lambda r: r.kind == LISTED)
            for route in ahead:
                if route.target in dialog.steps and route.target not in seen:
                    seen.append(route.target)
                    todo.append(route.target)
    return seen + [s for s in dialog.steps if s not in seen]


# --- HTML to Markdown -------------------------------------------------------------------

_TAGS = [
    (r"<\s*/?\s*(b|strong)\s*>", "**"),
    (r"<\s*/?\s*(i|em)\s*>", "*"),
    (r"<\s*/?\s*code\s*>", "`"),
    (r"<\s*br\s*/?\s*>", "\n"),
]


def to_markdown(text: str) -> str:
    """Telegram HTML (b, i, code, a, and tags dropped) as Markdown, entities decoded."""
    text = re.sub(r'<a\s+href="([^"]*)"\s*>(.*?)</a>', r"[\2](\1)", text, flags=re.S)
    for pattern, mark in _TAGS:
        text = re.sub(pattern, mark, text)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"\n{3,}", "\n\n", htmllib.unescape(text))
    return text.strip()


def plain(text: str) -> str:
    """Telegram HTML as plain text on one line (for a node of the graph)."""
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", "", text)).split())


# --- rendering with sample values -------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """What a step shows on the sample pass: its template's values and the buttons its
    choices hook gave (empty without one)."""

    ctx: dict[str, Any]
    listed: list[ChoiceSpec]


class Sample:
    """Renders prompts and button labels with sample values, never failing on a value
    only a hook would give (see `Placeholder`)."""

    def __init__(self, catalog: Catalog | None = None, locale: str = DEFAULT_LOCALE) -> None:
        self.catalog = catalog or default_catalog()
        self.locale = locale if locale in self.catalog.locales else DEFAULT_LOCALE
        # The same settings as prompts.Catalog, but missing values print as placeholders.
        self.env = Environment(
            loader=FileSystemLoader(self.catalog.root / self.locale),
            autoescape=True,
            undefined=Placeholder,
            lstrip_blocks=True,
        )
        self.env.filters.update(self.catalog.filters(self.locale))  # `number`, `date`

    def html(self, name: str, ctx: Mapping[str, Any]) -> str | None:
        """Template `name` rendered as the dialog manager would (Telegram HTML) with the values
        `ctx` (see `walk`), or None when it cannot be even with placeholders (it calls
        or computes with a value only a hook gives)."""
        try:
            return self.env.get_template(f"{name}.j2").render(**ctx).strip()
        except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError):
            return None

    def source(self, name: str) -> str:
        """The template as written."""
        path = self.catalog.root / self.locale / f"{name}.j2"
        return path.read_text("utf-8").strip() if path.is_file() else f"(no template {name})"

    def label(self, choice: ChoiceSpec) -> str:
        """The button's label as Telegram shows it (plain text); a value the label needs
        and the button lacks is shown as ‹name›."""
        ctx: dict[str, Any] = dict(choice.ctx)
        for _ in range(8):  # a label names a handful of values at most
            try:
                return self.catalog.label(self.locale, choice.label, ctx)
            except KeyError:  # no such label in this locale (`dialogs check` says so)
                break
            except TemplateError as err:
                missing = re.search(r"'(\w+)' is undefined", str(err))
                if not missing or missing.group(1) in ctx:
                    break
                ctx[missing.group(1)] = Placeholder(name=missing.group(1))
        return f"‹{choice.label}›"

    def walk(self, dialog: DialogSpec) -> dict[str, Seen]:
        """For each step, what it shows on a first pass through the dialog.

        Steps are taken in reading order (`order`) as the dialog manager would take them, on a
        sample person (`SAMPLE_PROFILE`, no records) at `SAMPLE_NOW`: a message-only step
        runs its action hook, the enter hooks give their values and the choices hook its
        buttons, then the step gets its sample answer (`sample_answer`) and its action hook
        runs with it. Hooks are pure (state, frame, value, now), so this touches nothing
        outside; a hook that fails on sample values is skipped and its values show as
        placeholders.
        """
        state = UserState(profile=replace(SAMPLE_PROFILE))
        frame = Frame(dialog.id, dialog.start)
        state.stack.append(frame)
        found: dict[str, Seen] = {}
        for sid in order(dialog):
            step = dialog.steps[sid]
            frame.step = sid
            if step.slot:  # shown before it is answered (siblings may share a slot name)
                frame.slots.pop(step.slot, None)
            if step.passive and step.hook:
                self._call("action", step.hook, state, frame, None)
            ctx: dict[str, Any] = {"slots": dict(frame.slots), "profile": state.profile}
            for name in step.enter:
                ctx.update(self._call("enter", name, state, frame, None) or {})
            listed: list[ChoiceSpec] = []
            if step.choices_from:
                listed = list(self._call("choices", step.choices_from, state, frame, None) or [])
            found[sid] = Seen(ctx, listed)
            if step.passive:
                continue
            answer = sample_answer(step)
            if step.slot:
                frame.slots[step.slot] = answer
            if step.hook:
                self._call("action", step.hook, state, frame, answer)
        return found

    @staticmethod
    def _call(kind: str, name: str, state: UserState, frame: Frame, value: Any) -> Any:
        call = hooks.HookCall(state, frame, value, SAMPLE_NOW, [])
        try:
            return hooks.registry(kind)[name](call)
        except Exception:  # a reading aid: a hook that can't run on samples shows placeholders
            return None


# --- the page -------------------------------------------------------------------------


def _comments(text: str) -> tuple[list[str], dict[str, list[str]]]:
    """The file's opening comment, and the comment lines above or inside each step."""
    header: list[str] = []
    notes: dict[str, list[str]] = {}
    lines = text.splitlines()
    for line in lines:
        if not line.startswith("#"):
            break
        header.append(line.lstrip("#").strip())
    try:
        at = next(i for i, line in enumerate(lines) if line.rstrip() == "steps:")
    except StopIteration:
        return header, notes
    indent: int | None = None
    pending: list[str] = []
    current: str | None = None
    for line in lines[at + 1 :]:
        stripped = line.strip()
        depth = len(line) - len(line.lstrip())
        if not stripped:
            continue
        if indent is None:
            indent = depth
        if depth < indent:
            break
        if stripped.startswith("#"):
            words = stripped.lstrip("#").strip()
            if depth == indent or current is None:
                pending.append(words)
            else:
                notes[current].append(words)
            continue
        key = re.match(r"([\w-]+):", stripped)
        if depth == indent and key:
            current = key.group(1)
            notes[current] = pending
            pending = []
    return header, notes


def _link(dialog: DialogSpec, here: str, target: str) -> str:
    if target == END:
        return "end"
    if target.startswith(DIALOG_PREFIX):
        other, _, entry = target.removeprefix(DIALOG_PREFIX).partition("/")
        return f"dialog `{other}`" + (f" at `{entry}`" if entry else "")
    if target not in dialog.steps:
        return f"`{target}`"
    again = " (again)" if target == here else ""
    return f"[{target}](#{target.lower()}){again}"


def _accepts(step: StepSpec) -> str:
    """What the step takes, in words."""
    if step.passive:
        return "nothing: a message that moves on by itself"
    if step.input == "text" and step.collect:
        return (
            f"text, one line per message (up to {step.max_length} characters each), "
            f"{step.max_items} lines at most"
            + (f", {step.min_items} before a button moves on" if step.min_items else "")
        )
    kinds = {
        "text": f"text, up to {step.max_length} characters",
        "number": f"a number from {step.min} to {step.max}",
        "time": "a time of day, kept as HH:MM",
        "timezone": "a city, a UTC offset or a location",
        "photo": f"a photo, its caption up to {step.max_length} characters",
        "multi": (
            f"ticks {step.min_items} to {step.max_items} buttons; typed words (up to "
            f"{step.max_length} characters) join them"
        ),
        "choice": "a button (or its label or number, typed)",
    }
    said = kinds.get(step.input, step.input)
    if step.words:
        said += f"; {step.words} in words is offered as a number"
    if step.keyboard == "location":
        said += "; shows a location button"
    return said


def _conditions(dialog: DialogSpec, here: str, branches: tuple[Branch, ...]) -> str:
    """A conditional `next:` in words: "if `<condition>` → <step>; ..." (its `else` is said
    by the caller, beside what follows it)."""
    return "; ".join(f"if `{b.source}` → {_link(dialog, here, b.go)}" for b in branches)


def _next(dialog: DialogSpec, step: StepSpec) -> str:
    """Where the step goes without a button of the file (typed answers, by itself); its
    conditions first, then "otherwise" before each way that reaches its `else`."""
    said: list[str] = []
    for route in routes(step):
        where = _link(dialog, step.id, route.target)
        if route.kind == IF and route.choice is None:
            said.append(f"if `{route.condition}` → {where}")
            continue
        before = len(said)
        if route.kind == LINES:
            said.append(f"after {step.max_items} lines → {where}")
        elif route.kind == TYPED and step.collect:
            said.append("each line stays here")
        elif route.kind == LISTED:
            said.append(f"a listed button without its own `next` → {where}")
        elif route.kind == TYPED:
            said.append(f"an answer → {where}")
        elif route.kind == AUTO:
            said.append(f"by itself → {where}")
        elif route.kind == TICK and route.choice is None:
            said.append("ticks and typed words stay here; the finishing button moves on")
        if route.otherwise and route.choice is None and len(said) > before:
            said[-1] = f"otherwise {said[-1]}"
    return "; ".join(said) or "by button"


def _hooks(dialog: DialogSpec, step: StepSpec) -> str:
    parts: list[str] = []
    if step.enter:
        names = ", ".join(f"`{n}`" for n in step.enter)
        parts.append(f"enter {names} (values for the words)")
    if step.hook:
        parts.append(f"action `{step.hook}`")
    if step.choices_from:
        parts.append(f"buttons from `{step.choices_from}`")
    if step.exits:
        where = ", ".join(_link(dialog, step.id, t) for t in step.exits)
        hooks = [step.hook, *(c.hook for c in step.choices), step.choices_from]
        who = " or ".join(f"`{n}`" for n in dict.fromkeys(n for n in hooks if n)) or "a hook"
        parts.append(f"{who} may go to {where}")
    return " · ".join(parts)


def _button(dialog: DialogSpec, step: StepSpec, choice: ChoiceSpec, sample: Sample) -> str:
    """One button: its label, where it goes, and what else it does."""
    branches = choice.branches if choice.next else step.branches
    if step.input == "multi" and not choice.finish:
        where = "ticks (stays here)"
    elif branches:
        where = _conditions(dialog, step.id, branches) + "; otherwise"
        where += " → " + _link(dialog, step.id, choice_target(step, choice))
    else:
        where = "→ " + _link(dialog, step.id, choice_target(step, choice))
    notes: list[str] = []
    if choice.url:
        notes.append("a link")
    if choice.hook:
        notes.append(f"runs `{choice.hook}`")
    if choice.when:
        notes.append(f"shown while `{choice.when}` holds a value")
    if choice.means:
        notes.append(f"a typed {choice.means} taps it")
    extra = f" ({'; '.join(notes)})" if notes else ""
    return f"- “{sample.label(choice)}” {where}{extra}"


def _words(name: str, ctx: Mapping[str, Any], sample: Sample, needs: tuple[str, ...]) -> str:
    """The step's message as a Markdown quote, or its template as written."""
    rendered = sample.html(name, ctx)
    if rendered is None:
        hooks_named = ", ".join(f"`{n}`" for n in needs) or "a hook"
        return f"*(needs {hooks_named}: shown as written)*\n\n```jinja\n{sample.source(name)}\n```"
    text = to_markdown(rendered) or "*(no words)*"
    # Two trailing spaces: a line break in Markdown, as in the message (a table, a list).
    lines = [f"> {line}".rstrip() for line in text.splitlines()]
    return "\n".join(
        f"{line}  " if line != ">" and i + 1 < len(lines) and lines[i + 1] != ">" else line
        for i, line in enumerate(lines)
    )


def _step(dialog: DialogSpec, step: StepSpec, seen: Seen, sample: Sample, notes: list[str]) -> str:
    """One step's section of the page."""
    tags = ["message" if step.passive else step.input]
    if step.id == dialog.start:
        tags.append("start")
    if step.id == dialog.draft_step:
        tags.append("offered back with a half-finished run")
    if step.display:
        tags.append("a screen to read")
    if step.end:
        tags.append("ends the dialog")
    out = [f"## {step.id}", "", f"*{' · '.join(tags)}*", ""]
    if notes:
        out += [" ".join(notes), ""]
    out += [_words(step.prompt, seen.ctx, sample, step.enter), ""]
    if step.ask:
        ask = sample.html(step.ask, seen.ctx)
        out.append(f"- **After a break:** {plain(ask) if ask is not None else step.ask}")
    out.append(f"- **Takes:** {_accepts(step)}")
    if step.slot:
        out.append(f"- **Kept in:** `{step.slot}`")
    if hooks_said := _hooks(dialog, step):
        out.append(f"- **Hooks:** {hooks_said}")
    out.append(f"- **Next:** {_next(dialog, step)}")
    if step.choices or seen.listed:
        out.append("- **Buttons:**")
    if seen.listed:
        out.append(f"  - *from `{step.choices_from}`, on the sample pass:*")
        out += ["  " + _button(dialog, step, c, sample) for c in seen.listed]
    out += ["  " + _button(dialog, step, c, sample) for c in step.choices]
    return "\n".join(out)


def script(dialog: DialogSpec, sample: Sample | None = None, text: str | None = None) -> str:
    """The whole dialog as one Markdown page (see the module docstring).

    `text` is the dialog file (default: read from `dialog.source` when that is a file);
    its comments become the summary and each step's notes. Raises nothing for a dialog
    that loaded: a template that cannot render is shown as written.
    """
    sample = sample or Sample()
    if text is None:
        path = REPO_ROOT / dialog.source
        text = path.read_text("utf-8") if path.is_file() else ""
    header, notes = _comments(text)
    facts = [f"starts at {_link(dialog, '', dialog.start)}", f"{len(dialog.steps)} steps"]
    if dialog.needs_profile:
        facts.append("only after onboarding")
    if dialog.draft_step:
        facts.append(f"a half-finished run comes back at {_link(dialog, '', dialog.draft_step)}")
    if dialog.restart_on_open:
        facts.append("opening it again starts over")
    out = [f"# Dialog `{dialog.id}`", ""]
    if header:
        out += [" ".join(header), ""]
    out += [
        f"`{dialog.source}` · " + " · ".join(facts),
        "",
        "*The words are rendered for a sample person answering sample answers on a first "
        "pass; ‹name› stands for a value that only exists at run time.*",
    ]
    seen = sample.walk(dialog)
    for sid in order(dialog):
        out += ["", _step(dialog, dialog.steps[sid], seen[sid], sample, notes.get(sid, []))]
    return "\n".join(out) + "\n"
