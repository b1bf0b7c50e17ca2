"""A bot under measurement in its own process, so that its CPU time and memory are its own.

``python -m bench.botproc clgbt|echo --base-url URL --directory DIR [--production-flood]``
starts the bot against the emulator at ``URL``, prints ``ready`` once it polls, and stops on
SIGTERM. :class:`BotProcess` starts it from the benchmark and reads its CPU time and resident
memory from ``/proc`` (Linux) while it runs.

- ``clgbt`` is the real application (``bot.runner``): sending limits raised so that only the
  software is measured, and the flood limits raised too unless ``--production-flood``.
- ``echo`` is the floor: a bare python-telegram-bot application with one
  ``MessageHandler`` (one ``sendMessage``) and one ``CallbackQueryHandler`` (one
  ``answerCallbackQuery``), polling with PTB's own updater, updates handled concurrently.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import signal
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.app import build_application
from bot.config import (
    LoggingSettings,
    PathSettings,
    SafetySettings,
    SendingSettings,
    Settings,
    StorageSettings,
)
from bot.logs import configure_logging
from bot.runner import open_services, start_polling, stop_application, wait_for_stop_signal
from storage.keyring import create_key_file

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456789:BENCH-token-for-the-sandbox-emulator_x"
READY = "ready"


def _profile_on_signals(path: Path) -> None:
    """SIGUSR1 starts profiling this (main) thread, SIGUSR2 stops it and writes ``path``."""
    profiler = cProfile.Profile()
    loop = asyncio.get_running_loop()

    def stop() -> None:
        profiler.disable()
        profiler.dump_stats(path)

    loop.add_signal_handler(signal.SIGUSR1, profiler.enable)
    loop.add_signal_handler(signal.SIGUSR2, stop)


async def _run_clgbt(
    base_url: str, directory: Path, production_flood: bool, profile: Path | None
) -> None:
    sending = SendingSettings(
        overall_per_second=100_000,
        group_per_minute=600_000,
        private_per_second=100_000,
        private_burst=100_000,
        give_up_after_seconds=120,
    )
    safety = (
        SafetySettings()
        if production_flood
        else SafetySettings(messages_per_window=1_000_000, window_seconds=60, backlog=1_000_000)
    )
    settings = replace(
        Settings(),
        sending=sending,
        safety=safety,
        paths=PathSettings(
            database=directory / "clgbt.sqlite3", key_file=directory / "master.key"
        ),
        # A throw-away key beside its throw-away database, as in the sandbox.
        storage=StorageSettings(allow_clear_key_beside_database=True),
        logging=LoggingSettings(),
    )
    configure_logging(settings.logging.level)  # production level, to stderr (a file)
    create_key_file(settings.paths.key_file)
    services = await open_services(settings, {})
    application = build_application(services, token=TOKEN, base_url=base_url)
    await start_polling(application)
    if profile is not None:
        _profile_on_signals(profile)
    print(READY, flush=True)
    try:
        await wait_for_stop_signal()
    finally:
        await stop_application(application)
        await services.store.close()


async def _run_echo(base_url: str) -> None:
    async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is not None:
            await context.bot.send_message(chat.id, "echo")

    async def on_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query is not None:
            await update.callback_query.answer()

    application: Application = (  # type: ignore[type-arg]
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(base_url)
        .connection_pool_size(16)
        .concurrent_updates(True)
        .build()
    )
    application.add_handler(MessageHandler(filters.ALL, on_message))
    application.add_handler(CallbackQueryHandler(on_callback))
    await application.initialize()
    await application.start()
    updater = application.updater
    if updater is None:  # pragma: no cover - the builder always makes one
        raise RuntimeError("no updater")
    await updater.start_polling(poll_interval=0.0, timeout=10)
    print(READY, flush=True)
    try:
        await wait_for_stop_signal()
    finally:
        await updater.stop()
        await application.stop()
        await application.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=("clgbt", "echo"))
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--directory", type=Path, required=True)
    parser.add_argument("--production-flood", action="store_true")
    parser.add_argument("--profile", type=Path, help="profile between SIGUSR1 and SIGUSR2")
    args = parser.parse_args()
    if args.kind == "clgbt":
        asyncio.run(_run_clgbt(args.base_url, args.directory, args.production_flood, args.profile))
    else:
        asyncio.run(_run_echo(args.base_url))


# ---------------------------------------------------------------- the parent's side

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Usage:
    cpu_seconds: float
    rss_bytes: int


class BotProcess:
    """One bot under measurement, started and stopped from the emulator's event loop."""

    def __init__(
        self,
        kind: str,
        base_url: str,
        directory: Path,
        *,
        production_flood: bool,
        profile: Path | None = None,
    ):
        self.kind = kind
        self.base_url = base_url
        self.directory = directory
        self.production_flood = production_flood
        self.profile = profile
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, within: float = 60.0) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "bench.botproc",
            self.kind,
            "--base-url",
            self.base_url,
            "--directory",
            str(self.directory),
        ]
        if self.production_flood:
            command.append("--production-flood")
        if self.profile is not None:
            command += ["--profile", str(self.profile)]
        with (self.directory / "bot.log").open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *command,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                cwd=ROOT,
            )
        stdout = self.process.stdout
        if stdout is None:  # pragma: no cover - asked for a pipe
            raise RuntimeError("no stdout")
        line = await asyncio.wait_for(stdout.readline(), within)
        if line.decode().strip() != READY:
            await self.stop()
            log_text = (self.directory / "bot.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the {self.kind} bot did not start:\n{log_text}")

    def usage(self) -> Usage:
        """CPU time (user + system, all threads) and resident memory, read from ``/proc``."""
        if self.process is None:
            raise RuntimeError("not started")
        pid = self.process.pid
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
        rss = 0
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
        return Usage(cpu, rss)

    def signal(self, number: signal.Signals) -> None:
        if self.process is not None:
            self.process.send_signal(number)

    async def stop(self, within: float = 30.0) -> None:
        process = self.process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), within)
        except TimeoutError:
            process.kill()
            await process.wait()


if __name__ == "__main__":
    main()
