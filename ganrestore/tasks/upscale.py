"""The ``upscale-x2`` and ``upscale-x4`` tasks: a small RGB photo in, one 2 or 4 times larger out.

Built as a third-party task would be: one :class:`UpscaleTask` class, registered once per scale
through the ``ganrestore.tasks`` entry points. Its training folder holds clean photos; each crop
is made small on the fly as its ``[upscale]`` config table says: a bicubic downscale (what
:func:`bicubic_downscale` does, antialiased as MATLAB's ``imresize`` and Pillow do), optionally
after a blur and followed by noise and a JPEG re-save, as the Real-ESRGAN recipe degrades
photos so that real small photos are served, not only clean bicubic ones. Validation items and
``ganrestore eval`` use the plain bicubic downscale.

A training folder may hold real pairs instead: ``clean/NAME.png`` beside ``small/NAME.png``,
``scale`` times smaller (:attr:`UpscaleTask.pair`); their crops are used as they are, with no
degradation made on the fly.

The network gets the small image; its output is ``scale`` times larger. What is shown beside it
(and what a conditional discriminator sees) is the bicubic upscale of the input.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as functional
from PIL import Image

from ganrestore.data.degradations import jpeg_recompress, noise_image
from ganrestore.data.pair_folder import PairFolder
from ganrestore.tasks import (
    Batch,
    Item,
    NoOptions,
    Scoring,
    Task,
    from_network_range,
    make_item,
    to_network_range,
)


@dataclass(frozen=True)
class UpscaleOptions(NoOptions):
    """The ``[upscale]`` config table: how training crops are made small.

    Every crop is bicubically downscaled; these shares add the degradations of real small
    photos (training only; validation uses the plain downscale).

    Attributes:
        blur_share: share of crops blurred (Gaussian, σ from ``blur_sigma`` in pixels of the
            large image) before the downscale: a soft lens or an earlier resize.
        blur_sigma: range of that blur's σ.
        noise_share: share of crops that get Gaussian noise after the downscale.
        noise_sigma: range of that noise's σ, 0-255 scale.
        jpeg_share: share of crops re-saved as JPEG last (quality from ``jpeg_quality``,
            4:2:0 or 4:4:4 at even odds).
        jpeg_quality: range of those qualities, within [1, 95].
    """

    blur_share: float = 0.0
    blur_sigma: tuple[float, float] = (0.2, 1.5)
    noise_share: float = 0.0
    noise_sigma: tuple[float, float] = (1.0, 10.0)
    jpeg_share: float = 0.0
    jpeg_quality: tuple[int, int] = (60, 95)

    def rules(self) -> list[tuple[str, bool, str]]:
        return [
            ("blur_share", 0.0 <= self.blur_share <= 1.0, "in [0, 1]"),
            ("blur_sigma", 0 < self.blur_sigma[0] <= self.blur_sigma[1], "0 < low <= high"),
            ("noise_share", 0.0 <= self.noise_share <= 1.0, "in [0, 1]"),
            ("noise_sigma", 0 <= self.noise_sigma[0] <= self.noise_sigma[1], "0 <= low <= high"),
            ("jpeg_share", 0.0 <= self.jpeg_share <= 1.0, "in [0, 1]"),
            ("jpeg_quality", 1 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 95, "1-95"),
        ]


def resized(image: np.ndarray, width: int, height: int, resample: Image.Resampling) -> np.ndarray:
    """``(H, W, C)`` float -> ``(height, width, C)`` float32, each channel resized by Pillow in
    32-bit float (no 8-bit rounding), with ``resample``'s kernel (antialiased when it shrinks)."""
    channels = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(image[..., c], np.float32), mode="F").resize(
                (width, height), resample
            )
        )
        for c in range(image.shape[2])
    ]
    return np.stack(channels, axis=2)


def bicubic_downscale(image: np.ndarray, scale: int) -> np.ndarray:
    """``(H, W, C)`` float in [0, 1] -> ``(H // scale, W // scale, C)`` float32, bicubic with
    antialiasing (Pillow's, as MATLAB's ``imresize``), quantised to 8 bits as a saved small
    photo is. ``H`` and ``W`` should be multiples of ``scale`` (the rest is cut off first)."""
    height, width = (side // scale * scale for side in image.shape[:2])
    small = resized(
        image[:height, :width], width // scale, height // scale, Image.Resampling.BICUBIC
    )
    return (np.rint(np.clip(small, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)


def _gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """``(H, W, C)`` float blurred by a separable Gaussian of ``sigma`` pixels (reflect)."""
    radius = max(1, int(np.ceil(3 * sigma)))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel = torch.from_numpy((taps / taps.sum()).astype(np.float32))
    tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[:, None]
    padded = functional.pad(tensor, (radius, radius, radius, radius), mode="reflect")
    blurred = functional.conv2d(padded, kernel.view(1, 1, 1, -1))
    blurred = functional.conv2d(blurred, kernel.view(1, 1, -1, 1))
    return blurred[:, 0].numpy().transpose(1, 2, 0)


def bicubic_upscale(images: torch.Tensor, scale: int) -> torch.Tensor:
    """``(B, C, H, W)`` in [0, 1] -> ``(B, C, scale·H, scale·W)`` bicubic, clamped to [0, 1]."""
    return functional.interpolate(
        images, scale_factor=scale, mode="bicubic", align_corners=False
    ).clamp(0, 1)


class UpscaleTask(Task):
    """Small RGB in, ``scale`` times larger RGB out.

    Batch keys: ``degraded`` (B,3,H,W) in [0, 1], the small image, and ``clean``
    (B,3,scale·H,scale·W). The network input is the small image in [-1, 1].
    """

    in_channels = 3
    out_channels = 3
    condition_channels = 3
    #: Real pairs: ``small/`` images ``scale`` times smaller than their clean photos. Each
    #: instance holds its own, of its scale; this one, of scale 1, only describes the class.
    pair = PairFolder(
        names=("small",),
        word="small image",
        synthetic="each photo is made small on the fly",
        image_pairs=False,
    )
    options_type = UpscaleOptions
    purpose = "enlarges images"
    baselines = ("bicubic", "lanczos")
    controls = ("strength",)

    def __init__(self, scale: int) -> None:
        self.scale = scale  # type: ignore[misc]  # a per-instance value of the ClassVar
        self.name = f"upscale-x{scale}"  # type: ignore[misc]
        self.ready_config = self.name  # type: ignore[misc]
        self.bundled_model = self.name  # type: ignore[misc]
        self.pair = replace(UpscaleTask.pair, scale=scale)  # type: ignore[misc]

    def training_item(
        self,
        clean: np.ndarray,
        pair: np.ndarray | None,
        rng: np.random.Generator,
        options: UpscaleOptions,
    ) -> Item:
        """Randomness drawn in this order: blur or not and its σ, noise or not and its σ,
        JPEG or not and its settings (each only when its share is above 0), then the noise.

        A real small image ``pair`` (``(S // scale, S // scale, 3)``, the same area as
        ``clean``) is the input as it is: nothing is drawn, the options do not apply."""
        if pair is not None:
            return self._real_pair_item(clean, pair)
        clean = self._cut(clean)
        source = clean
        if options.blur_share and rng.random() < options.blur_share:
            source = _gaussian_blur(clean, float(rng.uniform(*options.blur_sigma)))
        small = bicubic_downscale(source, self.scale)
        if options.noise_share and rng.random() < options.noise_share:
            sigma = float(rng.uniform(*options.noise_sigma))
            small = noise_image(small, sigma, rng)
        if options.jpeg_share and rng.random() < options.jpeg_share:
            quality = int(rng.integers(options.jpeg_quality[0], options.jpeg_quality[1] + 1))
            small = jpeg_recompress(small, quality, bool(rng.random() < 0.5))
        return make_item(clean, small)

    def validation_item(
        self,
        clean: np.ndarray,
        pair: np.ndarray | None,
        index: int,
        rng: np.random.Generator,
        options: UpscaleOptions,
    ) -> Item:
        """The plain bicubic downscale (``clean`` cut to a multiple of the scale), or the
        real small image ``pair`` as it is."""
        if pair is not None:
            return self._real_pair_item(clean, pair)
        clean = self._cut(clean)
        return make_item(clean, bicubic_downscale(clean, self.scale))

    def _real_pair_item(self, clean: np.ndarray, pair: np.ndarray) -> Item:
        """The item of a real pair: ``clean`` ``(H, W, 3)`` cut to a multiple of the scale,
        and its small image ``(H // scale, W // scale, 3)``, both in [0, 1]."""
        clean = self._cut(clean)
        expected = (clean.shape[0] // self.scale, clean.shape[1] // self.scale)
        if pair.shape[:2] != expected:
            raise ValueError(
                f"a small image for {self.name} of a {clean.shape[1]}x{clean.shape[0]} crop "
                f"must be {expected[1]}x{expected[0]}, got {pair.shape[1]}x{pair.shape[0]}"
            )
        return make_item(clean, pair)

    def _cut(self, clean: np.ndarray) -> np.ndarray:
        """``clean`` ``(H, W, C)`` without the last rows and columns past a multiple of the
        scale (what eval cuts too: a small image of ``H // scale`` rows makes these)."""
        height, width = (side // self.scale * self.scale for side in clean.shape[:2])
        return clean[:height, :width]

    def network_input(self, batch: Batch) -> torch.Tensor:
        return to_network_range(batch["degraded"])

    def restore(self, raw: torch.Tensor, batch: Batch) -> torch.Tensor:
        return from_network_range(raw)

    def shown_input(self, batch: Batch) -> torch.Tensor:
        """The bicubic upscale of the small input, at the output's size."""
        return bicubic_upscale(batch["degraded"], self.scale)

    def condition(self, batch: Batch) -> torch.Tensor:
        """The bicubic upscale of the input in [-1, 1]: a discriminator sees it beside the
        output, at the output's size."""
        return to_network_range(self.shown_input(batch))

    def eval_scoring(self) -> Scoring:
        """The super-resolution protocol: ``scale`` pixels cut from each side before every
        metric, and the detail ratio over the whole image (an upscale's point is its detail)."""
        return Scoring(border=self.scale, detail=True)


def upscale_x2() -> UpscaleTask:
    """×2 upscaling: RGB -> RGB twice as wide and high."""
    return UpscaleTask(2)


def upscale_x4() -> UpscaleTask:
    """×4 upscaling: RGB -> RGB four times as wide and high."""
    return UpscaleTask(4)
