"""What is in ``--data DIR``: finds the training and validation samples and checks them.

Layouts (folders are searched recursively; pairs match by path without suffix, so
``clean/a/cat.png`` pairs with ``degraded/a/cat.jpg``)::

    DIR/clean/                      clean images; degradations synthesized on the fly
    DIR/clean/ + DIR/degraded/      denoise: real noisy/clean pairs
    DIR/clean/ + DIR/masks/         inpaint: real masks (white = hole)
    DIR/val/...                     optional, same structure; otherwise a hold-out split

Only image headers are read here (sizes), so discovery stays fast on large folders.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

from ganrestore.data.io import IMAGE_SUFFIXES, ImageReadError, image_size, list_images
from ganrestore.errors import GanrestoreError

PAIR_FOLDERS = {"denoise": "degraded", "inpaint": "masks"}
_PAIR_WORDS = {"denoise": "degraded image", "inpaint": "mask"}
_SHOWN = 5


class DataError(GanrestoreError):
    """The data folder is missing, empty or inconsistent; the message says what to fix."""


@dataclass(frozen=True)
class Sample:
    """One training example: a clean image and, for real pairs, its degraded image or mask."""

    clean: Path
    degraded: Path | None = None
    mask: Path | None = None


@dataclass(frozen=True)
class DataLayout:
    """The result of ``discover``.

    Attributes:
        train: Training samples, sorted by clean path.
        val: Validation samples (from ``DIR/val/`` or held out of the training files).
        paired: True when training uses real pairs (``degraded/`` or ``masks/``).
        skipped: ``(path, reason)`` for each unreadable file left out.
        notes: Sentences worth showing the user (split, ignored folders, ...).
    """

    train: tuple[Sample, ...]
    val: tuple[Sample, ...]
    paired: bool
    skipped: tuple[tuple[Path, str], ...]
    notes: tuple[str, ...]


def _shown(items: list, total: int | None = None) -> str:
    """The first few items, comma separated, with '(and N more)' when cut."""
    total = len(items) if total is None else total
    text = ", ".join(str(item) for item in items[:_SHOWN]) or "(none)"
    return f"{text} (and {total - _SHOWN} more)" if total > _SHOWN else text


def _keyed(files: list[Path], root: Path) -> dict[str, Path]:
    """Files by relative path without suffix; two files for one key is an error."""
    by_key: dict[str, Path] = {}
    for path in files:
        key = path.relative_to(root).with_suffix("").as_posix()
        if key in by_key:
            raise DataError(
                f"{by_key[key]} and {path} have the same name, so pairs are ambiguous; "
                "keep only one of them"
            )
        by_key[key] = path
    return by_key


class _Scan:
    """Header checks shared by the splits: collects unreadable files instead of failing."""

    def __init__(self) -> None:
        self.checked = 0
        self.skipped: list[tuple[Path, str]] = []

    def size(self, path: Path) -> tuple[int, int] | None:
        self.checked += 1
        try:
            return image_size(path)
        except ImageReadError as error:
            self.skipped.append((path, error.reason))
            return None


def _pair_files(root: Path, task: str, notes: list[str]) -> list[Path] | None:
    """The images of the task's pair folder, or None when it is absent."""
    other = next(name for key, name in PAIR_FOLDERS.items() if key != task)
    if (root / other).is_dir():
        notes.append(f"{root / other} is ignored: the {task} task does not use {other}/")
    pair_dir = root / PAIR_FOLDERS[task]
    if not pair_dir.is_dir():
        return None
    files = list_images(pair_dir, recursive=True)
    if not files:
        action = "synthesize noise" if task == "denoise" else "generate random masks"
        raise DataError(
            f"{pair_dir} contains no images; remove the empty folder to {action} on the fly, "
            f"or put one {_PAIR_WORDS[task]} per clean image there, named like it"
        )
    return files


def _match(
    clean: dict[str, Path], pairs: dict[str, Path], pair_dir: Path, task: str, notes: list[str]
) -> None:
    """Checks that every clean image has its pair (extra pair files are only noted)."""
    word = _PAIR_WORDS[task]
    if not clean.keys() & pairs.keys():
        raise DataError(
            f"no file in {pair_dir} has the name of a clean image, so no pair can be formed: "
            f"clean/ has {_shown(sorted(clean))}; {pair_dir.name}/ has {_shown(sorted(pairs))}. "
            f"Name each {word} like its clean image (the suffix may differ)"
        )
    missing = [clean[key] for key in sorted(clean.keys() - pairs.keys())]
    if missing:
        raise DataError(
            f"{len(missing)} clean image(s) have no {word} in {pair_dir}: {_shown(missing)}; "
            f"add the missing files (same name) or remove these clean images"
        )
    extra = sorted(pairs.keys() - clean.keys())
    if extra:
        notes.append(
            f"{len(extra)} files in {pair_dir} have no clean image and are ignored: "
            f"{_shown([pairs[key].name for key in extra])}"
        )


def _discover_split(root: Path, task: str, scan: _Scan, notes: list[str]) -> list[Sample]:
    """Samples of one split folder (``DIR`` or ``DIR/val``), unreadable files left out."""
    clean_dir = root / "clean"
    if not clean_dir.is_dir():
        loose = list_images(root)
        hint = (
            f"; the {len(loose)} image(s) directly in {root} belong in {clean_dir}" if loose else ""
        )
        raise DataError(
            f"no clean/ folder in {root}{hint if loose else ''}. Lay the data out as {clean_dir}/ "
            f"(plus {root / PAIR_FOLDERS[task]}/ for real pairs)"
        )
    clean_files = list_images(clean_dir, recursive=True)
    if not clean_files:
        raise DataError(
            f"{clean_dir} contains no images (looked for {', '.join(sorted(IMAGE_SUFFIXES))}); "
            "put the clean training images there"
        )
    pair_files = _pair_files(root, task, notes)
    if pair_files is None:
        return [Sample(path) for path in clean_files if scan.size(path) is not None]
    pair_dir = root / PAIR_FOLDERS[task]
    clean = _keyed(clean_files, clean_dir)
    pairs = _keyed(pair_files, pair_dir)
    _match(clean, pairs, pair_dir, task, notes)
    samples, mismatched = [], []
    for key in sorted(clean, key=lambda key: clean[key].as_posix()):
        clean_size, pair_size = scan.size(clean[key]), scan.size(pairs[key])
        if clean_size is None or pair_size is None:
            continue
        if clean_size != pair_size:
            mismatched.append(
                f"{clean[key]} is {clean_size[1]}x{clean_size[0]} but "
                f"{pairs[key]} is {pair_size[1]}x{pair_size[0]}"
            )
        field = "degraded" if task == "denoise" else "mask"
        samples.append(Sample(clean[key], **{field: pairs[key]}))
    if mismatched:
        raise DataError(
            f"{len(mismatched)} pair(s) differ in size (width x height): "
            f"{'; '.join(mismatched[:_SHOWN])}; each {_PAIR_WORDS[task]} must have the size "
            "of its clean image"
        )
    return samples


def _hold_out(
    samples: list[Sample], clean_dir: Path, val_fraction: float, notes: list[str]
) -> tuple[list[Sample], list[Sample]]:
    """Deterministic split by crc32 of each clean file's path relative to ``clean_dir``.

    A file's side depends on its own name only, so adding images never moves old ones.
    """
    if not samples:
        return [], []
    if len(samples) == 1:
        notes.append(
            f"only one usable image ({samples[0].clean}): it is used for both training and "
            "validation, so validation scores will be optimistic; add images or a val/ folder"
        )
        return samples, samples
    scores = [
        zlib.crc32(sample.clean.relative_to(clean_dir).as_posix().encode("utf-8")) / 2**32
        for sample in samples
    ]
    held = {i for i, score in enumerate(scores) if score < val_fraction}
    if not held:
        held = {min(range(len(samples)), key=scores.__getitem__)}
    if len(held) == len(samples):
        held.remove(max(range(len(samples)), key=scores.__getitem__))
    train = [sample for i, sample in enumerate(samples) if i not in held]
    val = [sample for i, sample in enumerate(samples) if i in held]
    notes.append(
        f"no val/ folder: {len(val)} of {len(samples)} images are held out for validation "
        f"(chosen by a hash of the file name, the same on every run); add "
        f"{clean_dir.parent / 'val' / 'clean'}/ to choose them yourself"
    )
    return train, val


def discover(
    data_dir: Path, task: str, val_fraction: float = 0.1, max_bad_fraction: float = 0.1
) -> DataLayout:
    """Finds the training and validation samples under ``data_dir`` and checks them.

    Args:
        data_dir: The ``--data`` folder.
        task: ``"denoise"`` or ``"inpaint"``; picks the pair folder (``degraded/`` or
            ``masks/``); the other task's folder is ignored with a note.
        val_fraction: Share of images held out when there is no ``val/`` folder, in
            ``[0, 1)``; at least one image is held out (and one kept) when there are two.
        max_bad_fraction: Largest share of unreadable files tolerated (they are skipped).

    Returns:
        The samples, the files skipped and notes for the user.

    Raises:
        DataError: missing or empty folders, unmatched or mismatched pairs, too many
            unreadable files; the message names the files and what to do.
    """
    if task not in PAIR_FOLDERS:
        raise DataError(f"unknown task {task!r}; choose one of: {', '.join(PAIR_FOLDERS)}")
    if not 0.0 <= val_fraction < 1.0:
        raise DataError(f"val_fraction must be in [0, 1), got {val_fraction}")
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(
            f"data folder {data_dir} does not exist; pass --data a folder that contains clean/ "
            f"(and optionally {'/ or '.join(PAIR_FOLDERS.values())}/ and val/)"
        )
    scan, notes = _Scan(), []
    train = _discover_split(data_dir, task, scan, notes)
    paired = (data_dir / PAIR_FOLDERS[task]).is_dir()
    if (data_dir / "val").is_dir():
        val = _discover_split(data_dir / "val", task, scan, notes)
        if (data_dir / "val" / PAIR_FOLDERS[task]).is_dir() != paired:
            notes.append(
                "training and validation differ: only one of them has "
                f"{PAIR_FOLDERS[task]}/; the other uses synthetic degradations"
            )
    else:
        train, val = _hold_out(train, data_dir / "clean", val_fraction, notes)
    if scan.skipped:
        listed = _shown([f"{path} ({reason})" for path, reason in scan.skipped])
        if len(scan.skipped) > max_bad_fraction * scan.checked:
            raise DataError(
                f"{len(scan.skipped)} of {scan.checked} image files under {data_dir} cannot be "
                f"read, more than the {max_bad_fraction:.0%} tolerated: {listed}; "
                "repair or remove them"
            )
        notes.append(f"{len(scan.skipped)} unreadable file(s) skipped: {listed}")
    if not train or not val:
        split = "training" if not train else "validation"
        raise DataError(f"no readable {split} images under {data_dir}; add readable images")
    return DataLayout(tuple(train), tuple(val), paired, tuple(scan.skipped), tuple(notes))
