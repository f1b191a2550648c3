"""A button label with nothing for Jinja to render is kept as its text (prompts/__init__.py
`Catalog.label`): it must read exactly as Jinja would have rendered it, in every locale."""

from __future__ import annotations

from jinja2 import Environment, StrictUndefined

from prompts import Catalog


def test_every_plain_label_reads_as_jinja_renders_it() -> None:
    catalog = Catalog()
    jinja = Environment(autoescape=False, undefined=StrictUndefined)
    plain = 0
    for locale, labels in catalog._labels.items():
        for key, source in labels.items():
            if "{" in source:
                continue
            plain += 1
            assert catalog.label(locale, key) == jinja.from_string(source).render().strip(), key
            assert catalog.label(locale, key, {"unused": 1}) == catalog.label(locale, key)
    assert plain > 100  # most labels are plain words: the shortcut is what they take


def test_a_label_with_a_variable_is_still_rendered() -> None:
    catalog = Catalog()
    assert catalog.label("en", "common.checked", {"label": "Tea"}) != catalog.label(
        "en", "common.checked", {"label": "Walks"}
    )
