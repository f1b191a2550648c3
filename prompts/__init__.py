"""Every user-facing sentence, as Jinja2 templates per locale.

Messages live in ``prompts/<locale>/<dialog>/<name>.j2`` and are rendered with
autoescape on, because replies use Telegram's HTML parse mode: whatever a person
typed reaches a template only as a variable, so it is escaped, never evaluated.
Button labels live in YAML files beside them (``prompts/<locale>/buttons.yaml`` and
``prompts/<locale>/<dialog>/buttons.yaml``, merged); Telegram shows labels as plain
text, so they are rendered without HTML escaping.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

PROMPTS_DIR = Path(__file__).parent
DEFAULT_LOCALE = "en"


class Catalog:
    """The templates and labels under `root`, one locale per folder that has a buttons.yaml.

    A locale it doesn't have reads as DEFAULT_LOCALE ("en"). Environments, labels and
    label templates are built on first use and kept, so one Catalog serves the process
    (`default_catalog`); files changed after that are not seen.
    """

    def __init__(self, root: Path = PROMPTS_DIR) -> None:
        self.root = root
        self._html: dict[str, Environment] = {}
        self._label_templates: dict[tuple[str, str], Template] = {}
        self._plain = Environment(autoescape=False, undefined=StrictUndefined)

    @cached_property
    def locales(self) -> list[str]:
        """The locale folders under root that have a buttons.yaml, sorted (e.g. ["en"])."""
        return sorted(p.name for p in self.root.iterdir() if (p / "buttons.yaml").is_file())

    def _env(self, locale: str) -> Environment:
        env = self._html.get(locale)
        if env is None:
            env = Environment(
                loader=FileSystemLoader(self.root / locale),
                autoescape=True,
                undefined=StrictUndefined,
                lstrip_blocks=True,
            )
            self._html[locale] = env
        return env

    def _locale(self, locale: str) -> str:
        return locale if locale in self.locales else DEFAULT_LOCALE

    @cached_property
    def _labels(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for locale in self.locales:
            merged: dict[str, str] = {}
            for path in sorted((self.root / locale).rglob("buttons.yaml")):
                data = yaml.safe_load(path.read_text("utf-8")) or {}
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
            template = self._plain.from_string(self._labels[loc][key])
            self._label_templates[(loc, key)] = template
        return template.render(**(ctx or {})).strip()


_default: Catalog | None = None


def default_catalog() -> Catalog:
    """The Catalog of the shipped prompts/ folder, built on first call and shared."""
    global _default
    if _default is None:
        _default = Catalog()
    return _default
