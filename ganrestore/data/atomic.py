"""Atomic file writes, optionally without replacing anything, and the temporaries they use.

A file is written to a hidden temporary beside its target, ``.NAME.XXXXXXXX.tmp`` (eight
lowercase hex digits), flushed to disk, then moved into place in one step, so a reader never
sees half a file:

* ``overwrite=True``: ``os.replace`` (an existing target is replaced);
* ``overwrite=False``: ``os.link`` creates the target only if no file has that name at that
  very moment, then the temporary is removed. The check happens when the file is written, not
  when a run was planned, so a file that appeared meanwhile (another run writing to the same
  folder) is never replaced: :class:`OutputExistsError`. On file systems without hard links
  (FAT, exFAT, some network shares) the name is claimed with ``O_EXCL`` instead and the
  temporary renamed over the claim.

A process killed between creating its temporary and moving it leaves the temporary behind;
:func:`remove_stale_temporaries` removes files named exactly like ours once they are old
enough not to belong to a write still in progress.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
import time
from pathlib import Path

#: ``.NAME.XXXXXXXX.tmp``: group 1 is the target's name.
TEMPORARY_NAME = re.compile(r"\.(.+)\.[0-9a-f]{8}\.tmp")
#: A temporary untouched for this long belongs to no write in progress (a write creates it
#: right before writing bytes that are already encoded in memory, and renames it right after).
STALE_AFTER_SECONDS = 60.0
# link() failures meaning "this file system has no hard links", not "the target exists".
_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.EMLINK}


class OutputExistsError(FileExistsError):
    """The target of a write without ``overwrite`` exists; nothing was written."""


#: The longest file name most file systems take, in bytes (ext4, XFS, APFS, NTFS in UTF-16
#: units, which UTF-8 bytes never undercount).
NAME_MAX_BYTES = 255


def temporary_path(path: Path) -> Path:
    """A fresh temporary name beside ``path``: ``.NAME.XXXXXXXX.tmp``.

    A name too long for the 14 bytes the temporary adds (a target of 242 to 255 bytes, such as
    80 CJK characters) has its stem cut, on a character boundary, to fit; the suffix is kept,
    so :func:`remove_stale_temporaries` still knows what kind of file it was.
    """
    token = secrets.token_hex(4)
    name = path.name
    room = NAME_MAX_BYTES - len(f"..{token}.tmp")
    if len(name.encode()) > room:
        suffix = path.suffix if len(path.suffix.encode()) < room // 2 else ""
        stem = name[: len(name) - len(suffix)] if suffix else name
        kept = stem.encode()[: room - len(suffix.encode())].decode("utf-8", "ignore")
        name = kept + suffix
    return path.with_name(f".{name}.{token}.tmp")


def write_atomically(path: Path, data: bytes, overwrite: bool = True) -> None:
    """Writes ``data`` to ``path`` through a temporary file; parent folders are created.

    Raises:
        OutputExistsError: ``overwrite`` is False and ``path`` exists (it is left as it was).
        OSError: the file system failed (the target is left as it was, no temporary remains).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_path(path)
    try:
        with temporary.open("xb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        if overwrite:
            os.replace(temporary, path)
        else:
            _move_without_replacing(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _move_without_replacing(temporary: Path, path: Path) -> None:
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise OutputExistsError(errno.EEXIST, "exists (not replaced)", str(path)) from None
    except OSError as error:
        if error.errno not in _NO_HARD_LINKS:
            raise
        try:  # no hard links here: claim the name, then rename over our own claim
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            raise OutputExistsError(errno.EEXIST, "exists (not replaced)", str(path)) from None
        os.replace(temporary, path)


def remove_stale_temporaries(
    folder: Path,
    recursive: bool = False,
    older_than: float = STALE_AFTER_SECONDS,
    suffixes: frozenset[str] | None = None,
) -> list[Path]:
    """Removes temporaries left by killed writes in ``folder`` (and its sub-folders).

    Only files whose whole name matches :data:`TEMPORARY_NAME` are touched, only when last
    modified more than ``older_than`` seconds ago (a younger one may be a write in progress by
    another process), and, with ``suffixes``, only when the target's suffix is among them.
    Symbolic links are neither followed nor removed.

    Returns:
        The files removed (a missing ``folder`` removes nothing).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed, now = [], time.time()
    walk = os.walk(folder) if recursive else [(str(folder), [], os.listdir(folder))]
    for directory, _, names in walk:
        for name in names:
            match = TEMPORARY_NAME.fullmatch(name)
            if match is None:
                continue
            if suffixes is not None and Path(match.group(1)).suffix.lower() not in suffixes:
                continue
            path = Path(directory, name)
            try:
                status = path.lstat()
                if stat.S_ISREG(status.st_mode) and now - status.st_mtime > older_than:
                    path.unlink()
                    removed.append(path)
            except FileNotFoundError:  # removed meanwhile by someone else
                continue
    return removed
