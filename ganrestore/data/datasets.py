"""Datasets that turn ``Sample``s into training and validation tensors, through their task.

What is generic lives here: decoding a sample and its real pair, cropping (random for
training, centred for validation), flips and rotations, and skipping unreadable files. A pair
``s`` times smaller than its clean image (:attr:`PairFolder.scale`, an upscaling task's real
small images) is cropped over the same area: its window is ``crop // s`` pixels wide, the clean
window ``s`` times that, at a top-left corner that is a multiple of ``s``. What a degraded input
is comes from the task (:class:`ganrestore.tasks.Task`): its ``training_item`` /
``validation_item`` turn the crop into the item dict every batch shares:

- ``clean``: ``(3, S, S)`` in ``[0, 1]``;
- ``degraded``: ``(3, S, S)`` in ``[0, 1]`` (noisy image, or clean image with holes set to 0;
  ``(3, S / s, S / s)`` for a task of scale ``s``);
- ``mask``: ``(1, S, S)`` in {0, 1}, 1 = hole (all zeros for tasks without masks);
- ``sigma``: scalar, the synthetic Gaussian σ on the 0–255 scale (0 for real pairs and inpainting).

Gray files are repeated to RGB, alpha is dropped, 16-bit files keep their precision. An image
that fails to decode is reported once (``BadImageWarning``) and replaced by the next index,
so a single corrupt file never stops a long run and the substitution is deterministic. So is a
file with more than ``max_pixels`` pixels (``data.max_pixels``), checked from the header of the
very file decoded, before decoding it: a photo replaced by a larger one mid-run is refused too.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch.utils.data import Dataset

from ganrestore.data.io import ImageReadError, read_image, read_mask
from ganrestore.data.layout import DataError, Sample, split_side_by_side
from ganrestore.data.pair_folder import PairFolder
from ganrestore.data.pixel_limit import DEFAULT_MAX_PIXELS

Item = dict[str, torch.Tensor]


class ItemMaker(Protocol):
    """What a dataset needs of its task (:class:`ganrestore.tasks.Task` is one)."""

    name: str
    pair: PairFolder

    def options(self, values: dict[str, Any] | None = None) -> Any: ...

    def training_item(
        self, clean: np.ndarray, pair: np.ndarray | None, rng: np.random.Generator, options: Any
    ) -> Item: ...

    def validation_item(
        self,
        clean: np.ndarray,
        pair: np.ndarray | None,
        index: int,
        rng: np.random.Generator,
        options: Any,
    ) -> Item: ...


class BadImageWarning(UserWarning):
    """An image failed to decode at training time and the next sample was used instead."""


def _checked_options(samples: Sequence[Sample], task: ItemMaker, options: Any, values: dict) -> Any:
    """``options``, or the task's options built from keyword ``values``."""
    if not samples:
        raise ValueError("a dataset needs at least one sample")
    if options is not None and values:
        raise ValueError(f"pass options= or {', '.join(values)}=, not both")
    return options if options is not None else task.options(values)


class _SampleReader:
    """Decodes samples; an unreadable one (or one above ``max_pixels``, 0: no limit) is
    reported once and the next index is used."""

    def __init__(self, samples: Sequence[Sample], pair: PairFolder, max_pixels: int) -> None:
        self.samples = tuple(samples)
        self.pair = pair
        self.max_pixels = max_pixels
        self._bad: set[int] = set()
        self._said_empty: set[Path] = set()

    def _decode(self, sample: Sample) -> tuple[np.ndarray, np.ndarray | None]:
        """``(H, W, 3)`` clean and its ``(H // s, W // s, 3)`` image or ``(H // s, W // s, 1)``
        mask pair, ``s`` the pair's scale; with a pair and ``s > 1``, the clean image is cut to
        ``H`` and ``W`` multiples of ``s`` (its last rows and columns have no pixel in the pair).
        """
        clean = read_image(sample.clean, self.max_pixels).pixels
        clean = np.repeat(clean, 3, axis=2) if clean.shape[2] == 1 else clean
        pair_path = sample.pair
        if sample.clean_half is not None:  # one side-by-side A|B file holds both images
            clean, pair = split_side_by_side(clean, sample.clean_half)
        elif pair_path is None:
            return clean, None
        elif self.pair.kind == "image":
            pair = read_image(pair_path, self.max_pixels).pixels
            pair = np.repeat(pair, 3, axis=2) if pair.shape[2] == 1 else pair
        else:
            pair = read_mask(pair_path, max_pixels=self.max_pixels)[..., None]
            if pair_path not in self._said_empty and not (pair > 0.5).any():
                self._said_empty.add(pair_path)
                warnings.warn(
                    f"{pair_path}: this mask has no hole (no white pixel), so its photo teaches "
                    "nothing to fill; masks are white where the hole is",
                    BadImageWarning,
                    stacklevel=3,
                )
        problem = self.pair.size_problem(
            sample.clean, clean.shape, pair_path or sample.clean, pair.shape
        )
        if problem is not None:
            raise ImageReadError(pair_path or sample.clean, self.pair.size_error([problem]))
        if self.pair.scale > 1:
            clean = clean[: pair.shape[0] * self.pair.scale, : pair.shape[1] * self.pair.scale]
        return clean, pair

    def read(self, index: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The decoded sample at ``index``, or at the next readable index after it."""
        count = len(self.samples)
        for offset in range(count):
            current = (index + offset) % count
            if current in self._bad:
                continue
            try:
                return self._decode(self.samples[current])
            except ImageReadError as error:
                self._bad.add(current)
                warnings.warn(
                    f"{error}. Using the next image instead", BadImageWarning, stacklevel=3
                )
        folder = self.samples[0].clean.parent if self.samples else "this dataset"
        raise DataError(f"none of the {count} images in {folder} can be read; check them")


def _pad_to(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """Reflect-pads ``(H, W, K)`` evenly on both sides up to at least ``height x width``."""
    extra_h, extra_w = max(height - array.shape[0], 0), max(width - array.shape[1], 0)
    if not extra_h and not extra_w:
        return array
    pads = ((extra_h // 2, extra_h - extra_h // 2), (extra_w // 2, extra_w - extra_w // 2), (0, 0))
    return np.pad(array, pads, mode="reflect" if min(array.shape[:2]) > 1 else "edge")


def _pad_aligned(
    clean: np.ndarray, pair: np.ndarray, scale: int, side: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pads a ``(h, w, K)`` pair evenly up to at least ``side x side`` and its ``(s·h, s·w, 3)``
    clean image by ``s`` times as much on each side, so that they stay aligned.

    Both are mirrored about their borders (numpy's ``"symmetric"``: the border pixel is
    repeated), which is the same line in both images; ``"reflect"`` mirrors about the border
    pixel's centre, which lies elsewhere in the small image than in the large one.
    """
    extra_h, extra_w = max(side - pair.shape[0], 0), max(side - pair.shape[1], 0)
    if not extra_h and not extra_w:
        return clean, pair
    pads = ((extra_h // 2, extra_h - extra_h // 2), (extra_w // 2, extra_w - extra_w // 2))
    large = tuple((before * scale, after * scale) for before, after in pads)
    return (
        np.pad(clean, (*large, (0, 0)), mode="symmetric"),
        np.pad(pair, (*pads, (0, 0)), mode="symmetric"),
    )


def _aligned_window(
    clean: np.ndarray, pair: np.ndarray, scale: int, top: int, left: int, side: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``side x side`` window of the pair at ``(top, left)`` and the ``s·side`` window of
    the clean image over the same area (at ``(s·top, s·left)``)."""
    window = pair[top : top + side, left : left + side]
    large = clean[top * scale : (top + side) * scale, left * scale : (left + side) * scale]
    return large, window


def _augmented(array: np.ndarray, flip: bool, turns: int) -> np.ndarray:
    """``array`` flipped left-right (when ``flip``), then turned ``turns`` quarter turns."""
    return np.rot90(array[:, ::-1] if flip else array, k=turns)


class TrainDataset(Dataset[Item]):
    """Random crops of training samples, degraded on the fly by their task.

    Keys are ``(index, sample_seed)`` pairs from ``StepSampler``; all randomness comes from
    ``np.random.default_rng(sample_seed)``, drawn in this order: crop window, flip, rotation,
    then whatever the task draws (``Task.training_item``). The same key always gives the same
    item, whatever the worker. Flips and 90° rotations are done here, on both sides of a pair;
    an engine may instead augment whole batches (e.g. with kornia) and pass ``augment=False``.
    A real pair ``s`` times smaller (``task.pair.scale``) is cropped over the same area, with
    the same draws in the same order: the window is drawn in its pixels.

    Args:
        samples: From ``discover``.
        task: the task that degrades each crop (:class:`ganrestore.tasks.Task`).
        crop: Side of the square crops; smaller images are reflect-padded first. With a real
            pair ``s`` times smaller, the clean crop is ``crop`` cut to a multiple of ``s`` and
            the pair's is ``crop // s``; a pair smaller than that is padded, and its clean
            image by ``s`` times as much, both mirrored about their borders so they stay
            aligned.
        augment: Random horizontal flip and 90° rotation.
        options: the task's config table (``task.options_type``), or give its values as
            keywords instead (e.g. ``sigma_range=(5, 50)``, ``hole_ratio=(0.1, 0.3)``).
        max_pixels: files with more pixels are not decoded but replaced (``data.max_pixels``;
            0: no limit).
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        task: ItemMaker,
        crop: int,
        *,
        augment: bool = True,
        options: Any = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        **option_values: Any,
    ) -> None:
        self.options = _checked_options(samples, task, options, option_values)
        if crop < task.pair.scale:
            raise ValueError(f"crop must be >= {task.pair.scale}, got {crop}")
        self.task, self.crop, self.augment = task, crop, augment
        self._reader = _SampleReader(samples, task.pair, max_pixels)

    def __len__(self) -> int:
        return len(self._reader.samples)

    def __getitem__(self, key: tuple[int, int]) -> Item:
        if not isinstance(key, tuple) or len(key) != 2:
            raise TypeError(f"TrainDataset keys are (index, sample_seed) pairs, got {key!r}")
        index, sample_seed = key
        rng = np.random.default_rng(sample_seed)
        clean, pair = self._reader.read(index)
        if pair is not None and self.task.pair.scale > 1:
            return self._scaled_item(clean, pair, rng)
        stack = np.concatenate([clean] if pair is None else [clean, pair], axis=2)
        stack = _pad_to(stack, self.crop, self.crop)
        top = int(rng.integers(0, stack.shape[0] - self.crop + 1))
        left = int(rng.integers(0, stack.shape[1] - self.crop + 1))
        stack = stack[top : top + self.crop, left : left + self.crop]
        if self.augment:
            stack = stack[:, ::-1] if rng.random() < 0.5 else stack
            stack = np.rot90(stack, k=int(rng.integers(0, 4)))
        stack = np.ascontiguousarray(stack)
        pair = stack[..., 3:] if pair is not None else None
        return self.task.training_item(stack[..., :3], pair, rng, self.options)

    def _scaled_item(self, clean: np.ndarray, pair: np.ndarray, rng: np.random.Generator) -> Item:
        """A real pair ``s`` times smaller than its clean image: the same randomness, in the
        same order, as a same-size pair; the window's top and left are drawn in pair pixels
        (so multiples of ``s`` in the clean image), and ``crop`` is cut to a multiple of ``s``.
        """
        scale = self.task.pair.scale
        side = self.crop // scale
        clean, pair = _pad_aligned(clean, pair, scale, side)
        top = int(rng.integers(0, pair.shape[0] - side + 1))
        left = int(rng.integers(0, pair.shape[1] - side + 1))
        clean, pair = _aligned_window(clean, pair, scale, top, left, side)
        if self.augment:
            flip = bool(rng.random() < 0.5)
            turns = int(rng.integers(0, 4))
            clean, pair = _augmented(clean, flip, turns), _augmented(pair, flip, turns)
        clean, pair = np.ascontiguousarray(clean), np.ascontiguousarray(pair)
        return self.task.training_item(clean, pair, rng, self.options)


class ValDataset(Dataset[Item]):
    """Deterministic validation items: the same inputs on every run and machine.

    Item ``i`` is the center crop (or reflect pad) of sample ``i`` to ``size x size``,
    degraded by the task (``Task.validation_item``) with an RNG seeded by ``i`` alone, as the
    task's options say (noise levels in turn, holes of ``mask_kind`` and ``hole_ratio``...).
    Real pairs are used as they are; one ``s`` times smaller is cropped over the same area, as
    in :class:`TrainDataset`.

    Args:
        samples: From ``discover``.
        task: the task that degrades each crop.
        size: Side of the square items.
        options: the task's config table, or its values as keywords.
        max_pixels: as for :class:`TrainDataset`.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        task: ItemMaker,
        size: int = 256,
        *,
        options: Any = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        **option_values: Any,
    ) -> None:
        self.options = _checked_options(samples, task, options, option_values)
        if size < task.pair.scale:
            raise ValueError(f"need size >= {task.pair.scale}, got {size}")
        self.task, self.size = task, size
        self._reader = _SampleReader(samples, task.pair, max_pixels)

    def __len__(self) -> int:
        return len(self._reader.samples)

    def __getitem__(self, index: int) -> Item:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} validation samples")
        rng = np.random.default_rng(index)
        clean, pair = self._reader.read(index)
        scale = self.task.pair.scale
        if pair is not None and scale > 1:
            side = self.size // scale
            clean, pair = _pad_aligned(clean, pair, scale, side)
            top, left = (pair.shape[0] - side) // 2, (pair.shape[1] - side) // 2
            clean, pair = _aligned_window(clean, pair, scale, top, left, side)
            clean, pair = np.ascontiguousarray(clean), np.ascontiguousarray(pair)
            return self.task.validation_item(clean, pair, index, rng, self.options)
        stack = np.concatenate([clean] if pair is None else [clean, pair], axis=2)
        stack = _pad_to(stack, self.size, self.size)
        top = (stack.shape[0] - self.size) // 2
        left = (stack.shape[1] - self.size) // 2
        stack = np.ascontiguousarray(stack[top : top + self.size, left : left + self.size])
        pair = stack[..., 3:] if pair is not None else None
        return self.task.validation_item(stack[..., :3], pair, index, rng, self.options)
