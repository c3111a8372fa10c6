"""The ``inpaint`` task: RGB with holes + mask in, filled RGB out, known pixels kept exactly.

Its training folder holds clean photos (holes are drawn on the fly, as its ``[inpaint]`` config
table says) or clean photos with one mask each (``masks/`` beside ``clean/``, white = hole),
never A/B pairs of photos: a pair of photos does not say where the holes are. ``apply`` routes
every image with a mask (a mask file, a sidecar or transparent pixels) to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch

from ganrestore.data.masks import make_mask
from ganrestore.data.pair_folder import PairFolder
from ganrestore.tasks import (
    Batch,
    Item,
    NetworkRun,
    NoOptions,
    Task,
    from_network_range,
    make_item,
    to_network_range,
)

if TYPE_CHECKING:
    from ganrestore.tasks.inpaint.settings import HoleSettings


@dataclass(frozen=True)
class InpaintOptions(NoOptions):
    """The ``[inpaint]`` config table: the synthetic holes of training and validation items.

    Attributes:
        mask_kind: ``"box"``, ``"free"`` (brush strokes) or ``"mixed"`` (either, at even odds).
        hole_ratio: range of the share of each crop in holes, ``0 <= low <= high < 1``.
    """

    mask_kind: Literal["box", "free", "mixed"] = "mixed"
    hole_ratio: tuple[float, float] = (0.05, 0.4)

    def rules(self) -> list[tuple[str, bool, str]]:
        low, high = self.hole_ratio
        return [
            ("mask_kind", self.mask_kind in ("box", "free", "mixed"), "box, free or mixed"),
            ("hole_ratio", 0 <= low <= high < 1, "0 <= low <= high < 1"),
        ]


class InpaintTask(Task):
    """RGB with holes + mask in, filled RGB out; known pixels are kept exactly.

    Batch keys: ``degraded`` (B,3,H,W) in [0, 1] (its hole pixels are ignored) and ``mask``
    (B,1,H,W) with 1 = hole. The network input zeroes the holes in ``[-1, 1]`` space (mid-grey)
    and appends the mask as a fourth channel.
    """

    name = "inpaint"
    in_channels = 4
    out_channels = 3
    condition_channels = 4
    uses_mask = True
    pair = PairFolder(
        names=("masks",),
        word="mask",
        kind="mask",
        synthetic="holes are drawn on the fly",
        image_pairs=False,
    )
    options_type = InpaintOptions
    ready_config = "inpaint"
    bundled_model = "inpaint"
    route = "masked"
    baselines = ("biharmonic", "fsr_fast", "ns", "shiftmap", "telea")
    purpose = "fills holes"
    eval_options = MappingProxyType({"--mask-kind": "box,free", "--masks": None})
    controls = ("mask", "grow")

    def training_item(
        self,
        clean: np.ndarray,
        pair: np.ndarray | None,
        rng: np.random.Generator,
        options: InpaintOptions,
    ) -> Item:
        """Holes from ``pair`` (a real mask), or drawn with ``rng`` as ``options`` say."""
        if pair is None:
            pair = make_mask(options.mask_kind, *clean.shape[:2], rng, options.hole_ratio)
            pair = pair[..., None]
        return make_item(clean, clean * (1.0 - pair), mask=pair)

    def network_input(self, batch: Batch) -> torch.Tensor:
        mask = batch["mask"]
        known = to_network_range(batch["degraded"]) * (1 - mask)
        return torch.cat([known, mask], dim=1)

    def restore(self, raw: torch.Tensor, batch: Batch) -> torch.Tensor:
        mask = batch["mask"]
        return from_network_range(raw) * mask + batch["degraded"] * (1 - mask)

    def tile_input(self, images: torch.Tensor, masks: torch.Tensor | None) -> torch.Tensor:
        if masks is None:
            raise ValueError("inpainting needs masks (B, 1, H, W), 1 = hole")
        return torch.cat([images, masks.float()], dim=1)

    def tile_batch(self, tiles: torch.Tensor) -> Batch:
        return {"degraded": tiles[:, :3], "mask": tiles[:, 3:4]}

    def skips_tile(self, tile: torch.Tensor) -> bool:
        return not bool((tile[3] > 0.5).any())

    def tile_output(self, raw: torch.Tensor, batch: Batch) -> torch.Tensor:
        return from_network_range(raw)

    def restore_settings(self) -> HoleSettings:
        """How holes are grown, filled and given texture, at their defaults."""
        from ganrestore.tasks.inpaint.settings import HoleSettings  # imports inference's tiling

        return HoleSettings()

    def restore_images(
        self, images: torch.Tensor, masks: torch.Tensor | None, run: NetworkRun
    ) -> torch.Tensor:
        """Holes grown, filled coarse to fine and given the photo's texture
        (:mod:`ganrestore.tasks.inpaint.fill`); ``run.settings`` a
        :class:`~ganrestore.tasks.inpaint.settings.HoleSettings` or None (its defaults)."""
        if masks is None:
            raise ValueError("inpainting needs masks (B, 1, H, W), 1 = hole")
        from ganrestore.tasks.inpaint.fill import fill_images  # imports inference's tiling

        return fill_images(self, images, masks, run)

    def example_batch(self, images: torch.Tensor) -> Batch:
        """``images`` with a box hole over a quarter of their height and a third of their
        width."""
        batch = super().example_batch(images)
        height, width = images.shape[-2:]
        batch["mask"][..., height // 4 : height // 2, width // 3 : 2 * width // 3] = 1
        return batch

    def shown_input(self, batch: Batch) -> torch.Tensor:
        """The photo with its holes black, as the network is told they are unknown."""
        return batch["degraded"] * (1 - batch["mask"])

    def scored_input(self, batch: Batch) -> torch.Tensor:
        """The input as ``ganrestore eval`` makes it: its holes mid-gray, the value a network
        sees there."""
        return batch["degraded"]


def inpaint() -> InpaintTask:
    """Inpainting: RGB with holes + mask (1 = hole) -> RGB, known pixels kept exactly."""
    return InpaintTask()
