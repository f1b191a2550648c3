"""Every user-facing sentence, as Jinja2 templates per locale.

Messages live in ``prompts/<locale>/<dialog>/<name>.j2`` and are rendered with
autoescape on, because replies use Telegram's HTML parse mode: whatever a person
typed reaches a template only as a variable, so it is escaped, never evaluated.
Button labels live in YAML files beside them (``prompts/<locale>/buttons.yaml`` and
``prompts/<locale>/<dialog>/buttons.yaml``, merged); Telegram shows labels as plain
text, so they are rendered without HTML escaping.

Numbers and dates a template shows go through two filters written in each locale's own
words (the ``format.*`` labels, see `LocaleFilters`): ``{{ average | number }}`` ("3.4",
"3,4") and ``{{ entry.date | date }}`` ("23 Nov 2026", "23 nov 2026"). Never strftime:
the process's C locale would name English months in every language.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, MutableMapping
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

PROMPTS_DIR = Path(__file__).parent
DEFAULT_LOCALE = "en"
# libyaml's safe loader where PyYAML was built with it: the same documents, read ~5x faster
# (every locale's labels are read at start, for the command menu: ~80 ms in pure Python).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CompileOnce(FileSystemLoader):
    """A FileSystemLoader that reads and compiles each template at most once per process,
    however many threads ask at the same moment (turns render in worker threads), and
    keeps it. Jinja's own cache would do it only with no race and no eviction: its LRU
    holds 400 templates, fewer than one locale has (403 in prompts/en)."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self._lock = threading.Lock()
        self._compiled: dict[str, Template] = {}

    def load(
        self,
        environment: Environment,
        name: str,
        globals: MutableMapping[str, Any] | None = None,
    ) -> Template:
        """Template `name`, compiled on the first call only. Raises TemplateNotFound."""
        with self._lock:
            template = self._compiled.get(name)
            if template is None:
                template = super().load(environment, name, globals)
                self._compiled[name] = template
            elif globals:
                template.globals.update(globals)  # as Jinja does for a cached template
        return template


class Catalog:
    """The templates and labels under `root`, one locale per folder that has a buttons.yaml.

    A locale it doesn't have reads as DEFAULT_LOCALE ("en"). Environments, labels and
    label templates are built on first use and kept, each template compiled at most once,
    so one Catalog serves the process (`default_catalog`); files changed after that are not
    seen (no auto_reload: checking each file's time on every render cost ~0.2 ms a turn,
    issue 15).
    """

    def __init__(self, root: Path = PROMPTS_DIR) -> None:
        self.root = root
        self._html: dict[str, Environment] = {}
        self._plain: dict[str, Environment] = {}
        # A str where the label has nothing to render (see `label`).
        self._label_templates: dict[tuple[str, str], Template | str] = {}
        self._lock = threading.Lock()  # environments and label templates: made once

    @cached_property
    def locales(self) -> list[str]:
        """The locale folders under root that have a buttons.yaml, sorted (e.g. ["en"])."""
        return sorted(p.name for p in self.root.iterdir() if (p / "buttons.yaml").is_file())

    def _env(self, locale: str) -> Environment:
        env = self._html.get(locale)
        if env is None:
            with self._lock:
                env = self._html.get(locale)
                if env is None:
                    env = Environment(
                        loader=_CompileOnce(self.root / locale),
                        autoescape=True,
                        undefined=StrictUndefined,
                        lstrip_blocks=True,
                        auto_reload=False,
                        cache_size=-1,  # never evicts (the loader keeps them anyway)
                    )
                    env.filters.update(self.filters(locale))
                    self._html[locale] = env
        return env

    def _plain_env(self, locale: str) -> Environment:
        env = self._plain.get(locale)
        if env is None:
            with self._lock:
                env = self._plain.get(locale)
                if env is None:
                    env = Environment(
                        autoescape=False, undefined=StrictUndefined, auto_reload=False
                    )
                    env.filters.update(self.filters(locale))
                    self._plain[locale] = env
        return env

    def filters(self, locale: str) -> dict[str, Callable[..., str]]:
        """The filters every template and label of `locale` may use: `number` and `date`
        (LocaleFilters), in that locale's words."""
        words = LocaleFilters(self, self._locale(locale))
        return {"number": words.number, "date": words.date}

    def _locale(self, locale: str) -> str:
        return locale if locale in self.locales else DEFAULT_LOCALE

    @cached_property
    def _labels(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for locale in self.locales:
            merged: dict[str, str] = {}
            for path in sorted((self.root / locale).rglob("buttons.yaml")):
                data = yaml.load(path.read_text("utf-8"), Loader=_YAML_LOADER) or {}
                for key, value in data.items():
                    if str(key) in merged:
                        raise ValueError(f"{path}: label '{key}' is defined twice")
                    merged[str(key)] = str(value)
            out[locale] = merged
        return out

    def locale_for(self, language: str | None) -> str:
        """The locale for an IETF language tag as an app reports it (Telegram's
        `from.language_code`, the terminal's --lang): its language part when a folder of
        that name exists ("es", "es-419", "es-MX", "ES_es" -> "es"), else DEFAULT_LOCALE
        (also for None or "")."""
        primary = (language or "").strip().replace("_", "-").split("-", 1)[0].lower()
        return primary if primary in self.locales else DEFAULT_LOCALE

    def has_template(self, locale: str, name: str) -> bool:
        """Whether <root>/<locale>/<name>.j2 exists in exactly this locale (no fallback to
        DEFAULT_LOCALE): for checks that every locale has every template."""
        return (self.root / locale / f"{name}.j2").is_file()

    def has_label(self, locale: str, key: str) -> bool:
        """Whether label `key` exists in exactly this locale (no fallback). Raises ValueError
        when a label is defined twice in the locale's buttons.yaml files."""
        return key in self._labels.get(locale, {})

    def render(self, locale: str, name: str, ctx: Mapping[str, Any] | None = None) -> str:
        """Template `name` ("onboarding/welcome": <locale>/onboarding/welcome.j2) rendered
        with `ctx` as Telegram HTML, every value escaped, outer whitespace stripped.

        Raises jinja2.TemplateNotFound for a missing template and jinja2.UndefinedError
        for a variable `ctx` lacks (StrictUndefined: a gap is never shown as blank).
        """
        template = self._env(self._locale(locale)).get_template(f"{name}.j2")
        return template.render(**(ctx or {})).strip()

    def label(self, locale: str, key: str, ctx: Mapping[str, Any] | None = None) -> str:
        """Button label `key` rendered with `ctx` as plain text (not escaped: Telegram shows
        labels as typed), outer whitespace stripped. Raises KeyError for an unknown key,
        jinja2.UndefinedError for a variable `ctx` lacks, ValueError for a key defined
        twice in the locale's buttons.yaml files."""
        loc = self._locale(locale)
        template = self._label_templates.get((loc, key))
        if template is None:
            env, source = self._plain_env(loc), self._labels[loc][key]
            with self._lock:  # compiled once, even when two threads ask together
                template = self._label_templates.get((loc, key))
                if template is None:
                    # Most labels are plain words: without "{" there is nothing for Jinja
                    # to do (no line statements in this environment), and rendering one
                    # still cost ~20 us, four times a turn (issue 15).
                    template = source.strip() if "{" not in source else env.from_string(source)
                    self._label_templates[(loc, key)] = template
        if isinstance(template, str):
            return template
        return template.render(**(ctx or {})).strip()


class LocaleFilters:
    """`number` and `date` for one locale, from its `format.*` labels (top buttons.yaml):

    - format.decimal: the decimal mark ("." or ",");
    - format.weekdays, format.months, format.months_short: seven and twelve names,
      separated by spaces, Monday and January first;
    - format.date.<style>: how a date reads, a label template with `day`, `weekday`,
      `month`, `mon` (short), `year` and `time` ("HH:MM", "" for a date alone).
    """

    def __init__(self, catalog: Catalog, locale: str) -> None:
        self.catalog = catalog
        self.locale = locale

    def _names(self, key: str) -> list[str]:
        return self.catalog.label(self.locale, key).split()

    def number(self, value: float | int, places: int = 1) -> str:
        """A number as this locale writes it: whole numbers as they are ("3"), others with
        `places` decimals and the locale's mark ("3.4", "3,4"). Raises TypeError for
        something that is not a number."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"number: not a number: {type(value).__name__}")
        if isinstance(value, int):
            return str(value)
        text = f"{value:.{places}f}"
        return text.replace(".", self.catalog.label(self.locale, "format.decimal"))

    def date(self, value: date | str | None, style: str = "short") -> str:
        """A day (a date, a datetime with its time, or an ISO text as records keep them:
        "2026-11-23") in the words of label format.date.<style>; "" for None or "".
        Raises ValueError for a text that is no ISO date and KeyError for an unknown style."""
        if value is None or value == "":
            return ""
        if not isinstance(value, str | date):
            raise TypeError(f"date: not a day: {type(value).__name__}")
        if isinstance(value, str):
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        ctx = {
            "day": value.day,
            "weekday": self._names("format.weekdays")[value.weekday()],
            "month": self._names("format.months")[value.month - 1],
            "mon": self._names("format.months_short")[value.month - 1],
            "year": value.year,
            "time": value.strftime("%H:%M") if isinstance(value, datetime) else "",
        }
        return self.catalog.label(self.locale, f"format.date.{style}", ctx)


_default: Catalog | None = None


def default_catalog() -> Catalog:
    """The Catalog of the shipped prompts/ folder, built on first call and shared."""
    global _default
    if _default is None:
        _default = Catalog()
    return _default
