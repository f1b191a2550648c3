"""dialogs/places_cache.py: the city index read from its file answers as the one in memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dialogs import places, places_cache
from dialogs.places import _Index

SAMPLE_EVERY = 17  # names compared one by one: every 17th of ~108k, plus the curated ones


@pytest.fixture(scope="module")
def memory_index() -> _Index:
    return places._build_index()


@pytest.fixture(scope="module")
def disk_index(memory_index: _Index, tmp_path_factory: pytest.TempPathFactory) -> _Index:
    path = tmp_path_factory.mktemp("places") / "places-test.idx"
    places_cache.write(memory_index, path)
    return places_cache.open_index(path)


@pytest.fixture
def using() -> Iterator[Callable[[_Index], None]]:
    """Swap the index resolve_zone reads, and put the module's own back afterwards."""
    before = places._index

    def use(index: _Index) -> None:
        places._index = index

    yield use
    places._index = before


def sample_names(index: _Index) -> list[str]:
    names = sorted(index.cities)[::SAMPLE_EVERY]
    # Names with other cities (Portland, Paris, Springfield...) are where the order matters.
    names += sorted(index.others)[::3]
    names += ["berlin", "portland", "springfield", "sao paulo", "москва", "東京", "kyiv"]
    return names


def test_the_file_gives_the_same_cities_for_each_name(
    memory_index: _Index, disk_index: _Index
) -> None:
    names = sample_names(memory_index)
    assert len(names) > 6000
    for name in names:
        assert disk_index.cities.get(name) == memory_index.cities.get(name), name
        assert disk_index.others.get(name) == memory_index.others.get(name), name
    assert len(disk_index.cities) == len(memory_index.cities)
    assert set(disk_index.others) == set(memory_index.others)
    for missing in ("", "zzqx", "berlin ", "a" * 300):
        assert disk_index.cities.get(missing) is None
        assert missing not in disk_index.cities
        assert disk_index.others.get(missing, ()) == ()


def test_the_small_tables_come_back_whole(memory_index: _Index, disk_index: _Index) -> None:
    for table in ("nicknames", "named_regions", "regions", "codes", "abbreviations"):
        assert getattr(disk_index, table) == getattr(memory_index, table), table
        assert getattr(disk_index, table), f"{table} is empty: nothing compared"


def typed_texts(index: _Index) -> list[str]:
    """What people type: city names as labelled, qualified, in sentences, misspelt."""
    texts = []
    for name in sorted(index.cities)[::97]:
        city = index.cities[name]
        own = city.label.split(",")[0]
        texts += [name, own, city.label, f"I live in {own}", f"{own.upper()} time"]
    texts += [
        "Portland, OR", "Portland, Maine", "Paris, Texas", "Springfield, Germany", "nyc",
        "I'm from Kyiv but live in Warsaw", "lisbon portugal", "Santa Cruz de la Sierra",
        "UTC+2", "CET", "Japan", "USA", "Georgia", "my cat is here", "vivo en Gijón",
    ]  # fmt: skip
    return texts


def test_resolve_zone_answers_the_same_from_the_file(
    memory_index: _Index, disk_index: _Index, using: Callable[[_Index], None]
) -> None:
    texts = typed_texts(memory_index)
    assert len(texts) > 5000
    use = using
    use(memory_index)
    from_memory = [places.resolve_zone(text, "es" if "vivo" in text else "en") for text in texts]
    use(disk_index)
    from_file = [places.resolve_zone(text, "es" if "vivo" in text else "en") for text in texts]
    assert from_file == from_memory
    assert sum(match is not None for match in from_file) > len(texts) // 2


def test_load_builds_the_file_in_a_child_and_reuses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRIDGES_CACHE_DIR", str(tmp_path))
    stale = tmp_path / "places-0000000000000000.idx"
    stale.write_bytes(b"an index for other inputs")

    def not_here() -> _Index:
        raise AssertionError("built in this process, not in a child")

    monkeypatch.setattr(places, "_build_index", not_here)
    index = places_cache.load()
    assert index is not None
    path = places_cache.cache_file()
    assert path is not None and path.is_file()
    assert not stale.exists(), "files for other inputs are removed"
    city = index.cities.get("berlin")
    assert city is not None and city.zone == "Europe/Berlin"
    built = path.stat().st_mtime_ns
    again = places_cache.load()
    assert again is not None and again.cities.get("berlin") == city
    assert path.stat().st_mtime_ns == built, "the second load reads the same file"


def test_without_a_writable_cache_folder_load_gives_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("BRIDGES_CACHE_DIR", str(blocker / "cache"))
    assert places_cache.load() is None  # places.py then builds the index in memory


def test_a_damaged_file_is_removed_and_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, memory_index: _Index
) -> None:
    monkeypatch.setenv("BRIDGES_CACHE_DIR", str(tmp_path))
    path = places_cache.cache_file()
    assert path is not None
    whole = places_cache.encode(memory_index)
    for damaged in (b"", b"BRPLACES", whole[:-1], b"XXPLACES" + whole[8:]):
        path.write_bytes(damaged)
        assert places_cache.load(build=False) is None
        assert not path.exists()
    path.write_bytes(whole)
    loaded = places_cache.load(build=False)
    assert loaded is not None and loaded.cities.get("tokyo") == memory_index.cities["tokyo"]


def test_the_key_changes_with_the_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    before = places_cache.cache_key()
    assert places_cache.cache_key() == before, "stable for the same inputs"
    monkeypatch.setattr(places_cache, "_tz_versions", lambda: ["# version 2099z"])
    assert places_cache.cache_key() != before
