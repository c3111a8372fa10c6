"""Synthetic noise for denoising: batch-level torch functions with an explicit generator.

σ is on the 0–255 scale (``docs/conventions.md``) and divided by 255 here. The per-image
helper ``noise_image`` used by datasets seeds a torch generator from a numpy one and calls the
batch functions, so there is a single implementation of each kind of noise.
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch
from PIL import Image


def _per_image(values: torch.Tensor | float, images: torch.Tensor, name: str) -> torch.Tensor:
    """A scalar or ``(B,)`` tensor -> ``(B, 1, 1, 1)`` on the images' device and dtype."""
    values = torch.as_tensor(values, dtype=images.dtype, device=images.device)
    if values.ndim == 0:
        values = values.expand(images.shape[0])
    if values.shape != (images.shape[0],):
        raise ValueError(
            f"{name} must be a scalar or have shape ({images.shape[0]},), got {tuple(values.shape)}"
        )
    return values.view(-1, 1, 1, 1)


def _check_images(images: torch.Tensor) -> None:
    if images.ndim != 4 or not images.is_floating_point():
        raise ValueError(f"images must be a float (B, C, H, W) tensor, got {tuple(images.shape)}")


def add_gaussian_noise(
    images: torch.Tensor,
    sigma: torch.Tensor | float,
    generator: torch.Generator,
    clip: bool = True,
) -> torch.Tensor:
    """Adds white Gaussian noise of standard deviation ``sigma / 255``.

    Args:
        images: ``(B, C, H, W)`` float in ``[0, 1]``.
        sigma: ``(B,)`` (or a scalar) noise level per image on the 0–255 scale, ``>= 0``.
        generator: Source of the noise; must live on the images' device.
        clip: Clip the result to ``[0, 1]`` (as a saved noisy image would be).

    Returns:
        ``(B, C, H, W)`` noisy images, in ``[0, 1]`` when ``clip``.
    """
    _check_images(images)
    sigma = _per_image(sigma, images, "sigma")
    if (sigma < 0).any():
        raise ValueError("sigma must be >= 0")
    noise = torch.randn(images.shape, generator=generator, device=images.device, dtype=images.dtype)
    noisy = images + noise * (sigma / 255.0)
    return noisy.clamp(0.0, 1.0) if clip else noisy


def add_poisson_gaussian_noise(
    images: torch.Tensor,
    peak: torch.Tensor | float,
    sigma: torch.Tensor | float,
    generator: torch.Generator,
    clip: bool = True,
) -> torch.Tensor:
    """Adds signal-dependent shot noise, then Gaussian read noise (a camera-sensor model).

    Each pixel becomes ``Poisson(x * peak) / peak``: ``peak`` is the photon count of a white
    pixel, so a smaller peak means a darker, noisier capture (variance ``x / peak``).

    Args:
        images: ``(B, C, H, W)`` float in ``[0, 1]``.
        peak: ``(B,)`` (or a scalar) photon count at white, ``> 0``.
        sigma: ``(B,)`` (or a scalar) Gaussian read-noise level on the 0–255 scale.
        generator: Source of the noise; must live on the images' device.
        clip: Clip the result to ``[0, 1]``.

    Returns:
        ``(B, C, H, W)`` noisy images.
    """
    _check_images(images)
    peak = _per_image(peak, images, "peak")
    if (peak <= 0).any():
        raise ValueError("peak must be > 0")
    photons = torch.poisson(images.clamp(min=0.0) * peak, generator=generator)
    return add_gaussian_noise(photons / peak, sigma, generator, clip)


def sample_sigma(batch: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    """``(batch,)`` noise levels drawn uniformly on ``[low, high]`` (0–255 scale)."""
    if not 0.0 <= low <= high:
        raise ValueError(f"need 0 <= low <= high, got low={low}, high={high}")
    uniform = torch.rand(batch, generator=generator, device=generator.device)
    return low + (high - low) * uniform


def draw_sigma(low: float, high: float, power: float, rng: np.random.Generator) -> float:
    """One noise level ``low + (high - low) * u ** power`` with ``u`` uniform on ``[0, 1)``.

    ``power = 1`` is uniform on ``[low, high]``; ``power = 2`` puts half of the draws in the
    lowest quarter of the range, where real photos are and where a blind model trained on a
    uniform draw is weakest (its loss is dominated by heavy noise).
    """
    if not 0.0 <= low <= high or power <= 0:
        raise ValueError(f"need 0 <= low <= high and power > 0, got {low}, {high}, {power}")
    return low + (high - low) * float(rng.uniform()) ** power


def jpeg_recompress(image: np.ndarray, quality: int, chroma_subsampling: bool) -> np.ndarray:
    """Saves one image as JPEG in memory and decodes it again, as a camera or an editor would.

    With ``chroma_subsampling`` colour is stored at half resolution in both directions (4:2:0,
    Pillow's default), which turns white noise into the coloured blotches of noisy JPEGs;
    without it, 4:4:4.

    Args:
        image: ``(H, W, 1)`` gray or ``(H, W, 3)`` RGB float in ``[0, 1]``.
        quality: JPEG quality, 1-95.
        chroma_subsampling: 4:2:0 when True, else 4:4:4 (ignored for gray images).

    Returns:
        ``(H, W, C)`` float32 in ``[0, 1]``, quantised to 8 bits.
    """
    if image.ndim != 3 or image.shape[2] not in (1, 3):
        raise ValueError(f"image must be (H, W, 1) or (H, W, 3), got {image.shape}")
    if not 1 <= quality <= 95:
        raise ValueError(f"quality must be in [1, 95], got {quality}")
    pixels = np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)
    picture = Image.fromarray(pixels[..., 0] if image.shape[2] == 1 else pixels)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=int(quality), subsampling=2 if chroma_subsampling else 0)
    decoded = np.asarray(Image.open(buffer), dtype=np.float32) / 255.0
    return decoded.reshape(image.shape)


def sample_peak(batch: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    """``(batch,)`` photon counts at white, log-uniform on ``[low, high]``."""
    if not 0.0 < low <= high:
        raise ValueError(f"need 0 < low <= high, got low={low}, high={high}")
    uniform = torch.rand(batch, generator=generator, device=generator.device)
    return torch.exp(math.log(low) + (math.log(high) - math.log(low)) * uniform)


def noise_image(
    image: np.ndarray,
    sigma: float,
    rng: np.random.Generator,
    peak: float | None = None,
    clip: bool = True,
) -> np.ndarray:
    """Noise for one ``(H, W, C)`` float image, driven by a numpy generator.

    Draws one 63-bit seed from ``rng`` for a CPU ``torch.Generator`` and calls the batch
    functions above, so datasets and batch code share one implementation.

    Args:
        image: ``(H, W, C)`` float in ``[0, 1]``.
        sigma: Gaussian noise level on the 0–255 scale.
        rng: The only source of randomness.
        peak: Photon count at white for Poisson-Gaussian noise, or None for Gaussian only.
        clip: Clip the result to ``[0, 1]``.

    Returns:
        ``(H, W, C)`` float32 noisy image.
    """
    generator = torch.Generator().manual_seed(int(rng.integers(0, 2**63 - 1)))
    batch = torch.from_numpy(np.array(image, dtype=np.float32)).permute(2, 0, 1)[None]
    if peak is None:
        noisy = add_gaussian_noise(batch, float(sigma), generator, clip)
    else:
        noisy = add_poisson_gaussian_noise(batch, float(peak), float(sigma), generator, clip)
    return np.ascontiguousarray(noisy[0].permute(1, 2, 0).numpy())
