"""Process-wide memory settings for `bridges run` (issue 15)."""

from __future__ import annotations

import os

# mallopt's parameter for the most arenas glibc's malloc may create (malloc.h: M_ARENA_MAX).
M_ARENA_MAX = -8
ARENAS = 1


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Let glibc's malloc use at most `arenas` arenas in this process; True if it took.

    glibc gives each thread that allocates an arena of its own (up to 8 per core), and memory
    freed in one is never reused by another. The bot allocates on its event loop, its
    database threads (on PostgreSQL three turn threads and an urgent one) and a warm-up
    thread: with one arena, bench/turns.py's peak RSS on PostgreSQL was ~1.1 MB lower (two
    arenas: ~0.6 MB), the same on SQLite, with no change in CPU per turn. Python allocates
    almost always under the GIL, so threads seldom wait for the shared arena's lock.

    Call it before any other thread starts (`import_for_run` does): the limit only applies
    to arenas made afterwards. MALLOC_ARENA_MAX in the environment would do the same, but
    only if set before the process starts, which a `bridges run` on any server can't rely
    on; when it is set, it is left as the operator chose. Elsewhere than glibc (musl, macOS)
    this does nothing and returns False: their malloc has no such arenas, and mallopt is
    absent or ignores M_ARENA_MAX. Only glibc answers confstr's CS_GNU_LIBC_VERSION.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):  # a name this platform does not know
        return False
    if not libc.startswith("glibc"):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, arenas))
