"""Which folders of ``--data DIR`` hold the samples: recognises the layout of a data folder.

Layouts, tried in this order (``discover`` says which one it used and what it ignored)::

    DIR/clean/                       clean images (searched recursively), with their real pairs
      + DIR/degraded/ or DIR/noisy/  for denoise, or DIR/masks/ for inpaint (white = hole);
                                     any other name with ``data.pair_dir``
    DIR/trainA/ + DIR/trainB/        pix2pix pairs of folders (denoise only), validated on
    DIR/A/train/ + DIR/B/train/      valA/ + valB/ (A/val/ + B/val/) when present;
    DIR/A/ + DIR/B/                  ``data.direction`` AtoB: A holds the degraded inputs
    DIR/train/ (+ DIR/val/)          the split folders of a pix2pix dataset, each laid out as
                                     any of these layouts
    DIR/*.png                        a plain folder of clean photos (sub-folders are ignored,
                                     and said so), with an optional pair folder as above;
                                     when every image is twice as wide as tall, side-by-side
                                     A|B pairs (pix2pix "aligned", denoise only); the guess is
                                     overridden with ``data.layout`` (plain or aligned)
    DIR/val/...                      optional validation split laid out the same way;
                                     otherwise a deterministic hold-out

Pairs match by path without suffix, so ``clean/a/cat.png`` pairs with ``degraded/a/cat.jpg``.
Which pair folder a task reads, and whether it can learn from A/B pairs of photos, comes from
the task's :class:`~ganrestore.data.pair_folder.PairFolder` (inpainting needs to know where the
holes are, so it takes clean photos, or clean photos with masks, never A/B pairs of photos).
Only image headers are read here (sizes), so discovery stays fast on large folders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ganrestore.data.io import IMAGE_SUFFIX_LIST, list_images
from ganrestore.data.pair_folder import PairFolder
from ganrestore.data.pairs import DataError, HeaderScan, images, shown

DIRECTIONS = ("AtoB", "BtoA")
LAYOUTS = ("auto", "plain", "aligned")
#: pix2pix pairs of folders found at the top of DIR: (train A, train B, val A, val B).
_FOLDER_PAIRS = (("trainA", "trainB", "valA", "valB"), ("A/train", "B/train", "A/val", "B/val"))


@dataclass(frozen=True)
class Options:
    """How to read a data folder: the task's name and pair folder, and the keys
    ``data.pair_dir``, ``direction``, ``layout``."""

    task: str  # for messages
    pair: PairFolder
    pair_dir: str  # "" = a recognised name (pair.names)
    direction: str  # AtoB: A is the degraded input, B the clean target
    layout: str  # auto, plain or aligned: how images directly in a folder are read


@dataclass(frozen=True)
class Source:
    """Where the samples of one split come from.

    ``kind`` is ``"clean"`` (a clean/ folder), ``"plain"`` (images directly in ``root``),
    ``"folders"`` (pix2pix A/B folders) or ``"aligned"`` (side-by-side A|B images).
    """

    root: Path
    kind: str
    clean_dir: Path  # the clean images, or the side-by-side A|B images
    pair_dir: Path | None = None  # degraded images or masks, matched by name
    clean_half: str | None = None  # aligned: the clean half of each image

    @property
    def recursive(self) -> bool:
        return self.kind in ("clean", "folders")

    @property
    def paired(self) -> bool:
        return self.pair_dir is not None or self.clean_half is not None


def _subfolders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _nonempty_pair_dir(folder: Path, pair: PairFolder) -> Path:
    if not list_images(folder, recursive=True):
        raise DataError(
            f"{folder} contains no images; remove the empty folder (without pairs, "
            f"{pair.synthetic}), or put one {pair.word} per clean image there, named like it"
        )
    return folder


def find_pair_dir(root: Path, options: Options, notes: list[str], required: bool) -> Path | None:
    """The folder in ``root`` holding the pair of each clean image, or None.

    ``required``: a ``data.pair_dir`` missing from ``root`` is an error (training) rather than
    a split without pairs (validation).
    """
    pair = options.pair
    if options.pair_dir:
        folder = root / options.pair_dir
        if folder.is_dir():
            return _nonempty_pair_dir(folder, pair)
        if required:
            folders = shown([f"{path.name}/" for path in _subfolders(root)])
            raise DataError(
                f"data.pair_dir (--pair-dir) is '{options.pair_dir}' but {folder} is not a "
                f"folder; the folders in {root} are: {folders}"
            )
        return None
    found = pair.folders_in(root)
    if len(found) > 1:
        raise DataError(
            f"{root} has both {found[0].name}/ and {found[1].name}/: say which one holds the "
            f"{pair.word}s with --pair-dir NAME (the other is then ignored)"
        )
    return _nonempty_pair_dir(found[0], pair) if found else None


def _refused_image_pairs(options: Options, what: str, alternative: str) -> DataError:
    pair = options.pair
    return DataError(
        f"{what}, but {options.task} cannot learn from pix2pix A/B pairs of photos: its pairs "
        f"are {pair.word}s. Train it on clean photos alone ({pair.synthetic}) or on clean/ + "
        f"{pair.folder}/ with one {pair.word} per photo. {alternative}"
    )


def _no_pair_dir(options: Options, root: Path, kind: str) -> None:
    if options.pair_dir:
        raise DataError(
            f"data.pair_dir (--pair-dir) is '{options.pair_dir}' but {root} holds {kind}, "
            "which carry their own pairs; drop --pair-dir"
        )


def _folder_pair(root: Path, a: Path, b: Path, options: Options) -> Source:
    """pix2pix pairs of folders: ``AtoB`` means the A images are the degraded inputs."""
    inputs, targets = (a, b) if options.direction == "AtoB" else (b, a)
    if not options.pair.image_pairs:
        raise _refused_image_pairs(
            options,
            f"{a} and {b} are pix2pix pairs of folders",
            f"To train on the photos in {targets}, pass --data {targets}.",
        )
    _no_pair_dir(options, root, "A/B folders")
    return Source(root, "folders", clean_dir=targets, pair_dir=inputs)


def _aligned(root: Path, options: Options, why: str) -> Source:
    """Side-by-side A|B images: ``AtoB`` means the left (A) half is the degraded input."""
    if not options.pair.image_pairs:
        raise _refused_image_pairs(
            options,
            f"the images in {root} are read as pix2pix side-by-side A|B pairs ({why})",
            "If they are ordinary photos, not pairs, add --set data.layout=plain.",
        )
    _no_pair_dir(options, root, "side-by-side A|B images")
    clean_half = "right" if options.direction == "AtoB" else "left"
    return Source(root, "aligned", root, clean_half=clean_half)


def _no_images(root: Path, pair: PairFolder, training: bool = True) -> DataError:
    """Why ``root`` gives no images, and where they go; ``training``: else a ``val/`` folder."""
    if not training:
        return DataError(
            f"the validation folder {root} holds no images (looked for {IMAGE_SUFFIX_LIST}): put "
            "validation photos there, laid out like the training data, or remove the empty "
            "folder to hold some training photos out instead"
        )
    nested = [(p, len(list_images(p, recursive=True))) for p in _subfolders(root)]
    nested = [(path, count) for path, count in nested if count]
    if nested:
        listed = shown([f"{path.name}/ ({images(count)})" for path, count in nested])
        return DataError(
            f"no images directly in {root} and no clean/ folder; its sub-folders hold images: "
            f"{listed}. Put the training images in {root / 'clean'}/ (searched recursively) "
            "or pass --data one of those folders"
        )
    return DataError(
        f"no images in {root} (looked for {IMAGE_SUFFIX_LIST}): put the "
        f"training photos there, or in {root / 'clean'}/ with their pairs in "
        f"{root / pair.folder}/"
    )


def _source_at(
    root: Path, options: Options, scan: HeaderScan, notes: list[str], layout: str, required: bool
) -> Source:
    """How the split folder ``root`` is laid out (see the module docstring)."""
    if (root / "clean").is_dir() and layout != "aligned":
        return Source(root, "clean", root / "clean", find_pair_dir(root, options, notes, required))
    if (root / "A").is_dir() and (root / "B").is_dir() and layout != "aligned":
        return _folder_pair(root, root / "A", root / "B", options)
    loose = list_images(root)
    if not loose:
        if layout == "aligned":
            raise DataError(
                f"data.layout is 'aligned' but {root} holds no images directly; put the "
                "side-by-side A|B images there, or drop the setting"
            )
        raise _no_images(root, options.pair, training=required)
    if layout == "aligned":
        return _aligned(root, options, "data.layout = aligned")
    sizes = [size for size in map(scan.size, loose) if size is not None]
    if layout == "auto" and sizes and all(width == 2 * height for height, width in sizes):
        return _aligned(root, options, "every image is exactly twice as wide as tall")
    return Source(root, "plain", root, find_pair_dir(root, options, notes, required))


def find_sources(
    data_dir: Path, options: Options, scan: HeaderScan, notes: list[str]
) -> tuple[Source, Source | None]:
    """The training source and the validation one (None: hold some training images out)."""
    if not (data_dir / "clean").is_dir():
        for train_a, train_b, val_a, val_b in _FOLDER_PAIRS:
            if (data_dir / train_a).is_dir() and (data_dir / train_b).is_dir():
                train = _folder_pair(data_dir, data_dir / train_a, data_dir / train_b, options)
                if (data_dir / val_a).is_dir() and (data_dir / val_b).is_dir():
                    return train, _folder_pair(
                        data_dir, data_dir / val_a, data_dir / val_b, options
                    )
                return train, None
        if (data_dir / "train").is_dir() and not list_images(data_dir):
            train = _source_at(data_dir / "train", options, scan, notes, options.layout, True)
            return train, _val_source(data_dir / "val", train, options, scan, notes)
    train = _source_at(data_dir, options, scan, notes, options.layout, True)
    return train, _val_source(data_dir / "val", train, options, scan, notes)


def _val_source(
    root: Path, train: Source, options: Options, scan: HeaderScan, notes: list[str]
) -> Source | None:
    """A ``val/`` folder read like the training data: A|B images are split in both or neither."""
    if not root.is_dir():
        return None
    layout = {"aligned": "aligned", "plain": "plain"}.get(train.kind, options.layout)
    return _source_at(root, options, scan, notes, layout, required=False)


def val_hint(data_dir: Path, source: Source) -> str:
    """Where a validation folder for ``source`` would go."""
    if source.kind != "folders" or source.pair_dir is None:
        return f"{data_dir / 'val'}/ laid out like the training data"
    sides = (source.pair_dir, source.clean_dir)
    if all("train" in side.name for side in sides):
        named = [side.with_name(side.name.replace("train", "val")) for side in sides]
    else:
        named = [data_dir / "val" / side.name for side in sides]
    return f"{named[0]}/ + {named[1]}/"


def described(source: Source, count: int, options: Options) -> str:
    """What one source holds and how it is used, in words."""
    if source.kind == "aligned":
        degraded_half = "left" if source.clean_half == "right" else "right"
        return (
            f"{count} side-by-side A|B image{_s(count)} in {source.root} (pix2pix aligned layout, "
            f"{options.direction}: the {degraded_half} half is the degraded input, the "
            f"{source.clean_half} half the clean target)"
        )
    if source.kind == "folders":
        return (
            f"{count} pair{_s(count)} of {source.pair_dir} (degraded inputs) and "
            f"{source.clean_dir} (clean targets), direction {options.direction}"
        )
    where = f"{source.root} (plain folder)" if source.kind == "plain" else str(source.clean_dir)
    what = ("clean photo" if source.kind == "plain" else "clean image") + _s(count)
    if source.pair_dir is None:
        return f"{count} {what} in {where}; {options.pair.synthetic}"
    return f"{count} {what} in {where}, each with its {options.pair.word} in {source.pair_dir}"


def _s(count: int) -> str:
    """The plural ending for ``count`` things."""
    return "" if count == 1 else "s"


def ignored_images(data_dir: Path, used: set[Path], sources: list[Source]) -> list[str]:
    """Image folders (and loose images) under ``data_dir`` that no source reads."""
    roots = {data_dir}
    for source in sources:
        pair_parent = source.pair_dir.parent if source.pair_dir is not None else None
        for folder in (source.root, source.clean_dir.parent, pair_parent):
            if folder is not None and folder.is_relative_to(data_dir):
                roots.add(folder)
    counts: dict[tuple[Path, bool], int] = {}
    for path in list_images(data_dir, recursive=True):
        if path in used:
            continue
        root = max((r for r in roots if path.is_relative_to(r)), key=lambda r: len(r.parts))
        parts = path.relative_to(root).parts
        key = (root, True) if len(parts) == 1 else (root / parts[0], False)
        counts[key] = counts.get(key, 0) + 1
    return [
        f"{images(count)} directly in {folder}" if loose else f"{folder} ({images(count)})"
        for (folder, loose), count in sorted(counts.items())
    ]
