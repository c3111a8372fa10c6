"""Datasets that turn ``Sample``s into training and validation tensors, through their task.

What is generic lives here: decoding a sample and its real pair, cropping (random for
training, centred for validation), flips and rotations, and skipping unreadable files. What a
degraded input is comes from the task (:class:`ganrestore.tasks.Task`): its
``training_item`` / ``validation_item`` turn the crop into the item dict every batch shares:

- ``clean``: ``(3, S, S)`` in ``[0, 1]``;
- ``degraded``: ``(3, S, S)`` in ``[0, 1]`` (noisy image, or clean image with holes set to 0);
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

    def _decode(self, sample: Sample) -> tuple[np.ndarray, np.ndarray | None]:
        """``(H, W, 3)`` clean and its ``(H, W, 3)`` image or ``(H, W, 1)`` mask pair."""
        clean = read_image(sample.clean, self.max_pixels).pixels
        clean = np.repeat(clean, 3, axis=2) if clean.shape[2] == 1 else clean
        if sample.clean_half is not None:  # one side-by-side A|B file holds both images
            return split_side_by_side(clean, sample.clean_half)
        pair_path = sample.pair
        if pair_path is None:
            return clean, None
        if self.pair.kind == "image":
            pair = read_image(pair_path, self.max_pixels).pixels
            pair = np.repeat(pair, 3, axis=2) if pair.shape[2] == 1 else pair
        else:
            pair = read_mask(pair_path, max_pixels=self.max_pixels)[..., None]
        if pair.shape[:2] != clean.shape[:2]:
            raise ImageReadError(
                pair_path,
                f"its size {pair.shape[1]}x{pair.shape[0]} differs from its clean image "
                f"{sample.clean} ({clean.shape[1]}x{clean.shape[0]})",
            )
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
        raise DataError(f"none of the {count} images of this dataset can be read; check them")


def _pad_to(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """Reflect-pads ``(H, W, K)`` evenly on both sides up to at least ``height x width``."""
    extra_h, extra_w = max(height - array.shape[0], 0), max(width - array.shape[1], 0)
    if not extra_h and not extra_w:
        return array
    pads = ((extra_h // 2, extra_h - extra_h // 2), (extra_w // 2, extra_w - extra_w // 2), (0, 0))
    return np.pad(array, pads, mode="reflect" if min(array.shape[:2]) > 1 else "edge")


class TrainDataset(Dataset[Item]):
    """Random crops of training samples, degraded on the fly by their task.

    Keys are ``(index, sample_seed)`` pairs from ``StepSampler``; all randomness comes from
    ``np.random.default_rng(sample_seed)``, drawn in this order: crop window, flip, rotation,
    then whatever the task draws (``Task.training_item``). The same key always gives the same
    item, whatever the worker. Flips and 90° rotations are done here, on both sides of a pair;
    an engine may instead augment whole batches (e.g. with kornia) and pass ``augment=False``.

    Args:
        samples: From ``discover``.
        task: the task that degrades each crop (:class:`ganrestore.tasks.Task`).
        crop: Side of the square crops; smaller images are reflect-padded first.
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
        if crop < 1:
            raise ValueError(f"crop must be >= 1, got {crop}")
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


class ValDataset(Dataset[Item]):
    """Deterministic validation items: the same inputs on every run and machine.

    Item ``i`` is the center crop (or reflect pad) of sample ``i`` to ``size x size``,
    degraded by the task (``Task.validation_item``) with an RNG seeded by ``i`` alone, as the
    task's options say (noise levels in turn, holes of ``mask_kind`` and ``hole_ratio``...).
    Real pairs are used as they are.

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
        if size < 1:
            raise ValueError(f"need size >= 1, got {size}")
        self.task, self.size = task, size
        self._reader = _SampleReader(samples, task.pair, max_pixels)

    def __len__(self) -> int:
        return len(self._reader.samples)

    def __getitem__(self, index: int) -> Item:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} validation samples")
        rng = np.random.default_rng(index)
        clean, pair = self._reader.read(index)
        stack = np.concatenate([clean] if pair is None else [clean, pair], axis=2)
        stack = _pad_to(stack, self.size, self.size)
        top = (stack.shape[0] - self.size) // 2
        left = (stack.shape[1] - self.size) // 2
        stack = np.ascontiguousarray(stack[top : top + self.size, left : left + self.size])
        pair = stack[..., 3:] if pair is not None else None
        return self.task.validation_item(stack[..., :3], pair, index, rng, self.options)
