"""Classical inpainting: OpenCV's Telea and Navier-Stokes, scikit-image's biharmonic.

Each fills the pixels where the mask is 1 from the known ones around them; known pixels come
back bit for bit (the base class copies them). Gray ``(H, W, 1)`` and RGB images both work.
"""

from __future__ import annotations

import numpy as np

from ganrestore.baselines.base import BaselineDependencyError, InpaintBaseline
from ganrestore.tasks import Task


class _OpenCVInpaint(InpaintBaseline):
    """``cv2.inpaint`` on the image quantized to 8 bits (OpenCV's colour inpainting is 8-bit).

    Args:
        radius: neighbourhood radius in pixels considered around each filled pixel.
    """

    flag_name: str

    def __init__(self, task: Task, radius: int = 3) -> None:
        if radius < 1:
            raise ValueError(f"radius must be >= 1, got {radius}")
        super().__init__(task)
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


class _XPhotoInpaint(InpaintBaseline):
    """``cv2.xphoto.inpaint`` (OpenCV contrib) on the image quantized to 8 bits.

    Needs the ``cv2.xphoto`` module of ``opencv-contrib-python-headless``, a ganrestore
    dependency (the plain ``opencv-python`` wheels lack it).
    """

    algorithm_name: str

    def __init__(self, task: Task) -> None:
        super().__init__(task)
        import cv2

        # A plain opencv-python installed over the contrib wheel leaves an empty cv2.xphoto.
        if not hasattr(getattr(cv2, "xphoto", None), "inpaint"):
            raise BaselineDependencyError(
                f"baseline '{self.name}' needs OpenCV's contrib module xphoto, which this cv2 "
                f"(version {cv2.__version__}) lacks; run pip uninstall opencv-python "
                "opencv-python-headless, then pip install --force-reinstall "
                "opencv-contrib-python-headless"
            )

    def restore_array(self, pixels: np.ndarray, holes: np.ndarray | None) -> np.ndarray:
        import cv2

        assert holes is not None
        image = np.rint(np.clip(pixels, 0, 1) * 255).astype(np.uint8)
        channels = image.shape[2]
        if channels == 1:  # SHIFTMAP takes colour images only: every gray image goes as RGB
            image = np.repeat(image, 3, axis=2)
        # OpenCV writes into ``filled`` only when it is C-contiguous; the batch's pixels may not
        # be (a permuted tensor), and zeros_like would keep their layout.
        image = np.ascontiguousarray(image)
        known = np.where(holes, 0, 255).astype(np.uint8)  # xphoto: non-zero = known
        filled = np.zeros(image.shape, np.uint8)
        cv2.xphoto.inpaint(image, known, filled, getattr(cv2.xphoto, self.algorithm_name))
        return filled[..., :channels].astype(np.float64) / 255.0


class FSRFast(_XPhotoInpaint):
    """Frequency-selective reconstruction (Seiler et al. 2015), fast variant:
    ``cv2.xphoto.INPAINT_FSR_FAST``. Smooth, structure-aware fills; a few seconds per 1 MP photo.
    """

    name = "fsr_fast"
    algorithm_name = "INPAINT_FSR_FAST"


class ShiftMap(_XPhotoInpaint):
    """Shift-map inpainting (He and Sun 2012): ``cv2.xphoto.INPAINT_SHIFTMAP``.

    Copies whole patches of the known region into the hole: real texture, often misplaced.
    """

    name = "shiftmap"
    algorithm_name = "INPAINT_SHIFTMAP"
