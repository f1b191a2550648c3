"""bot/memory.py: glibc's malloc held to one arena in `bridges run` (issue 15)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import memory

ROOT = Path(__file__).resolve().parent.parent


def _glibc() -> bool:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (ValueError, OSError):
        return False


# Four threads allocate blocks malloc serves (over pymalloc's 512 bytes) and hold them until
# all have, then glibc's malloc_stats() prints one "Arena N:" block per arena on stderr.
THREADS = """
import sys, threading, ctypes
from bot import memory
print(memory.limit_malloc_arenas() if sys.argv[1] == "limit" else None)
held, ready = [], threading.Barrier(5)
def allocate():
    held.append([bytearray(4000) for _ in range(200)])
    ready.wait()
workers = [threading.Thread(target=allocate) for _ in range(4)]
for worker in workers:
    worker.start()
allocate()
for worker in workers:
    worker.join()
ctypes.CDLL(None).malloc_stats()
"""


def _arenas(mode: str) -> tuple[str, int]:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run(
        [sys.executable, "-c", THREADS, mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=ROOT,
        env=env,
    )
    arenas = sum(line.startswith("Arena ") for line in done.stderr.splitlines())
    return done.stdout.strip(), arenas


@pytest.mark.skipif(not _glibc(), reason="glibc's malloc arenas")
def test_threads_share_one_arena_once_limited() -> None:
    said, arenas = _arenas("limit")
    assert said == "True"
    assert arenas == 1
    said, arenas = _arenas("free")
    assert said == "None"
    assert arenas > 1, "without the limit each thread takes an arena of its own"


def test_an_operators_malloc_arena_max_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert memory.limit_malloc_arenas() is False


@pytest.mark.parametrize("answer", [ValueError("unrecognized configuration name"), None, "musl"])
def test_nothing_is_done_without_glibc(
    monkeypatch: pytest.MonkeyPatch, answer: Exception | str | None
) -> None:
    def confstr(name: str) -> str | None:
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    monkeypatch.setattr(memory.os, "confstr", confstr)
    assert memory.limit_malloc_arenas() is False
