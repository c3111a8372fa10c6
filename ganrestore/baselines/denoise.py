"""Classical denoisers: BM3D, non-local means, total variation, wavelet shrinkage.

Only ``bm3d`` uses the true σ when ``ganrestore eval`` passes it (as published BM3D tables do);
the others are blind and estimate σ from the image itself, like our blind networks. Every one
takes gray ``(H, W, 1)`` and RGB ``(H, W, 3)`` images.
"""

from __future__ import annotations

import numpy as np

from ganrestore.baselines.base import DenoiseBaseline, estimated_sigma
from ganrestore.tasks import Task

BM3D_PROFILES = ("np", "refilter", "vn", "high", "deb")


class BM3D(DenoiseBaseline):
    """BM3D (Dabov et al. 2007) from the ``bm3d`` package; CBM3D on RGB.

    RGB images go through ``bm3d.bm3d_rgb`` (the opponent colour transform of CBM3D, all three
    channels denoised jointly), gray images through ``bm3d.bm3d``. σ is the hint given by
    :meth:`set_sigma` (``ganrestore eval`` passes the true σ), else estimated from the image
    with scikit-image's wavelet estimator. Slow: seconds per 256×256 RGB image.

    Args:
        sigma: noise level on the 0–255 scale; None: estimate it per image.
        profile: BM3D parameter profile: ``"np"`` (normal), ``"refilter"``, ``"vn"``,
            ``"high"`` or ``"deb"``.
    """

    name = "bm3d"
    requires = (("bm3d", "bm3d"),)

    def __init__(self, task: Task, sigma: float | None = None, profile: str = "np") -> None:
        if profile not in BM3D_PROFILES:
            raise ValueError(f"profile must be one of {', '.join(BM3D_PROFILES)}, got {profile!r}")
        super().__init__(task, sigma)
        self.profile = profile

    def restore_array(self, pixels: np.ndarray, holes: np.ndarray | None) -> np.ndarray:
        import bm3d

        sigma = self.sigma / 255.0 if self.sigma is not None else estimated_sigma(pixels)
        if sigma <= 0:
            return pixels
        if pixels.shape[2] == 3:
            return bm3d.bm3d_rgb(pixels, sigma, profile=self.profile)
        return bm3d.bm3d(pixels[..., 0], sigma, profile=self.profile)[..., None]


class NonLocalMeans(DenoiseBaseline):
    """Non-local means (Buades et al. 2005), scikit-image's fast mode; blind.

    σ is always **estimated** from the image (scikit-image's wavelet estimator), never taken
    from the hint: the filter strength is ``h = strength × σ̂`` with σ̂ also passed as the
    noise level, over 5×5 patches searched within 13×13 (scikit-image's documented settings).

    Args:
        strength: ``h / σ̂``; scikit-image suggests 0.8 in fast mode.
        patch_size: side of the compared patches.
        patch_distance: search radius in pixels.
    """

    name = "nlm"

    def __init__(
        self, task: Task, strength: float = 0.8, patch_size: int = 5, patch_distance: int = 6
    ) -> None:
        if strength <= 0 or patch_size < 1 or patch_distance < 1:
            raise ValueError("strength must be > 0, patch_size and patch_distance >= 1")
        super().__init__(task)
        self.strength, self.patch_size, self.patch_distance = strength, patch_size, patch_distance

    def restore_array(self, pixels: np.ndarray, holes: np.ndarray | None) -> np.ndarray:
        from skimage.restoration import denoise_nl_means

        sigma = estimated_sigma(pixels)
        if sigma <= 0:
            return pixels
        return denoise_nl_means(
            pixels,
            h=self.strength * sigma,
            sigma=sigma,
            fast_mode=True,
            patch_size=self.patch_size,
            patch_distance=self.patch_distance,
            channel_axis=-1,
        ).reshape(pixels.shape)


class TotalVariation(DenoiseBaseline):
    """Total-variation denoising (Chambolle's projection), scikit-image; blind.

    The weight is ``strength × σ̂`` with σ̂ **estimated** from the image (on [0, 1]); the
    default strength 1.0 was chosen on photos outside the evaluation set (immunohistochemistry,
    retina, coins, brick from scikit-image) at σ 15/25/50. The hint is not used.

    Args:
        strength: weight / σ̂.
    """

    name = "tv"

    def __init__(self, task: Task, strength: float = 1.0) -> None:
        if strength <= 0:
            raise ValueError(f"strength must be > 0, got {strength}")
        super().__init__(task)
        self.strength = strength

    def restore_array(self, pixels: np.ndarray, holes: np.ndarray | None) -> np.ndarray:
        from skimage.restoration import denoise_tv_chambolle

        sigma = estimated_sigma(pixels)
        if sigma <= 0:
            return pixels
        return denoise_tv_chambolle(pixels, weight=self.strength * sigma, channel_axis=-1)


class WaveletShrinkage(DenoiseBaseline):
    """Wavelet soft thresholding with BayesShrink (Chang et al. 2000), scikit-image; blind.

    σ is **estimated** by ``denoise_wavelet`` itself; RGB is denoised in YCbCr. The hint is
    not used.
    """

    name = "wavelet"

    def restore_array(self, pixels: np.ndarray, holes: np.ndarray | None) -> np.ndarray:
        from skimage.restoration import denoise_wavelet

        rgb = pixels.shape[2] == 3
        return denoise_wavelet(
            pixels if rgb else pixels[..., 0],
            method="BayesShrink",
            mode="soft",
            rescale_sigma=True,
            convert2ycbcr=rgb,
            channel_axis=-1 if rgb else None,
        ).reshape(pixels.shape)
