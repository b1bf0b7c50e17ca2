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
from datetime import date
from pathlib import Path

from bot import __version__
from bot.config import DEFAULT_CONFIG_NAME, TOKEN_ENV, ConfigError, Settings, load_settings
from bot.logs import configure_logging
from knowledge.partners import PARTNERS_FILE
from storage.db import DatabaseError
from storage.fields import DecryptionError
from storage.keyring import KeyringError
from storage.private_files import OutputFileError
from storage.sealing import SealingError
from storage.writer_lock import DatabaseInUse

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_CONFIG = 2

Command = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """A problem with how the command was called; printed as one line, exit status 2."""


class TokenRejected(Exception):
    """Telegram refused the bot token (at start-up, or later while polling)."""


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
        from bot.config_check import check_config  # noqa: PLC0415 - only for --config
        from bot.content import load_content_with_problems  # noqa: PLC0415

        content, _ = load_content_with_problems()
        partner_ids = frozenset(p.id for p in content.partners)
        config_problems = check_config(args.config, os.environ, partner_ids)
        for config_problem in config_problems:
            print(f"{args.config}: {config_problem}")
        errors = [p for p in config_problems if not p.warning]
        warnings = len(config_problems) - len(errors)
        print(
            f"Configuration {args.config} checked: {len(errors)} error(s), {warnings} warning(s)."
        )
        if errors:
            return EXIT_PROBLEMS
    problems = validate_all()
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) found.")
        return EXIT_PROBLEMS
    print("All flows, strings and articles are valid in every language.")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from telegram.error import InvalidToken  # noqa: PLC0415 - heavy imports

    from bot.runner import serve_telegram  # noqa: PLC0415
    from bot.sandbox_run import run_sandbox  # noqa: PLC0415 - only for the sandbox

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
    try:
        asyncio.run(serve_telegram(settings, settings.telegram.token.reveal(), os.environ))
    except InvalidToken:
        raise TokenRejected from None
    return EXIT_OK


def cmd_sandbox(args: argparse.Namespace) -> int:
    from bot.sandbox_run import run_sandbox  # noqa: PLC0415 - only for the sandbox
    from sandbox.training import load_scenarios  # noqa: PLC0415 - only for this command

    settings = _settings(args, required=False)
    if args.scenario is not None and args.scenario not in (names := load_scenarios()):
        raise UsageError(f"no scenario {args.scenario!r}; there are {', '.join(names)}")
    configure_logging("WARNING")
    asyncio.run(
        run_sandbox(
            settings,
            port=args.port,
            terminal=not args.no_terminal,
            web=args.web,
            scenario=args.scenario,
            scenario_language=args.lang,
        )
    )
    return EXIT_OK


def cmd_keys(args: argparse.Namespace) -> int:
    from bot.storage_commands import run_keys  # noqa: PLC0415 - only for this command

    settings = _settings(args, required=False)
    print(run_keys(args, settings, os.environ))
    return EXIT_OK


def cmd_purge(args: argparse.Namespace) -> int:
    from bot.storage_commands import run_purge  # noqa: PLC0415 - only for this command

    print(run_purge(_settings(args, required=True), os.environ))
    return EXIT_OK


def cmd_backup(args: argparse.Namespace) -> int:
    from bot.storage_commands import run_backup  # noqa: PLC0415 - only for this command

    print(run_backup(_settings(args, required=False), args.destination))
    return EXIT_OK


def cmd_flow(args: argparse.Namespace) -> int:
    from bot.flow_cli import FlowRunner  # noqa: PLC0415 - only for this command

    try:
        runner = FlowRunner(args.file, args.lang)
    except (ValueError, OSError) as exc:
        raise UsageError(f"{args.file}: {exc}") from None
    runner.run()
    return EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    from bot.admin_commands import run_stats  # noqa: PLC0415 - only for this command

    print(run_stats(_settings(args, required=False), args.start, args.end, args.csv))
    return EXIT_OK


def cmd_review(args: argparse.Namespace) -> int:
    from bot.admin_commands import run_review  # noqa: PLC0415 - only for this command

    database = args.db or _settings(args, required=False).paths.database
    print(run_review(database, args.key, args.case, args.markdown, os.environ))
    return EXIT_OK


def cmd_partners(args: argparse.Namespace) -> int:
    from knowledge.partners import (  # noqa: PLC0415 - only for this command
        PartnerError,
        confirm_contact,
        confirmed_line,
        contact_lines,
        phnom_penh_today,
    )

    try:
        if args.partners_command == "list":
            for line in contact_lines(args.file):
                print(line)
            return EXIT_OK
        today = phnom_penh_today()
        on = today
        if args.on is not None:
            try:
                on = date.fromisoformat(args.on)
            except ValueError:
                raise UsageError(f"--on {args.on}: expected a day like 2026-12-02") from None
        contact = confirm_contact(args.partner, args.kind, args.by, on, args.file, today=today)
    except PartnerError as exc:
        raise UsageError(f"partners: {exc}") from None
    except OSError as exc:
        raise UsageError(f"partners: {args.file}: {exc.strerror or exc}") from None
    print(confirmed_line(args.partner, contact))
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
        "Start the Bot API emulator with a staff group, counsellors and a coordinator, the bot "
        "against it, and a terminal chat in which you are a community member (or, with --web, "
        "the training page).",
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
    sandbox.add_argument(
        "--web",
        action="store_true",
        help="serve the training page on 127.0.0.1 (the person's phone and the staff group "
        "side by side) instead of the terminal chat; its address is printed",
    )
    sandbox.add_argument(
        "--scenario",
        default=None,
        metavar="NAME",
        help="start a training scenario (a file name in sandbox/scenarios/ without .yaml): a "
        "simulated person writes, you counsel them, and a checklist shows what you did",
    )
    sandbox.add_argument(
        "--lang",
        choices=["km", "en"],
        default=None,
        help="the scenario person's language (default: the scenario's own)",
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

    keys = add("keys", cmd_keys, "Manage the master keyring and the coordinators' keypair.")
    keys_commands = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    init = keys_commands.add_parser(
        "init",
        help="write a new passphrase-protected master key file (mode 0600); never overwrites one",
        description="Write a new master key file (mode 0600), protected by a passphrase "
        "(asked twice, or read from CLGBT_KEY_PASSPHRASE); refuses to overwrite one.",
    )
    with_config(init)
    init.add_argument(
        "--key-file",
        type=Path,
        default=None,
        metavar="PATH",
        help="where to write it (default: paths.key_file)",
    )
    init.add_argument(
        "--clear",
        action="store_true",
        help="write the key in clear, to load it into a systemd credential and then delete it "
        "(see docs/clgbt.service)",
    )
    wrap = keys_commands.add_parser(
        "wrap",
        help="protect the key file with a passphrase, or change its passphrase",
        description="Replace the key file by the same keys protected with a new passphrase "
        "(asked twice, or read from CLGBT_KEY_PASSPHRASE for a clear file, "
        "CLGBT_NEW_KEY_PASSPHRASE when changing one). Refused while the bot runs.",
    )
    with_config(wrap)
    rotate = keys_commands.add_parser(
        "rotate",
        help="add a new primary key and re-encrypt every value (resumable)",
        description="Add a new primary key and re-encrypt every value under it. If a previous "
        "rotation was interrupted, finish it instead of adding another key.",
    )
    with_config(rotate)
    retire = keys_commands.add_parser(
        "retire",
        help="remove an old key that no value uses any more",
        description="Remove an old key from the key file once no value uses it.",
    )
    with_config(retire)
    retire.add_argument("key_id", type=int, metavar="ID")
    coordinator = keys_commands.add_parser(
        "coordinator-init",
        help="make the coordinators' keypair for sealed archives",
        description="Make the coordinators' keypair: the public key for the server's "
        "configuration, the private key to a passphrase-protected file (scrypt) that must "
        "never be stored on the server. The passphrase is asked twice (or read from "
        "CLGBT_COORDINATOR_PASSPHRASE).",
    )
    with_config(coordinator)
    coordinator.add_argument("--private-key", type=Path, required=True, metavar="PATH")
    coordinator.add_argument("--public-key", type=Path, required=True, metavar="PATH")

    purge = add(
        "purge",
        cmd_purge,
        "Apply the retention rules now (the bot also does this "
        "every night): delete idle conversations and old audit entries, seal closed "
        "cases for coordinators.",
    )
    with_config(purge)

    backup = add(
        "backup",
        cmd_backup,
        "Copy the database with SQLite's online backup API; the copy stays encrypted.",
    )
    with_config(backup)
    backup.add_argument("destination", type=Path, metavar="PATH")

    flow = add("flow", cmd_flow, "Work with flow definitions.")
    flow_commands = flow.add_subparsers(dest="flow_command", metavar="ACTION", required=True)
    flow_run = flow_commands.add_parser(
        "run",
        help="step through a flow in the terminal (nothing is stored)",
        description="Step through a flow in the terminal with the real engine and texts. "
        "Actions are shown, not carried out; nothing is stored.",
    )
    flow_run.add_argument("file", type=Path, metavar="FILE", help="a flow definition (YAML)")
    flow_run.add_argument("--lang", choices=["km", "en"], default="km")

    stats = add(
        "stats",
        cmd_stats,
        "Print the anonymous statistics table (small counts shown "
        "as <5), optionally for whole months, and optionally write it as CSV.",
    )
    with_config(stats)
    stats.add_argument("--from", dest="start", metavar="YYYY-MM", default=None)
    stats.add_argument("--to", dest="end", metavar="YYYY-MM", default=None)
    stats.add_argument(
        "--csv",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write the table as CSV to PATH",
    )

    review = add(
        "review",
        cmd_review,
        "On a coordinator's own machine: list and open sealed "
        "archives from a database or backup copy with the coordinators' private key "
        "(the passphrase is asked, or read from CLGBT_COORDINATOR_PASSPHRASE).",
    )
    with_config(review)
    review.add_argument(
        "--key",
        type=Path,
        required=True,
        metavar="FILE",
        help="the coordinators' private key file",
    )
    review.add_argument(
        "--db",
        type=Path,
        default=None,
        metavar="PATH",
        help="the database or backup copy (default: paths.database)",
    )
    review.add_argument("--case", default=None, metavar="CODE", help="show this case in full")
    review.add_argument(
        "--markdown",
        type=Path,
        default=None,
        metavar="OUT",
        help="with --case: also write the case as Markdown to OUT",
    )

    partners = add(
        "partners",
        cmd_partners,
        "List the partner organisations' channels, or record that a coordinator confirmed one "
        "with the organisation (no YAML editing).",
    )
    partners_commands = partners.add_subparsers(
        dest="partners_command", metavar="ACTION", required=True
    )
    partners_list = partners_commands.add_parser(
        "list",
        help="every channel: partner, kind, address, source date, confirmed or not",
        description="List every partner channel with its source date and whether (by whom, "
        "on which day) it has been confirmed with the organisation.",
    )
    partners_confirm = partners_commands.add_parser(
        "confirm",
        help="mark a partner's channel confirmed with the organisation (today, or --on)",
        description="Record that a coordinator confirmed a partner's channel with the "
        "organisation; only that channel's 'confirmed' line of the file changes. An unknown "
        "partner or kind, or a day in the future, is refused and nothing changes.",
    )
    partners_confirm.add_argument("partner", metavar="PARTNER", help="a partner id, e.g. rock")
    partners_confirm.add_argument(
        "kind", metavar="KIND", help="the channel: website, phone or office"
    )
    partners_confirm.add_argument(
        "--by",
        required=True,
        metavar="ORGANISATION",
        help="who confirmed it: an organisation or role, never a person's name",
    )
    partners_confirm.add_argument(
        "--on",
        default=None,
        metavar="YYYY-MM-DD",
        help="the day it was confirmed (default: today in Phnom Penh; not a future day)",
    )
    for sub in (partners_list, partners_confirm):
        sub.add_argument(
            "--file",
            type=Path,
            default=PARTNERS_FILE,
            metavar="PATH",
            help="the partner directory (default: knowledge/partners.yaml)",
        )

    add("version", cmd_version, "Print the version.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Whatever this process creates (database, key files, exports) is its owner's alone.
    os.umask(0o077)
    handler: Command = args.handler
    try:
        return handler(args)
    except ConfigError as exc:
        print(f"clgbt: configuration problem: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except (
        KeyringError,
        DatabaseError,
        DatabaseInUse,
        SealingError,
        DecryptionError,
        OutputFileError,
    ) as exc:
        print(f"clgbt: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except UsageError as exc:
        print(f"clgbt: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except TokenRejected:
        print(
            f"clgbt: Telegram rejected the bot token; check {TOKEN_ENV} (or telegram.token_file) "
            "against the token @BotFather gave you.",
            file=sys.stderr,
        )
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
