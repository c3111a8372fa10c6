"""What a folder holds besides the images ``list_images`` finds, and why each is left out.

``list_images`` picks images by suffix. Everything else in the folder is named here with the
reason, so that a run can say what it ignored instead of dropping it without a word: images
in formats we do not read (GIF, HEIC, camera RAW...), other files, broken or looping symbolic
links, links to folders (never followed), sub-folders without ``recursive`` and, with it,
sub-folders that cannot be read (their images would be missed without a word). Hidden files
and folders (``.name``) are left out silently, as everywhere in ganrestore.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from pathlib import Path

from ganrestore.data.io import IMAGE_SUFFIXES

_CONVERT = "convert it to PNG, JPEG or TIFF"
_RAW_SUFFIXES = (".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".dng", ".raf")
_RAW_SUFFIXES += (".orf", ".rw2", ".pef", ".srw", ".x3f", ".3fr", ".iiq", ".erf", ".kdc", ".mrw")
#: Image formats we do not read, by suffix, and what to do about each.
UNSUPPORTED_IMAGES: dict[str, str] = {
    ".gif": f"GIF image: not supported; {_CONVERT} (one file per frame if animated)",
    **dict.fromkeys(
        (".heic", ".heif", ".avif"), f"HEIC/HEIF/AVIF photo: not supported; {_CONVERT}"
    ),
    **dict.fromkeys(
        _RAW_SUFFIXES,
        "camera RAW file: not supported; develop it into a 16-bit TIFF or PNG (or a JPEG) first",
    ),
    **dict.fromkeys(
        (".jxl", ".jp2", ".j2k", ".psd", ".tga", ".exr", ".hdr", ".ico", ".pnm", ".ppm", ".pgm"),
        f"image format not supported; {_CONVERT}",
    ),
}
NOT_AN_IMAGE = "not an image file (by its suffix)"
SUB_FOLDER = "sub-folder (use --recursive)"
FOLDER_LINK = "symbolic link to a folder: links are not followed; pass that folder as --in"


def ignored_entries(
    folder: Path, recursive: bool, listed: Iterable[Path], skip: Path | None = None
) -> list[tuple[Path, str]]:
    """Entries of ``folder`` that are not among ``listed`` images, each with the reason.

    Args:
        folder: the folder that was listed.
        recursive: whether sub-folders were listed too (else each is one ignored entry).
        listed: the images found (``list_images(folder, recursive)``, or some of them).
        skip: a folder whose contents are not inputs and not reported (``--masks`` inside
            ``folder``), or None.

    Returns:
        ``(path, reason)`` sorted by path; the reason says what to do (no path in it, so that
        equal reasons can be counted together).
    """
    folder, listed = Path(folder), set(listed)
    skip_path = skip.resolve() if skip is not None else None
    entries = folder.rglob("*") if recursive else folder.iterdir()
    ignored = []
    for path in entries:
        relative = path.relative_to(folder)
        if path in listed or any(part.startswith(".") for part in relative.parts):
            continue
        if skip_path is not None:  # the entry itself may be a looping link: not resolved
            where = path.parent.resolve() / path.name
            if where == skip_path or skip_path in where.parents:
                continue
        reason = _why_ignored(path, recursive)
        if reason is not None:
            ignored.append((path, reason))
    return sorted(ignored, key=lambda item: item[0].relative_to(folder).as_posix())


def why_unlistable(folder: Path) -> str | None:
    """Why ``folder`` cannot be listed by this process (``"Permission denied"``...), or None."""
    try:
        with os.scandir(folder):
            return None
    except OSError as error:
        return error.strerror or str(error)


def _why_ignored(path: Path, recursive: bool) -> str | None:
    """Why ``path`` is no input, or None when it needs no word (a folder that was descended)."""
    if path.is_symlink():
        try:
            os.stat(path)
        except OSError as error:
            if error.errno == errno.ELOOP:
                return "symbolic link loop: fix or remove the link"
            return f"broken symbolic link to {os.readlink(path)}: fix or remove the link"
        if path.is_dir():
            return FOLDER_LINK
    if path.is_dir():
        if not recursive:
            return SUB_FOLDER
        problem = why_unlistable(path)  # the search passes such a folder over: say so
        return (
            None if problem is None else f"folder cannot be read ({problem}): fix its permissions"
        )
    if not path.is_file():
        return "not a regular file"
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:  # an image the caller chose not to list (e.g. a sidecar mask)
        return None
    return UNSUPPORTED_IMAGES.get(suffix, NOT_AN_IMAGE)
