"""The bot as a separate process (``python -m bot run``), so a test can SIGKILL and restart it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_TOKEN

ROOT = Path(__file__).resolve().parents[1]


def base_config(base_url: str) -> str:
    """A bot process's configuration against the emulator at ``base_url``: the database and
    a clear key beside it in the working directory, and limits out of the way."""
    return (
        f'[telegram]\nbase_url = "{base_url}"\n'
        '[paths]\ndatabase = "clgbt.sqlite3"\nkey_file = "master.key"\n'
        "[storage]\nallow_clear_key_beside_database = true\n"
        "[sending]\noverall_per_second = 1000\ngroup_per_minute = 6000\n"
        "private_per_second = 1000\nprivate_burst = 1000\n"
    )


class BotProcess:
    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {"PATH": os.environ.get("PATH", "/usr/bin"), "TELEGRAM_BOT_TOKEN": TEST_TOKEN}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", "--config", str(self.config)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    async def terminate(self, within: float = 30.0) -> int | None:
        """SIGTERM, then wait for the exit without blocking the event loop (the emulator runs
        in it, and the bot finishes its work against the emulator before exiting)."""
        if self.process is None:
            return None
        self.process.send_signal(signal.SIGTERM)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while self.process.poll() is None:
            if loop.time() > deadline:
                raise TimeoutError("the bot did not stop after SIGTERM")
            await asyncio.sleep(0.05)
        return self.process.returncode
