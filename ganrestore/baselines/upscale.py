"""Classical upscaling: bicubic and Lanczos interpolation, at the scale of the task they serve.

One baseline serves every upscaling task: it is built for a task and takes the task's
``scale`` (``upscale-x2``: 2, ``upscale-x4``: 4), so ``--model baseline:bicubic`` is the bicubic
row of either table. Both run Pillow's resampling on each channel in 32-bit float (no 8-bit
rounding before the caller's), with Pillow's kernels: bicubic is Keys' cubic with a = -0.5, the
kernel of MATLAB's ``imresize`` behind the "Bicubic" rows of super-resolution papers (torch's
bicubic, with which ``ganrestore eval`` shows its ``input`` row and the upnet network starts,
uses a = -0.75: a slightly sharper curve, so the two rows differ a little); Lanczos is the
windowed sinc of 3 lobes. At the image's edge Pillow weighs the pixels inside it alone.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from PIL import Image

from ganrestore.baselines.base import Baseline
from ganrestore.tasks.upscale import resized


class _PillowUpscale(Baseline):
    """Each channel resized ``scale`` times with Pillow's ``resample`` filter, in float."""

    resample: ClassVar[Image.Resampling]

    def restore_array(self, pixels: np.ndarray, holes: np.ndarray | None) -> np.ndarray:
        height, width = pixels.shape[:2]
        return resized(pixels, width * self.scale, height * self.scale, self.resample)


class Bicubic(_PillowUpscale):
    """Bicubic interpolation (Keys' cubic, a = -0.5, as MATLAB's ``imresize``), ``scale`` times
    larger: the reference row of super-resolution papers. Pillow, in float, per channel."""

    name = "bicubic"
    resample = Image.Resampling.BICUBIC


class Lanczos(_PillowUpscale):
    """Lanczos interpolation (a sinc windowed over 3 lobes), ``scale`` times larger: a little
    sharper than bicubic, with faint ringing at strong edges. Pillow, in float, per channel."""

    name = "lanczos"
    resample = Image.Resampling.LANCZOS
