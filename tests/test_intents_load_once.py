"""The intents compile once per process, however many threads need them first."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from dialogs import intents


def test_threads_needing_the_intents_at_once_compile_them_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    builds: list[str] = []
    build = intents.build

    def slow_build(*args: Any, **kwargs: Any) -> Any:
        builds.append(threading.current_thread().name)
        time.sleep(0.05)  # long enough for the other threads to arrive meanwhile
        return build(*args, **kwargs)

    monkeypatch.setattr(intents, "build", slow_build)
    intents._load.cache_clear()
    intents._for_language.cache_clear()
    try:
        found: list[object] = []
        threads = [
            threading.Thread(target=lambda: found.append(intents.for_locale("en")))
            for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert len(found) == 4 and all(one is found[0] for one in found)
        assert len(builds) == 1, builds
    finally:
        intents._load.cache_clear()
        intents._for_language.cache_clear()
