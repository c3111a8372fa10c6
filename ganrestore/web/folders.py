"""Which files the server may read (``--in``) and which names it may write (``--out``).

* The page picks an input by a name the server listed: a file directly in ``--in`` (not in a
  sub-folder), an image by suffix, not hidden, not a sidecar mask ``NAME_mask.*``, and not a
  symbolic link leading out of ``--in``. Any other name is refused, whatever it contains.
* Outputs go directly into ``--out`` under a plain file name (no separator, no ``..``, not
  hidden), are written atomically and never replace a file (also one that appears meanwhile),
  and never follow a symbolic link out of ``--out``: the rules of ``ganrestore apply``.
"""

from __future__ import annotations

import errno
import re
import unicodedata
from pathlib import Path

from ganrestore.data.atomic import NAME_MAX_BYTES, OutputExistsError, write_atomically
from ganrestore.data.io import IMAGE_SUFFIX_LIST, IMAGE_SUFFIXES, list_images
from ganrestore.inference.masks import MaskFinder
from ganrestore.web.errors import (
    Conflict,
    Forbidden,
    NotFound,
    OutOfRoom,
    RequestError,
    StorageError,
    quoted,
)

#: The suffix written for each format when a name has no image suffix of its own.
SUFFIX_BY_FORMAT = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "TIFF": ".tif", "BMP": ".bmp"}
_UNSAFE_CHARACTERS = re.compile(r"[^\w.\- ()+,=@]")
MAX_NAME_LENGTH = 200


def check_name(name: str) -> str:
    """``name`` when it is a plain file name; refuses paths, ``..``, hidden and control names.

    Raises:
        Forbidden: the message says what is wrong with the name.
    """
    if not name or name in (".", ".."):
        raise Forbidden("an empty file name")
    if "/" in name or "\\" in name or Path(name).anchor:
        raise Forbidden(f"{quoted(name)} is a path; only a plain file name is accepted")
    if name.startswith(".") or any(unicodedata.category(c).startswith("C") for c in name):
        raise Forbidden(f"{quoted(name)} is a hidden file or holds control characters")
    if len(name) > MAX_NAME_LENGTH:
        raise Forbidden(f"a file name of {len(name)} characters (at most {MAX_NAME_LENGTH})")
    if len(name.encode()) > NAME_MAX_BYTES:
        raise Forbidden(
            f"a file name of {len(name.encode())} bytes in UTF-8 (at most {NAME_MAX_BYTES}: the "
            "file system's limit); shorten it"
        )
    return name


def upload_name(raw: str, file_format: str) -> str:
    """A safe file name for an upload called ``raw``, with the suffix of its format.

    The browser's name is cut to its last path part; characters other than letters, digits and
    ``.-_ ()+,=@`` become ``_``; a leading dot goes.
    """
    name = re.split(r"[/\\]", raw or "")[-1]
    name = _UNSAFE_CHARACTERS.sub("_", unicodedata.normalize("NFC", name)).lstrip(". ")
    stem = Path(name).stem if Path(name).suffix.lower() in IMAGE_SUFFIXES else name
    stem = (stem or "upload")[: MAX_NAME_LENGTH - 10]
    suffix = Path(name).suffix if Path(name).suffix.lower() in IMAGE_SUFFIXES else ""
    suffix = suffix or SUFFIX_BY_FORMAT.get(file_format, ".png")
    room = NAME_MAX_BYTES - len(suffix.encode())
    stem = stem.encode()[:room].decode("utf-8", "ignore")  # whole characters within the limit
    return f"{stem}{suffix}"


def _is_plain(name: str) -> bool:
    try:
        check_name(name)
    except Forbidden:
        return False
    return True


def _inside(path: Path, root: Path) -> bool:
    """Whether ``path``, all links followed, is ``root`` (resolved) or lies under it."""
    resolved = path.resolve()
    return resolved == root or root in resolved.parents


class InputFolder:
    """The images of ``--in`` the page may open, by the names :meth:`names` lists."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._resolved = self.root.resolve()

    def _images(self) -> list[Path]:
        images = list_images(self.root)
        sidecars = MaskFinder(self.root, None, images).sidecar_files
        return [
            path
            for path in images
            if path not in sidecars and _is_plain(path.name) and _inside(path, self._resolved)
        ]

    def names(self) -> list[str]:
        """File names of the images directly in ``--in``, sorted (sidecar masks left out)."""
        return [path.name for path in self._images()]

    def path(self, name: str) -> Path:
        """The file of a listed ``name``.

        Raises:
            Forbidden: ``name`` is a path, hidden, or a link leading out of ``--in``.
            NotFound: ``name`` is not among the listed images.
        """
        check_name(name)
        path = self.root / name
        if not _inside(path, self._resolved):
            raise Forbidden(f"{quoted(name)} leads out of --in {self.root}")
        if name not in self.names():
            raise NotFound(
                f"{quoted(name)} is not an image of --in {self.root}; pick one from the list"
            )
        return path

    def mask_file(self, path: Path) -> Path | None:
        """The sidecar mask ``NAME_mask.*`` beside ``path``, or None."""
        images = list_images(self.root)
        found = MaskFinder(self.root, None, images).mask_file(path)
        return found if found is not None and _inside(found, self._resolved) else None

    def next_name(self, name: str) -> str | None:
        """The listed name after ``name`` (None after the last, or for an unlisted name)."""
        names = self.names()
        if name not in names:
            return None
        index = names.index(name)
        return names[index + 1] if index + 1 < len(names) else None


class OutputFolder:
    """``--out``: results saved under plain file names, never replacing a file."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def target(self, name: str) -> Path:
        """Where ``name`` is saved.

        Raises:
            Forbidden: ``name`` is not a plain file name, or a link there leads out of ``--out``.
        """
        check_name(name)
        if Path(name).suffix.lower() not in IMAGE_SUFFIXES:
            raise RequestError(f"{quoted(name)} has no image suffix ({IMAGE_SUFFIX_LIST})")
        path = self.root / name
        if path.is_symlink():
            raise Forbidden(f"{path} is a link; ganrestore does not write through links")
        return path

    def exists(self, name: str) -> bool:
        try:
            return self.target(name).exists()
        except RequestError:
            return False

    def save(self, name: str, data: bytes) -> Path:
        """Write ``data`` to ``--out/name`` atomically, never replacing a file.

        Raises:
            Conflict: the file exists (it is left as it was).
            Forbidden: see :meth:`target`.
            StorageError: the file system failed (no space, read-only, no permission...): the
                message names the file; nothing is left behind.
        """
        path = self.target(name)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            write_atomically(path, data, overwrite=False)
        except OutputExistsError:
            raise Conflict(
                f"{path} exists and was not replaced: ganrestore never overwrites a file. Move "
                "or rename it, then save again, or download the result instead"
            ) from None
        except OSError as exc:
            raise storage_error(path, exc) from None
        return path


#: File-system errors that mean "no room left" (disk full, quota, a file-size limit).
_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def storage_error(path: Path, exc: OSError) -> StorageError:
    """What the page says when the file system refused ``path``: its reason and what to do."""
    reason = exc.strerror or type(exc).__name__
    if exc.errno in _NO_ROOM:
        return OutOfRoom(
            f"cannot save {path}: {reason}; make room on that disk (or restart with another "
            "--out), or download the result instead"
        )
    return StorageError(
        f"cannot save {path}: {reason}; check that --out {path.parent} is a folder you may "
        "write into, or download the result instead"
    )
