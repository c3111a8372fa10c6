"""The ``denoise`` task: noisy RGB in, clean RGB out.

Its training folder holds clean photos (noise is added on the fly, as its ``[denoise]`` config
table says) or real pairs (``degraded/`` or ``noisy/`` beside ``clean/``, or pix2pix A/B
pairs). ``apply`` routes every image without a mask to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import torch

from ganrestore.data.colour import LUMA_WEIGHTS
from ganrestore.data.degradations import draw_sigma, jpeg_recompress, noise_image
from ganrestore.data.overlays import draw_sharp_detail
from ganrestore.data.pair_folder import PairFolder
from ganrestore.tasks import Batch, Item, NoOptions, Task, make_item, to_network_range

#: Rec. 601 luma weights, as PIL's "L" conversion uses.
_LUMA = np.array(LUMA_WEIGHTS, np.float32)
#: The noise levels validation items use in turn (0-255 scale).
VAL_SIGMAS = (15.0, 25.0, 50.0)
#: A JPEG re-compression of a noisy crop: (quality, 4:2:0 chroma subsampling or 4:4:4).
Jpeg = tuple[int, bool]


@dataclass(frozen=True)
class DenoiseOptions(NoOptions):
    """The ``[denoise]`` config table: the synthetic noise of training and validation items.

    Attributes:
        sigma_range: Gaussian σ range on the 0-255 scale.
        sigma_power: σ is ``low + (high - low) * u ** sigma_power`` with ``u`` uniform: 1 draws
            σ uniformly, 2 draws half of the crops from the lowest quarter of the range.
        poisson: share of the noisy crops (True = all) that get shot noise before the Gaussian
            noise, with a photon count at white drawn log-uniformly from ``peak_range``:
            signal-dependent noise, as a camera sensor makes.
        peak_range: photon counts at white for that shot noise.
        gray_share: share of crops turned gray (Rec. 601 luma) and noised alike in all three
            channels, which is what a gray photo is when a restorer repeats it to RGB.
        clean_share: share of crops left without noise (σ 0, no JPEG), so that the model learns
            to leave clean photos alone.
        clean_jpeg_share: share of those clean crops re-saved as JPEG (quality from
            ``jpeg_quality``, 4:2:0 or 4:4:4) and kept as they are, input and target alike: a
            clean photo saved as JPEG must come back unchanged too, its block artefacts
            included.
        jpeg_share: share of the noisy crops re-saved as JPEG, quality drawn from
            ``jpeg_quality``, with 4:2:0 or 4:4:4 chroma at even odds.
        jpeg_quality: range of those JPEG qualities, within [1, 95].
        overlay_share: share of crops that get words and thin lines in strong colours drawn on
            them first (:func:`~ganrestore.data.overlays.draw_sharp_detail`), clean or noisy
            alike: sharp, saturated colour edges are content, not colour noise.
    """

    sigma_range: tuple[float, float] = (0.0, 55.0)
    sigma_power: float = 1.0
    poisson: bool | float = False
    peak_range: tuple[float, float] = (10.0, 1000.0)
    gray_share: float = 0.0
    clean_share: float = 0.0
    clean_jpeg_share: float = 0.0
    jpeg_share: float = 0.0
    jpeg_quality: tuple[int, int] = (60, 95)
    overlay_share: float = 0.0

    def rules(self) -> list[tuple[str, bool, str]]:
        low, high = self.sigma_range
        return [
            ("sigma_range", 0 <= low <= high, "0 <= low <= high"),
            ("sigma_power", self.sigma_power > 0, "positive"),
            ("poisson", 0.0 <= float(self.poisson) <= 1.0, "true, false or a share in [0, 1]"),
            ("peak_range", 0 < self.peak_range[0] <= self.peak_range[1], "0 < low <= high"),
            ("gray_share", 0.0 <= self.gray_share <= 1.0, "in [0, 1]"),
            ("clean_share", 0.0 <= self.clean_share <= 1.0, "in [0, 1]"),
            ("clean_jpeg_share", 0.0 <= self.clean_jpeg_share <= 1.0, "in [0, 1]"),
            ("jpeg_share", 0.0 <= self.jpeg_share <= 1.0, "in [0, 1]"),
            ("jpeg_quality", 1 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 95, "1-95"),
            ("overlay_share", 0.0 <= self.overlay_share <= 1.0, "in [0, 1]"),
        ]


def _gray(clean: np.ndarray) -> np.ndarray:
    """``(S, S, 3)`` -> ``(S, S, 1)`` luma; it is noised once, then repeated to RGB."""
    return clean @ _LUMA[:, None]


def _jpeg_settings(rng: np.random.Generator, options: DenoiseOptions) -> Jpeg:
    """A JPEG quality from ``options.jpeg_quality`` and 4:2:0 or 4:4:4 at even odds."""
    quality = int(rng.integers(options.jpeg_quality[0], options.jpeg_quality[1] + 1))
    return quality, bool(rng.random() < 0.5)


def _noised(
    clean: np.ndarray,
    sigma: float,
    rng: np.random.Generator,
    peak: float | None = None,
    jpeg: Jpeg | None = None,
) -> Item:
    degraded = noise_image(clean, sigma, rng, peak)
    if jpeg is not None:
        degraded = jpeg_recompress(degraded, *jpeg)
    return make_item(clean, degraded, sigma=sigma)


class DenoiseTask(Task):
    """Noisy RGB in, clean RGB out. Batch keys: ``degraded`` (B,3,H,W) in [0, 1]."""

    name = "denoise"
    in_channels = 3
    out_channels = 3
    condition_channels = 3
    pair = PairFolder(
        names=("degraded", "noisy"), word="degraded image", synthetic="noise is added on the fly"
    )
    options_type = DenoiseOptions
    ready_config = "denoise"
    bundled_model = "denoise"
    route = "unmasked"
    baselines = ("bm3d", "nlm", "tv", "wavelet")
    purpose = "removes noise"
    eval_options = MappingProxyType({"--sigma": "15,25,50", "--peak": None, "--jpeg": None})
    controls = ("strength",)

    def training_item(
        self,
        clean: np.ndarray,
        pair: np.ndarray | None,
        rng: np.random.Generator,
        options: DenoiseOptions,
    ) -> Item:
        """Randomness drawn in this order: drawn detail or not and its strokes (only when
        ``overlay_share`` > 0), gray or not (only when ``gray_share`` > 0), clean or
        not (only when ``clean_share`` > 0; then JPEG or not and its settings, only when
        ``clean_jpeg_share`` > 0), σ, shot noise or not (only when ``poisson`` is a
        share below 1), peak, JPEG or not and its settings (only when ``jpeg_share`` > 0),
        then the noise."""
        if pair is not None:
            return make_item(clean, pair)
        if options.overlay_share and rng.random() < options.overlay_share:
            clean = draw_sharp_detail(clean, rng)
        if options.gray_share and rng.random() < options.gray_share:
            clean = _gray(clean)
        if options.clean_share and rng.random() < options.clean_share:
            if options.clean_jpeg_share and rng.random() < options.clean_jpeg_share:
                clean = jpeg_recompress(clean, *_jpeg_settings(rng, options))
            return make_item(clean, clean)
        sigma = draw_sigma(*options.sigma_range, options.sigma_power, rng)
        peak, shot = None, float(options.poisson)
        if shot == 1.0 or (shot and rng.random() < shot):
            low, high = (math.log(value) for value in options.peak_range)
            peak = math.exp(rng.uniform(low, high))
        jpeg = None
        if options.jpeg_share and rng.random() < options.jpeg_share:
            jpeg = _jpeg_settings(rng, options)
        return _noised(clean, sigma, rng, peak, jpeg)

    def validation_item(
        self,
        clean: np.ndarray,
        pair: np.ndarray | None,
        index: int,
        rng: np.random.Generator,
        options: DenoiseOptions,
    ) -> Item:
        """σ cycles through :data:`VAL_SIGMAS`; a ``gray_share`` of the items, spread evenly over
        the indices, is gray with the same noise in every channel (as in training)."""
        if pair is not None:
            return make_item(clean, pair)
        share = options.gray_share
        if int((index + 1) * share) > int(index * share):
            clean = _gray(clean)
        return _noised(clean, VAL_SIGMAS[index % len(VAL_SIGMAS)], rng)

    def network_input(self, batch: Batch) -> torch.Tensor:
        return to_network_range(batch["degraded"])

    def condition(self, batch: Batch) -> torch.Tensor:
        return to_network_range(batch["degraded"])


def denoise() -> DenoiseTask:
    """Blind denoising: noisy RGB -> clean RGB."""
    return DenoiseTask()
