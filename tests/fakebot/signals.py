"""Wake asyncio waiters from any thread, keyed so that 200 chats don't wake each other."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Hashable


class Signals:
    """Per-key wakeups for coroutines on any event loop, safe to fire from any thread.

    The loopback server answers requests on worker threads while drivers wait on the test's
    event loop, so a plain asyncio.Event.set() from the worker would be a data race; we hop
    onto the waiter's loop with call_soon_threadsafe instead.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[Hashable, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

    def fire(self, key: Hashable) -> None:
        with self._lock:
            waiters = list(self._waiters.get(key, ()))
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for loop, event in waiters:
            if loop is running:
                event.set()
            else:
                # The loop may already be closed (test finished); nothing to wake then.
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(event.set)

    async def wait_until(
        self, key: Hashable, predicate: Callable[[], bool], timeout: float | None
    ) -> bool:
        """Wait until predicate() is true (re-checked after each fire(key)); False on timeout."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        entry = (loop, event)
        # Register before the first check so a fire() between check and wait is not lost.
        with self._lock:
            self._waiters.setdefault(key, set()).add(entry)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while not predicate():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                try:
                    await asyncio.wait_for(event.wait(), remaining)
                except TimeoutError:
                    return predicate()
                event.clear()
            return True
        finally:
            with self._lock:
                bucket = self._waiters.get(key)
                if bucket is not None:
                    bucket.discard(entry)
                    if not bucket:
                        del self._waiters[key]
