"""A deblurring task, as a third party would ship one: Gaussian blur in, sharp image out.

ganrestore finds it through the ``ganrestore.tasks`` entry point in this package's
``pyproject.toml``; nothing in ganrestore names it. It trains on a folder of sharp photos
(blur is added on the fly) or on ``clean/`` + ``blurred/`` pairs, and ``ganrestore eval --task
deblur`` scores models on photos blurred the way its validation items are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from ganrestore.data.pair_folder import PairFolder
from ganrestore.tasks import Batch, Item, NoOptions, Task, make_item, to_network_range


@dataclass(frozen=True)
class DeblurOptions(NoOptions):
    """The ``[deblur]`` config table.

    Attributes:
        blur_range: range of the Gaussian blur's standard deviation, in pixels.
        val_blur: the blur of validation and evaluation items, in pixels.
    """

    blur_range: tuple[float, float] = (0.5, 2.5)
    val_blur: float = 1.5

    def rules(self) -> list[tuple[str, bool, str]]:
        low, high = self.blur_range
        return [
            ("blur_range", 0 < low <= high, "0 < low <= high"),
            ("val_blur", self.val_blur > 0, "positive"),
        ]


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """``(H, W, C)`` float32 in [0, 1] blurred with a Gaussian of ``sigma`` pixels."""
    blurred = cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)
    return blurred.reshape(image.shape)


class DeblurTask(Task):
    """Blurred RGB in, sharp RGB out (3 channels each, same size)."""

    name = "deblur"
    in_channels = 3
    out_channels = 3
    condition_channels = 3
    pair = PairFolder(
        names=("blurred",), word="blurred image", synthetic="blur is added on the fly"
    )
    options_type = DeblurOptions
    ready_config = str(Path(__file__).with_name("deblur.toml"))

    def training_item(
        self,
        clean: np.ndarray,
        pair: np.ndarray | None,
        rng: np.random.Generator,
        options: DeblurOptions,
    ) -> Item:
        if pair is not None:
            return make_item(clean, pair)
        return make_item(clean, gaussian_blur(clean, float(rng.uniform(*options.blur_range))))

    def validation_item(
        self,
        clean: np.ndarray,
        pair: np.ndarray | None,
        index: int,
        rng: np.random.Generator,
        options: DeblurOptions,
    ) -> Item:
        if pair is not None:
            return make_item(clean, pair)
        return make_item(clean, gaussian_blur(clean, options.val_blur))

    def network_input(self, batch: Batch) -> torch.Tensor:
        return to_network_range(batch["degraded"])


def deblur() -> DeblurTask:
    """Deblurring: Gaussian-blurred RGB -> sharp RGB."""
    return DeblurTask()
