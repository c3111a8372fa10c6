"""Atomic file writes, optionally without replacing anything, and the temporaries they use.

A file is written to a hidden temporary beside its target, ``.NAME.MACHINE-PID-XXXXXXXX.tmp``
(the writing process: its machine as eight hex digits and its process id; then eight random
hex digits), flushed to disk, then moved into place in one step, so a reader never sees half a
file:

* ``overwrite=True``: ``os.replace`` (an existing target is replaced);
* ``overwrite=False``: ``os.link`` creates the target only if no file has that name at that
  very moment, then the temporary is removed. The check happens when the file is written, not
  when a run was planned, so a file that appeared meanwhile (another run writing to the same
  folder) is never replaced: :class:`OutputExistsError`. On file systems without hard links
  (FAT, exFAT, some network shares) the name is claimed with ``O_EXCL`` instead and the
  temporary renamed over the claim.

:func:`why_unwritable` says before a run why a path could not be written at all.

A process killed between creating its temporary and moving it leaves the temporary behind;
:func:`remove_stale_temporaries` removes files named exactly like ours whose writer is gone: at
once when the writer was a process of this machine that no longer runs (a killed run, rerun
right away), never while it still runs (two runs writing to one folder at once). A temporary
of another machine (a shared folder), or named the way earlier versions named them
(``.NAME.XXXXXXXX.tmp``), is removed once untouched for :data:`STALE_AFTER_SECONDS`.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import secrets
import socket
import stat
import time
import zlib
from pathlib import Path

#: ``.NAME.MACHINE-PID-XXXXXXXX.tmp``: groups are the target's name, the writer's machine and
#: its process id.
TEMPORARY_NAME = re.compile(r"\.(.+)\.([0-9a-f]{8})-([1-9][0-9]{0,9})-[0-9a-f]{8}\.tmp")
#: ``.NAME.XXXXXXXX.tmp``, as earlier versions named them (no writer in the name).
UNSIGNED_TEMPORARY_NAME = re.compile(r"\.(.+)\.[0-9a-f]{8}\.tmp")
#: A temporary whose writer cannot be asked (another machine, an unsigned name) and untouched
#: for this long belongs to no write in progress (a write creates it right before writing
#: bytes that are already encoded in memory, and renames it right after).
STALE_AFTER_SECONDS = 60.0
#: A temporary whose writer's process id runs here but that is untouched for this long was left
#: by a killed process whose id was given to another one since: no write takes a day.
REUSED_PID_AFTER_SECONDS = 86_400.0
# link() failures meaning "this file system has no hard links", not "the target exists".
_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.EMLINK}


class OutputExistsError(FileExistsError):
    """The target of a write without ``overwrite`` exists; nothing was written."""


#: The longest file name most file systems take, in bytes (ext4, XFS, APFS, NTFS in UTF-16
#: units, which UTF-8 bytes never undercount).
NAME_MAX_BYTES = 255


@functools.cache
def machine_id() -> str:
    """Eight hex digits naming this machine, and on Linux this process-id namespace.

    Two containers on one host may share a host name but never a process-id namespace, so a
    process id is asked about only where it means the same process.
    """
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return f"{zlib.crc32(f'{socket.gethostname()}/{namespace}'.encode()):08x}"


def temporary_path(path: Path, pid: int | None = None) -> Path:
    """A fresh temporary name beside ``path``: ``.NAME.MACHINE-PID-XXXXXXXX.tmp``.

    ``pid``: the writing process (default: this one). A name too long for the bytes the
    temporary adds (about 30, so a target of 226 to 255 bytes, such as 80 CJK characters) has
    its stem cut, on a character boundary, to fit; the suffix is kept, so
    :func:`remove_stale_temporaries` still knows what kind of file it was.
    """
    writer = f"{machine_id()}-{os.getpid() if pid is None else pid}"
    token = f"{writer}-{secrets.token_hex(4)}"
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

    Only regular files whose whole name is a temporary's (:data:`TEMPORARY_NAME`, or
    :data:`UNSIGNED_TEMPORARY_NAME`) are touched, with ``suffixes`` only when the target's
    suffix is among them, and only when no write in progress can own them:

    * written by a process of this machine: when that process no longer runs, whatever the
      temporary's age; never while it runs (unless untouched for a day: its id was reused);
    * written on another machine, or an unsigned name: when last modified more than
      ``older_than`` seconds ago.

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
            match = TEMPORARY_NAME.fullmatch(name) or UNSIGNED_TEMPORARY_NAME.fullmatch(name)
            if match is None:
                continue
            if suffixes is not None and Path(match.group(1)).suffix.lower() not in suffixes:
                continue
            path = Path(directory, name)
            try:
                status = path.lstat()
                age = now - status.st_mtime
                if stat.S_ISREG(status.st_mode) and _writer_gone(match, age, older_than):
                    path.unlink()
                    removed.append(path)
            except FileNotFoundError:  # removed meanwhile by someone else
                continue
    return removed


def _writer_gone(match: re.Match[str], age: float, older_than: float) -> bool:
    """Whether the write that made a temporary (named as ``match`` says) is over."""
    if match.re is TEMPORARY_NAME and match.group(2) == machine_id():
        running = process_running(int(match.group(3)))
        if running is not None:
            return not running or age > REUSED_PID_AFTER_SECONDS
    return age > older_than


def process_running(pid: int) -> bool | None:
    """Whether process ``pid`` of this machine runs (a zombie does not); None: cannot tell."""
    if pid == os.getpid():
        return True
    if os.name == "nt":  # os.kill(pid, 0) would not ask there: it would send Ctrl-C
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it runs, as another user
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:  # Linux: "PID (NAME) STATE ..."
            return file.read().rpartition(b")")[2].split()[:1] != [b"Z"]
    except OSError:
        return True


def why_unwritable(path: Path) -> str | None:
    """Why a file (or folder) could not be created at ``path`` with its missing folders, or
    None when it can: the path is a folder where a file is wanted, or the nearest existing
    folder above it is a file or cannot be written by this process (read-only permissions or
    file system)."""
    path = Path(path)
    if path.exists():
        return None if os.access(path, os.W_OK) else "it is read-only"
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is a file, not a folder"
    return None if os.access(folder, os.W_OK | os.X_OK) else f"the folder {folder} is read-only"
