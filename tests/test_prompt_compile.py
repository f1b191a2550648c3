"""prompts.Catalog compiles each template and label at most once, and keeps it (issue 15)."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jinja2
import pytest

from prompts import Catalog

TEMPLATES = 450  # more than Jinja's default cache of 400, which a locale (403) outgrows


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    root = tmp_path / "prompts"
    (root / "en" / "many").mkdir(parents=True)
    (root / "en" / "buttons.yaml").write_text("hello: 'Hi {{ name }}'\n", "utf-8")
    (root / "en" / "_shared.j2").write_text("shared {{ n }}", "utf-8")
    for n in range(TEMPLATES):
        text = f"<b>t{n}</b> {{% include '_shared.j2' %}}"
        (root / "en" / "many" / f"t{n}.j2").write_text(text, "utf-8")
    return Catalog(root)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often each template's source is read (a read precedes every compile)."""
    counts: Counter[str] = Counter()
    original = jinja2.FileSystemLoader.get_source

    def counted(self: jinja2.FileSystemLoader, env: jinja2.Environment, name: str) -> Any:
        counts[name] += 1
        return original(self, env, name)

    monkeypatch.setattr(jinja2.FileSystemLoader, "get_source", counted)
    return counts


def test_each_template_is_compiled_once_whatever_the_threads(
    catalog: Catalog, reads: Counter[str]
) -> None:
    names = [f"many/t{n}" for n in range(TEMPLATES)]

    def render(name: str) -> str:
        return catalog.render("en", name, {"n": 1})

    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):  # all of them, three times over: nothing evicted, nothing redone
            rendered = list(pool.map(render, names * 2))
    assert rendered[0] == "<b>t0</b> shared 1"
    assert len(reads) == TEMPLATES + 1
    assert set(reads.values()) == {1}, reads.most_common(3)


def test_a_changed_file_is_not_read_again(catalog: Catalog, reads: Counter[str]) -> None:
    assert catalog.render("en", "many/t1", {"n": 2}) == "<b>t1</b> shared 2"
    (catalog.root / "en" / "many" / "t1.j2").write_text("changed", "utf-8")
    assert catalog.render("en", "many/t1", {"n": 2}) == "<b>t1</b> shared 2"
    assert reads["many/t1.j2"] == 1


def test_labels_compile_once_across_threads(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled: Counter[str] = Counter()
    original = jinja2.Environment.from_string

    def counted(self: jinja2.Environment, source: str, *args: Any, **kwargs: Any) -> Any:
        compiled[source] += 1
        return original(self, source, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "from_string", counted)
    with ThreadPoolExecutor(max_workers=8) as pool:
        labels = list(pool.map(lambda n: catalog.label("en", "hello", {"name": n}), range(200)))
    assert labels[3] == "Hi 3"
    assert compiled == Counter({"Hi {{ name }}": 1})
