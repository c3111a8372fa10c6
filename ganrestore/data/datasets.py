"""Datasets that turn ``Sample``s into training and validation tensors.

Both return the same dict of float32 tensors, so the engine treats every batch alike:

- ``clean``: ``(3, S, S)`` in ``[0, 1]``;
- ``degraded``: ``(3, S, S)`` in ``[0, 1]`` (noisy image, or clean image with holes set to 0);
- ``mask``: ``(1, S, S)`` in {0, 1}, 1 = hole (all zeros for denoising);
- ``sigma``: scalar, the synthetic Gaussian σ on the 0–255 scale (0 for real pairs and inpainting).

Gray files are repeated to RGB, alpha is dropped, 16-bit files keep their precision. An image
that fails to decode is reported once (``BadImageWarning``) and replaced by the next index,
so a single corrupt file never stops a long run and the substitution is deterministic.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ganrestore.data.degradations import draw_sigma, jpeg_recompress, noise_image
from ganrestore.data.io import ImageReadError, read_image, read_mask, to_tensor
from ganrestore.data.layout import PAIR_FOLDERS, DataError, Sample, split_side_by_side
from ganrestore.data.masks import MASK_KINDS, HoleRatio, make_mask

Item = dict[str, torch.Tensor]
#: Rec. 601 luma weights, as PIL's "L" conversion uses.
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


class BadImageWarning(UserWarning):
    """An image failed to decode at training time and the next sample was used instead."""


def _check_options(samples: Sequence[Sample], task: str, mask_kind: str) -> None:
    if not samples:
        raise ValueError("a dataset needs at least one sample")
    if task not in PAIR_FOLDERS:
        raise ValueError(f"unknown task {task!r}; choose one of: {', '.join(PAIR_FOLDERS)}")
    if mask_kind not in MASK_KINDS:
        raise ValueError(f"unknown mask kind {mask_kind!r}; choose one of: {', '.join(MASK_KINDS)}")


class _SampleReader:
    """Decodes samples; an unreadable one is reported once and the next index is used."""

    def __init__(self, samples: Sequence[Sample], task: str) -> None:
        self.samples = tuple(samples)
        self.task = task
        self._bad: set[int] = set()

    def _decode(self, sample: Sample) -> tuple[np.ndarray, np.ndarray | None]:
        """``(H, W, 3)`` clean and the ``(H, W, 3)`` degraded image or ``(H, W, 1)`` mask."""
        clean = read_image(sample.clean).pixels
        clean = np.repeat(clean, 3, axis=2) if clean.shape[2] == 1 else clean
        if sample.clean_half is not None:  # one side-by-side A|B file holds both images
            return split_side_by_side(clean, sample.clean_half)
        pair_path = sample.degraded if self.task == "denoise" else sample.mask
        if pair_path is None:
            return clean, None
        if self.task == "denoise":
            pair = read_image(pair_path).pixels
            pair = np.repeat(pair, 3, axis=2) if pair.shape[2] == 1 else pair
        else:
            pair = read_mask(pair_path)[..., None]
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


def _checked_share(share: float, name: str = "gray_share") -> float:
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {share}")
    return float(share)


#: A JPEG re-compression of a noisy crop: (quality, 4:2:0 chroma subsampling or 4:4:4).
Jpeg = tuple[int, bool]


def _gray(clean: np.ndarray) -> np.ndarray:
    """``(S, S, 3)`` -> ``(S, S, 1)`` luma; :func:`_assemble` noises it once, then repeats it."""
    return clean @ _LUMA[:, None]


def _assemble(
    clean: np.ndarray,
    pair: np.ndarray | None,
    task: str,
    rng: np.random.Generator,
    sigma: float,
    peak: float | None,
    mask_kind: str,
    hole_ratio: HoleRatio,
    jpeg: Jpeg | None = None,
) -> Item:
    """Builds the item dict from a cropped clean image and its cropped pair, if any.

    A gray ``(S, S, 1)`` clean image is degraded once and both are then repeated to RGB.
    Synthetic noise is re-saved as ``jpeg`` when given (``sigma`` keeps the noise level).
    """
    size = clean.shape[:2]
    if task == "denoise":
        mask = np.zeros((*size, 1), np.float32)
        if pair is not None:
            degraded, sigma = pair, 0.0
        else:
            degraded = noise_image(clean, sigma, rng, peak)
            if jpeg is not None:
                degraded = jpeg_recompress(degraded, *jpeg)
    else:
        mask = pair if pair is not None else make_mask(mask_kind, *size, rng, hole_ratio)[..., None]
        degraded, sigma = clean * (1.0 - mask), 0.0
    if clean.shape[2] == 1:
        clean, degraded = np.repeat(clean, 3, axis=2), np.repeat(degraded, 3, axis=2)
    return {
        "clean": to_tensor(clean),
        "degraded": to_tensor(degraded),
        "mask": to_tensor(mask),
        "sigma": torch.tensor(sigma, dtype=torch.float32),
    }


class TrainDataset(Dataset[Item]):
    """Random crops of training samples, degraded on the fly.

    Keys are ``(index, sample_seed)`` pairs from ``StepSampler``; all randomness comes from
    ``np.random.default_rng(sample_seed)``, drawn in this order: crop window, flip, rotation,
    gray or not (only when ``gray_share`` > 0), clean or not (only when ``clean_share`` > 0),
    σ, shot noise or not (only when ``poisson`` is a share below 1), peak, JPEG or not and its
    settings (only when ``jpeg_share`` > 0), then the noise (denoise) or the mask (inpaint).
    The same key always gives the same item, whatever the worker. Flips and 90° rotations are
    done here, on both sides of a pair; an engine may instead augment whole batches (e.g. with
    kornia) and pass ``augment=False``.

    Args:
        samples: From ``discover``.
        task: ``"denoise"`` or ``"inpaint"``.
        crop: Side of the square crops; smaller images are reflect-padded first.
        sigma_range: Gaussian σ range on the 0–255 scale for synthetic noise.
        sigma_power: σ is ``low + (high - low) * u ** sigma_power`` with ``u`` uniform:
            1 draws σ uniformly, 2 draws half of the crops from the lowest quarter of the range.
        poisson: Share of the noisy crops (True = all) that get shot noise before the
            Gaussian noise, with a photon count at white drawn log-uniformly from
            ``peak_range``: signal-dependent noise, as a camera sensor makes.
        peak_range: Photon counts at white for Poisson noise.
        gray_share: Denoise with synthetic noise: the share of crops turned gray (Rec. 601
            luma) and noised alike in all three channels, which is what a gray photo is when
            a restorer repeats it to RGB. A model trained on colour noise alone mistakes such
            noise, fully correlated across channels, for image detail.
        clean_share: Denoise: the share of crops left without noise (σ 0, no JPEG), so that
            the model learns to leave clean photos alone.
        jpeg_share: Denoise: the share of noisy crops re-saved as JPEG, quality drawn from
            ``jpeg_quality``, with 4:2:0 or 4:4:4 chroma at even odds (how most noisy photos
            reach a user: 4:2:0 turns white noise into coloured blotches).
        jpeg_quality: Range of JPEG qualities, within [1, 95].
        mask_kind: ``"box"``, ``"free"`` or ``"mixed"`` for synthetic masks.
        hole_ratio: Range of the hole share of synthetic masks.
        augment: Random horizontal flip and 90° rotation.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        task: str,
        crop: int,
        *,
        sigma_range: tuple[float, float] = (0.0, 55.0),
        sigma_power: float = 1.0,
        poisson: bool | float = False,
        peak_range: tuple[float, float] = (10.0, 1000.0),
        gray_share: float = 0.0,
        clean_share: float = 0.0,
        jpeg_share: float = 0.0,
        jpeg_quality: tuple[int, int] = (60, 95),
        mask_kind: str = "mixed",
        hole_ratio: HoleRatio = (0.05, 0.4),
        augment: bool = True,
    ) -> None:
        _check_options(samples, task, mask_kind)
        if crop < 1:
            raise ValueError(f"crop must be >= 1, got {crop}")
        if not 0.0 <= sigma_range[0] <= sigma_range[1]:
            raise ValueError(f"sigma_range must satisfy 0 <= low <= high, got {sigma_range}")
        if not 0.0 < peak_range[0] <= peak_range[1]:
            raise ValueError(f"peak_range must satisfy 0 < low <= high, got {peak_range}")
        if sigma_power <= 0:
            raise ValueError(f"sigma_power must be > 0, got {sigma_power}")
        if not 1 <= jpeg_quality[0] <= jpeg_quality[1] <= 95:
            raise ValueError(f"jpeg_quality must be 1 <= low <= high <= 95, got {jpeg_quality}")
        self.gray_share = _checked_share(gray_share)
        self.clean_share = _checked_share(clean_share, "clean_share")
        self.poisson_share = _checked_share(float(poisson), "poisson")
        self.jpeg_share = _checked_share(jpeg_share, "jpeg_share")
        self.task, self.crop, self.augment = task, crop, augment
        self.sigma_range, self.sigma_power, self.peak_range = sigma_range, sigma_power, peak_range
        self.jpeg_quality = jpeg_quality
        self.mask_kind, self.hole_ratio = mask_kind, hole_ratio
        self._reader = _SampleReader(samples, task)

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
        clean = stack[..., :3]
        synthetic_noise = self.task == "denoise" and pair is None
        if synthetic_noise and self.gray_share and rng.random() < self.gray_share:
            clean = _gray(clean)
        if synthetic_noise and self.clean_share and rng.random() < self.clean_share:
            return _assemble(clean, clean, self.task, rng, 0.0, None, "box", self.hole_ratio)
        sigma = draw_sigma(*self.sigma_range, self.sigma_power, rng)
        peak = None
        if self.poisson_share == 1.0 or (self.poisson_share and rng.random() < self.poisson_share):
            low, high = math.log(self.peak_range[0]), math.log(self.peak_range[1])
            peak = math.exp(rng.uniform(low, high))
        jpeg = None
        if synthetic_noise and self.jpeg_share and rng.random() < self.jpeg_share:
            quality = int(rng.integers(self.jpeg_quality[0], self.jpeg_quality[1] + 1))
            jpeg = (quality, bool(rng.random() < 0.5))
        pair = stack[..., 3:] if pair is not None else None
        return _assemble(
            clean, pair, self.task, rng, sigma, peak, self.mask_kind, self.hole_ratio, jpeg
        )


class ValDataset(Dataset[Item]):
    """Deterministic validation items: the same inputs on every run and machine.

    Item ``i`` is the center crop (or reflect pad) of sample ``i`` to ``size x size``,
    degraded with an RNG seeded by ``i`` alone: synthetic σ cycles through ``sigmas``,
    synthetic masks are of ``mask_kind``. Real pairs are used as they are. With ``gray_share``
    a share of the synthetic-noise items, spread evenly over the indices, is gray with the same
    noise in every channel (as in training).

    Args:
        samples: From ``discover``.
        task: ``"denoise"`` or ``"inpaint"``.
        size: Side of the square items.
        sigmas: Noise levels (0–255 scale) used in turn for synthetic noise.
        mask_kind: Kind of synthetic masks.
        hole_ratio: Range of the hole share of synthetic masks.
        gray_share: Share of gray denoising items, in [0, 1].
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        task: str,
        size: int = 256,
        *,
        sigmas: Sequence[float] = (15.0, 25.0, 50.0),
        mask_kind: str = "mixed",
        hole_ratio: HoleRatio = (0.05, 0.4),
        gray_share: float = 0.0,
    ) -> None:
        _check_options(samples, task, mask_kind)
        if size < 1 or not sigmas:
            raise ValueError(f"need size >= 1 and at least one sigma, got {size}, {sigmas}")
        self.task, self.size, self.sigmas = task, size, tuple(float(s) for s in sigmas)
        self.mask_kind, self.hole_ratio = mask_kind, hole_ratio
        self.gray_share = _checked_share(gray_share)
        self._reader = _SampleReader(samples, task)

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
        sigma = self.sigmas[index % len(self.sigmas)]
        clean = stack[..., :3]
        gray = int((index + 1) * self.gray_share) > int(index * self.gray_share)
        if gray and self.task == "denoise" and pair is None:
            clean = _gray(clean)
        pair = stack[..., 3:] if pair is not None else None
        return _assemble(clean, pair, self.task, rng, sigma, None, self.mask_kind, self.hole_ratio)
