"""Classical inpainting: OpenCV's Telea and Navier-Stokes, scikit-image's biharmonic.

Each fills the pixels where the mask is 1 from the known ones around them; known pixels come
back bit for bit (the base class copies them). Gray ``(H, W, 1)`` and RGB images both work.
"""

from __future__ import annotations

import numpy as np

from ganrestore.baselines.base import InpaintBaseline


class _OpenCVInpaint(InpaintBaseline):
    """``cv2.inpaint`` on the image quantized to 8 bits (OpenCV's colour inpainting is 8-bit).

    Args:
        radius: neighbourhood radius in pixels considered around each filled pixel.
    """

    flag_name: str

    def __init__(self, radius: int = 3) -> None:
        if radius < 1:
            raise ValueError(f"radius must be >= 1, got {radius}")
        super().__init__()
        self.radius = radius

    def restore_array(self, pixels: np.ndarray, holes: np.ndarray | None) -> np.ndarray:
        import cv2

        assert holes is not None  # the base class gives every inpainting baseline a mask
        image = np.rint(np.clip(pixels, 0, 1) * 255).astype(np.uint8)
        flag = getattr(cv2, self.flag_name)
        filled = cv2.inpaint(image, holes.astype(np.uint8), self.radius, flag)
        return filled.reshape(pixels.shape).astype(np.float64) / 255.0


class Telea(_OpenCVInpaint):
    """Fast marching inpainting (Telea 2004), ``cv2.INPAINT_TELEA``.

    Args:
        radius: neighbourhood radius in pixels.
    """

    name = "telea"
    flag_name = "INPAINT_TELEA"


class NavierStokes(_OpenCVInpaint):
    """Navier-Stokes inpainting (Bertalmio et al. 2001), ``cv2.INPAINT_NS``.

    Args:
        radius: neighbourhood radius in pixels.
    """

    name = "ns"
    flag_name = "INPAINT_NS"


class Biharmonic(InpaintBaseline):
    """Biharmonic inpainting (Damelin and Hoang 2018), scikit-image ``inpaint_biharmonic``.

    Solves a sparse linear system per hole region in float: smooth fills, slow on huge holes.
    """

    name = "biharmonic"

    def restore_array(self, pixels: np.ndarray, holes: np.ndarray | None) -> np.ndarray:
        from skimage.restoration import inpaint_biharmonic

        assert holes is not None
        return inpaint_biharmonic(pixels, holes, channel_axis=-1)
