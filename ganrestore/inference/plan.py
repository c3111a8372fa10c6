"""Planning a ``ganrestore apply`` run: which files are read, and where each output may go.

Rules, in the order they apply:

* ``--in`` is only read: a folder, or a single image file. ``--out`` equal to or inside an
  ``--in`` folder is refused, and so is ``--out`` equal to the folder holding an ``--in`` file;
  an output that would land inside ``--in`` anyway (through a symbolic link) fails.
* ``--masks`` is only read too: ``--out`` equal to or inside it is refused (and an output that
  would land inside it fails), and ``--masks`` equal to ``--in`` or holding it is refused
  (every image would count as a mask). A masks folder inside ``--in`` is fine.
* Images are found by suffix (PNG, JPEG, WebP, TIFF, BMP; ``--recursive`` descends into
  sub-folders, mirrored under ``--out``). Hidden files, files under ``--masks`` and, in inpaint
  runs, sidecar masks ``NAME_mask.*`` are not inputs (unless named by ``--in`` itself).
* An existing output is skipped unless ``overwrite``; two inputs with one output name fail.
  (Writing checks again, atomically: see :mod:`ganrestore.data.atomic`.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ganrestore.data.atomic import why_unwritable
from ganrestore.data.io import IMAGE_SUFFIXES, list_images
from ganrestore.data.listing import UNSUPPORTED_IMAGES, ignored_entries, why_unlistable
from ganrestore.errors import GanrestoreError
from ganrestore.inference.masks import MaskFinder

if TYPE_CHECKING:
    from ganrestore.inference.folder import ApplyOptions

#: ``--format`` choices -> output suffix (None keeps the input's).
OUTPUT_SUFFIXES = {"keep": None, "png": ".png", "jpg": ".jpg", "webp": ".webp", "tiff": ".tiff"}


class UnsafeFoldersError(GanrestoreError):
    """``--out`` would write into ``--in`` or ``--masks``, or a path option names no folder."""


@dataclass(frozen=True)
class Job:
    """One input file and where its output goes."""

    source: Path
    target: Path
    mask_file: Path | None = None


@dataclass
class FolderPlan:
    """Files to restore, and those already skipped or failed while planning.

    ``ignored`` holds what ``--in`` has besides images (unsupported formats, broken links,
    sub-folders without ``--recursive``...), with the reason: no images, not in ``total``.
    """

    jobs: list[Job] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    ignored: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.jobs) + len(self.skipped) + len(self.failed)


def input_root(input_path: Path) -> Path:
    """The folder that outputs mirror: ``--in`` itself, or the folder of an ``--in`` file."""
    return input_path.parent if input_path.is_file() else input_path


def check_folders(options: ApplyOptions) -> None:
    """Refuse ``--in``, ``--out`` and ``--masks`` that could lose a file (rules above).

    Raises:
        UnsafeFoldersError: the message names the options and what to do.
    """
    source, masks = options.input_dir, options.masks_dir
    if source.is_file():
        if source.suffix.lower() not in IMAGE_SUFFIXES:
            reason = UNSUPPORTED_IMAGES.get(
                source.suffix.lower(), "not an image file (PNG, JPEG, WebP, TIFF, BMP) nor a folder"
            )
            raise UnsafeFoldersError(f"--in {source}: {reason}")
    elif not source.is_dir():
        raise UnsafeFoldersError(f"--in {source}: no such image file or folder")
    if masks is not None and not masks.is_dir():
        raise UnsafeFoldersError(f"--masks {masks}: not a folder")
    for option, folder in (("--in", source), ("--masks", masks)):
        problem = why_unlistable(folder) if folder is not None and folder.is_dir() else None
        if problem is not None:
            raise UnsafeFoldersError(
                f"{option} {folder}: the folder cannot be read ({problem}); fix its permissions"
            )
    source_path, target = source.resolve(), options.output_dir.resolve()
    if source.is_dir() and (target == source_path or source_path in target.parents):
        raise UnsafeFoldersError(
            f"--out {options.output_dir} is inside --in {source}; the input folder is "
            "never written to: choose an output folder outside it"
        )
    if source.is_file() and target == source_path.parent:
        raise UnsafeFoldersError(
            f"--out {options.output_dir} is the folder of --in {source}; the input's folder is "
            "never written to: choose another output folder"
        )
    if masks is not None:
        masks_path = masks.resolve()
        if masks_path == source_path or masks_path in source_path.parents:
            raise UnsafeFoldersError(
                f"--masks {masks} is --in {source} or holds it, so every image would count as "
                "a mask: put the masks in a folder of their own"
            )
        if target == masks_path or masks_path in target.parents:
            raise UnsafeFoldersError(
                f"--out {options.output_dir} is inside --masks {masks}; mask files are never "
                "written to: choose an output folder outside it"
            )
    if target.exists() and not target.is_dir():
        raise UnsafeFoldersError(f"--out {options.output_dir} exists and is not a folder")
    problem = why_unwritable(target)
    if problem is not None:
        raise UnsafeFoldersError(
            f"--out {options.output_dir}: nothing can be written there ({problem}); choose "
            "another output folder"
        )


def plan_folder(options: ApplyOptions, takes_masks: bool) -> FolderPlan:
    """Find the inputs, their outputs and masks, applying the safety rules.

    Raises:
        UnsafeFoldersError: see :func:`check_folders`.
    """
    check_folders(options)
    root, single_file = input_root(options.input_dir), options.input_dir.is_file()
    images = [options.input_dir] if single_file else list_images(root, options.recursive)
    if options.masks_dir is not None:
        masks_root = options.masks_dir.resolve()
        images = [p for p in images if masks_root not in p.resolve().parents]
    finder = None
    if takes_masks:  # a single file's sidecar is beside it, among its folder's images
        neighbours = list_images(root) if single_file else images
        finder = MaskFinder(root, options.masks_dir, neighbours)
    plan, owners = FolderPlan(), {}
    for source in images:
        if not single_file and finder is not None and source in finder.sidecar_files:
            continue
        target = output_path(options, source)
        resolved = target.resolve()
        unsafe = _unsafe_output(options, source, resolved)
        if unsafe:
            plan.failed.append((source, f"its output {target} {unsafe}"))
        elif resolved in owners:
            plan.failed.append((source, f"same output {target} as {owners[resolved]}"))
        elif target.exists() and not options.overwrite:
            owners[resolved] = source
            plan.skipped.append((source, "output exists (use --overwrite)"))
        else:
            owners[resolved] = source
            mask_file = finder.mask_file(source) if finder is not None else None
            plan.jobs.append(Job(source, target, mask_file))
    if not single_file:
        plan.ignored = ignored_entries(root, options.recursive, images, options.masks_dir)
    return plan


def _unsafe_output(options: ApplyOptions, source: Path, resolved: Path) -> str | None:
    """Why the output ``resolved`` (symbolic links followed) may not be written, or None."""
    source_path = options.input_dir.resolve()
    if options.input_dir.is_file():
        if resolved.parent == source_path.parent:
            return "would be beside --in, in the input's folder"
    elif resolved == source_path or source_path in resolved.parents:
        return "would be inside --in"
    if options.masks_dir is not None:
        masks_path = options.masks_dir.resolve()
        if resolved == masks_path or masks_path in resolved.parents:
            return "would be inside --masks"
    return None


def output_path(options: ApplyOptions, source: Path) -> Path:
    """Where the output of ``source`` goes: mirrored under ``--out``, suffix per ``--format``."""
    if options.output_format not in OUTPUT_SUFFIXES:
        raise GanrestoreError(
            f"--format {options.output_format}: choose one of {', '.join(OUTPUT_SUFFIXES)}"
        )
    target = options.output_dir / source.relative_to(input_root(options.input_dir))
    suffix = OUTPUT_SUFFIXES[options.output_format]
    return target.with_suffix(suffix) if suffix else target
