"""Start the real `bridges run` command as a subprocess, configured only by environment."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.fakebot import FAKE_TOKEN


async def start_bridges_run(
    tmp_path: Path, api_base_url: str, *args: str, **env: str
) -> asyncio.subprocess.Process:
    """`bridges run ARGS` against a fake Bot API, with an SQLite file in tmp_path."""
    full_env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": FAKE_TOKEN,
        "TELEGRAM_API_BASE_URL": api_base_url,
        "DATABASE_URL": f"sqlite:///{tmp_path}/run.db",
        **env,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", *args,
        env=full_env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
