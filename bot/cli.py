"""The ``clgbt`` command.

Exit codes: 0 success; 1 the command ran and found problems (``validate``) or failed at run
time; 2 a configuration or usage problem, reported in one line without a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot import __version__
from bot.config import DEFAULT_CONFIG_NAME, TOKEN_ENV, ConfigError, Settings, load_settings
from bot.logs import configure_logging

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_CONFIG = 2

Command = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """A problem with how the command was called; printed as one line, exit status 2."""


def _settings(args: argparse.Namespace, *, required: bool) -> Settings:
    path: Path | None = args.config
    if path is None:
        default = Path(DEFAULT_CONFIG_NAME)
        if default.exists():
            path = default
        elif required:
            raise ConfigError(
                DEFAULT_CONFIG_NAME,
                "(file)",
                "not found; copy "
                "config.example.toml to config.toml and edit it, or pass "
                "--config PATH",
            )
        else:
            return Settings()
    return load_settings(path, os.environ)


def cmd_version(args: argparse.Namespace) -> int:
    print(f"clgbt {__version__}")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from bot.validation import validate_all  # noqa: PLC0415 - loads every content module

    if args.config is not None:
        _settings(args, required=True)
    problems = validate_all()
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) found.")
        return EXIT_PROBLEMS
    print("All flows, strings and articles are valid in every language.")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from bot.runner import run_sandbox, run_telegram  # noqa: PLC0415 - heavy imports

    try:
        settings = _settings(args, required=not args.or_sandbox)
    except ConfigError as exc:
        if not args.or_sandbox or exc.key != "(file)":
            raise
        settings = Settings()
    if settings.telegram.token is None:
        if args.or_sandbox:
            print(
                f"No bot token is configured ({TOKEN_ENV} is not set), so the sandbox "
                "starts instead."
            )
            configure_logging("WARNING")
            asyncio.run(run_sandbox(settings))
            return EXIT_OK
        raise ConfigError(
            settings.source,
            TOKEN_ENV,
            "no bot token: set the environment "
            f"variable {TOKEN_ENV} or telegram.token_file (or try 'clgbt "
            "sandbox' to use the bot without Telegram)",
        )
    configure_logging(settings.logging.level)
    run_telegram(settings, settings.telegram.token.reveal())
    return EXIT_OK


def cmd_sandbox(args: argparse.Namespace) -> int:
    from bot.runner import run_sandbox  # noqa: PLC0415 - heavy imports

    settings = _settings(args, required=False)
    configure_logging("WARNING")
    asyncio.run(run_sandbox(settings, port=args.port, terminal=not args.no_terminal))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clgbt",
        description="Anonymous legal-counselling Telegram bot for LGBT+ people in Cambodia.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, handler: Command, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    def with_config(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--config",
            type=Path,
            default=None,
            metavar="PATH",
            help=f"configuration file (default: ./{DEFAULT_CONFIG_NAME})",
        )

    run = add(
        "run",
        cmd_run,
        "Serve Telegram with the configured bot token (polling, or webhook if configured).",
    )
    with_config(run)
    run.add_argument(
        "--or-sandbox",
        action="store_true",
        help="start the sandbox instead when no token or configuration is found",
    )

    sandbox = add(
        "sandbox",
        cmd_sandbox,
        "Start the Bot API emulator, the bot against it, and "
        "a terminal chat in which you are a community member.",
    )
    with_config(sandbox)
    sandbox.add_argument(
        "--port", type=int, default=0, help="emulator port on 127.0.0.1 (default: any free port)"
    )
    sandbox.add_argument(
        "--no-terminal",
        action="store_true",
        help="serve the emulator without the terminal chat (for other clients)",
    )

    validate = add(
        "validate",
        cmd_validate,
        "Check every flow, string and article in both "
        "languages (and the configuration, with --config); non-zero exit on any "
        "problem.",
    )
    validate.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="PATH",
        help="also check this configuration file",
    )

    add("version", cmd_version, "Print the version.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Command = args.handler
    try:
        return handler(args)
    except ConfigError as exc:
        print(f"clgbt: configuration problem: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except UsageError as exc:
        print(f"clgbt: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        print("\nStopped.", file=sys.stderr)
        return EXIT_OK


def documented_commands(parser: argparse.ArgumentParser | None = None) -> list[str]:
    """Every command path (``keys rotate``), for the test that the README documents them."""
    parser = parser or build_parser()
    found: list[str] = []

    def walk(current: argparse.ArgumentParser, prefix: list[str]) -> None:
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found.append(" ".join([*prefix, name]))
                    walk(sub, [*prefix, name])

    walk(parser, [])
    return found
