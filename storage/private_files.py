"""Files the commands write for a person to read (exports, backups): created exclusively, never
through a link, readable by their owner only (mode 0600)."""

from __future__ import annotations

import os
from pathlib import Path

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class OutputFileError(Exception):
    """An output path that is refused, phrased for the person who chose it."""


def create_private(path: Path) -> int:
    """A new, empty file with mode 0600, opened for writing; an existing path (a file, a link,
    even a dangling one) is refused and left as it was."""
    try:
        descriptor = os.open(path, _FLAGS, 0o600)
    except FileExistsError:
        raise OutputFileError(
            f"{path}: already exists (or is a link) and was left untouched; choose a new file name"
        ) from None
    except FileNotFoundError:
        raise OutputFileError(f"{path}: its folder does not exist") from None
    except OSError as exc:
        raise OutputFileError(f"{path}: cannot be created ({exc.strerror})") from None
    os.fchmod(descriptor, 0o600)  # whatever the umask
    return descriptor


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to a new file at ``path`` (see :func:`create_private`)."""
    descriptor = create_private(path)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
