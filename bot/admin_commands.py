"""``clgbt stats`` and ``clgbt review``: a coordinator's command-line tools."""

from __future__ import annotations

import getpass
import re
from collections.abc import Mapping
from pathlib import Path

from bot.cli import UsageError
from bot.config import Settings
from bot.statistics_labels import add_province_names, statistics_universe, with_province_names
from bot.storage_commands import PASSPHRASE_ENV
from knowledge.catalogue import TextCatalogue
from storage.db import DatabaseError, open_read_only
from storage.private_files import write_private
from storage.review import BatchKeys, list_archives, open_archive, to_markdown
from storage.sealing import CoordinatorPrivateKey, SealingError
from storage.statistics import build_tables, render_csv, render_text

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def run_stats(
    settings: Settings, start: str | None, end: str | None, csv_path: Path | None
) -> str:
    for value in (start, end):
        if value is not None and not MONTH.match(value):
            raise UsageError(f"{value!r} is not a month like 2026-03")
    database = settings.paths.database
    if not database.exists():
        raise DatabaseError(f"{database}: no database yet")
    threshold = settings.referrals.small_cell_threshold
    connection = open_read_only(database)
    try:
        tables = build_tables(connection, threshold, start, end, universe=statistics_universe())
    finally:
        connection.close()
    catalogue = TextCatalogue.load()
    text = render_text(
        with_province_names(tables, catalogue),
        threshold,
        f"clgbt statistics {start or '…'} – {end or '…'} "
        f"(counts below {threshold} shown as <{threshold})",
    )
    if csv_path is not None:
        write_private(csv_path, add_province_names(render_csv(tables, threshold), catalogue))
        text += f"\n\nCSV written to {csv_path}"
    return text


def run_review(
    database: Path,
    key_file: Path,
    code: str | None,
    markdown: Path | None,
    environ: Mapping[str, str],
) -> str:
    try:
        protected = key_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SealingError(f"{key_file}: cannot read the private key ({exc.strerror})") from None
    entries = list_archives(database)
    phrase = environ.get(PASSPHRASE_ENV)
    if phrase is None:
        phrase = getpass.getpass("Passphrase for the coordinators' private key: ")
    key = CoordinatorPrivateKey.from_protected_text(protected, phrase, str(key_file))
    if code is None:
        lines = [f"{len(entries)} sealed archive(s) in {database}:"]
        batch_keys: BatchKeys = {}  # each batch's key is opened once, not once per archive
        for entry in entries:
            document = open_archive(entry, key, batch_keys)
            lines.append(
                f"  {entry.case_code}  sealed {entry.sealed_on}  "
                f"{document.get('category') or '-'}  outcome "
                f"{document.get('outcome') or '-'}"
            )
        return "\n".join(lines)
    found = [e for e in entries if e.case_code == code.strip().upper()]
    if not found:
        raise UsageError(f"no sealed archive for case {code}")
    document = open_archive(found[0], key)
    text = to_markdown(document)
    if markdown is not None:
        write_private(markdown, text)
        text += f"\n(written to {markdown})"
    return text
