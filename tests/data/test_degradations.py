"""ganrestore.data.degradations: noise statistics and determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganrestore.data.degradations import (
    add_gaussian_noise,
    add_poisson_gaussian_noise,
    draw_sigma,
    jpeg_recompress,
    noise_image,
    sample_peak,
    sample_sigma,
)


@pytest.fixture
def batch(astronaut: np.ndarray) -> torch.Tensor:
    """(3, 3, 48, 64): the astronaut crop three times, float in [0, 1]."""
    image = torch.from_numpy(astronaut).permute(2, 0, 1).float() / 255
    return image.expand(3, -1, -1, -1).contiguous()


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


class TestGaussian:
    def test_std_matches_sigma_per_image_without_clipping(self, batch):
        sigma = torch.tensor([5.0, 25.0, 50.0])

        noisy = add_gaussian_noise(batch, sigma, generator(), clip=False)

        residual = noisy - batch
        torch.testing.assert_close(residual.std(dim=(1, 2, 3)), sigma / 255, rtol=0.03, atol=0)
        assert residual.mean(dim=(1, 2, 3)).abs().max() < 0.01

    def test_clipped_to_unit_range_and_zero_sigma_is_identity(self, batch):
        noisy = add_gaussian_noise(batch, torch.tensor([0.0, 50.0, 50.0]), generator())

        assert noisy.min() >= 0 and noisy.max() <= 1
        assert torch.equal(noisy[0], batch[0])

    def test_same_generator_seed_same_noise(self, batch):
        first = add_gaussian_noise(batch, 25.0, generator(7))

        assert torch.equal(first, add_gaussian_noise(batch, 25.0, generator(7)))
        assert not torch.equal(first, add_gaussian_noise(batch, 25.0, generator(8)))

    def test_rejects_wrong_sigma_shape_and_negative_sigma(self, batch):
        with pytest.raises(ValueError, match=r"shape \(3,\)"):
            add_gaussian_noise(batch, torch.ones(2), generator())
        with pytest.raises(ValueError, match=">= 0"):
            add_gaussian_noise(batch, -1.0, generator())


class TestPoissonGaussian:
    def test_mean_and_variance_follow_the_sensor_model(self):
        level, peak, sigma = 0.4, 50.0, 10.0
        flat = torch.full((2, 3, 64, 64), level)

        noisy = add_poisson_gaussian_noise(
            flat, torch.tensor([peak, peak]), torch.tensor([sigma, sigma]), generator(), clip=False
        )

        expected_variance = level / peak + (sigma / 255) ** 2
        assert noisy.mean().item() == pytest.approx(level, abs=0.005)
        assert noisy.var().item() == pytest.approx(expected_variance, rel=0.05)

    def test_higher_peak_is_less_noisy(self, batch):
        dim = add_poisson_gaussian_noise(batch[:1], 5.0, 0.0, generator(), clip=False)
        bright = add_poisson_gaussian_noise(batch[:1], 500.0, 0.0, generator(), clip=False)

        assert (bright - batch[:1]).std() < (dim - batch[:1]).std() / 5

    def test_rejects_non_positive_peak(self, batch):
        with pytest.raises(ValueError, match="peak"):
            add_poisson_gaussian_noise(batch, 0.0, 5.0, generator())


def test_sample_sigma_uniform_in_range():
    sigma = sample_sigma(4000, 5.0, 55.0, generator())

    assert sigma.shape == (4000,)
    assert sigma.min() >= 5.0 and sigma.max() <= 55.0
    assert sigma.mean().item() == pytest.approx(30.0, abs=1.0)
    assert torch.equal(sample_sigma(3, 25.0, 25.0, generator()), torch.full((3,), 25.0))
    with pytest.raises(ValueError, match="low <= high"):
        sample_sigma(3, 10.0, 5.0, generator())


def test_sample_peak_log_uniform_in_range():
    peak = sample_peak(4000, 10.0, 1000.0, generator())

    assert peak.min() >= 10.0 and peak.max() <= 1000.0
    assert peak.log10().mean().item() == pytest.approx(2.0, abs=0.05)


class TestNoiseImage:
    def test_same_rng_seed_same_noise_and_shape(self, astronaut):
        image = astronaut / np.float32(255)

        first = noise_image(image, 25.0, np.random.default_rng(3))

        assert first.shape == image.shape and first.dtype == np.float32
        np.testing.assert_array_equal(first, noise_image(image, 25.0, np.random.default_rng(3)))
        assert not np.array_equal(first, noise_image(image, 25.0, np.random.default_rng(4)))

    def test_is_the_batch_function_seeded_from_the_rng(self, astronaut):
        image = astronaut / np.float32(255)
        seed = int(np.random.default_rng(5).integers(0, 2**63 - 1))
        tensor = torch.from_numpy(image).permute(2, 0, 1)[None]

        expected = add_poisson_gaussian_noise(tensor, 30.0, 15.0, generator(seed))

        result = noise_image(image, 15.0, np.random.default_rng(5), peak=30.0)
        np.testing.assert_array_equal(result, expected[0].permute(1, 2, 0).numpy())

    def test_std_matches_sigma(self, astronaut):
        image = astronaut / np.float32(255)

        noisy = noise_image(image, 30.0, np.random.default_rng(0), clip=False)

        assert (noisy - image).std() == pytest.approx(30.0 / 255, rel=0.03)


class TestJpegRecompress:
    """JPEG re-compression, as noisy photos reach a user."""

    def test_chroma_subsampling_blurs_the_colour_of_the_noise(self, astronaut):
        rng = np.random.default_rng(0)
        clean = astronaut.astype(np.float32) / 255.0
        noisy = np.clip(clean + rng.normal(0, 25 / 255, clean.shape), 0, 1).astype(np.float32)

        def chroma_detail(image: np.ndarray) -> float:
            chroma = image[..., 0] - image[..., 1]  # a colour-difference channel
            return float(np.abs(np.diff(chroma, axis=1)).mean())

        full = jpeg_recompress(noisy, 95, chroma_subsampling=False)
        subsampled = jpeg_recompress(noisy, 95, chroma_subsampling=True)
        assert full.shape == subsampled.shape == noisy.shape and full.dtype == np.float32
        assert chroma_detail(subsampled) < 0.7 * chroma_detail(full)

    def test_gray_stays_gray_and_checks_its_arguments(self, astronaut):
        gray = astronaut[..., :1].astype(np.float32) / 255.0
        assert jpeg_recompress(gray, 60, chroma_subsampling=True).shape == gray.shape
        with pytest.raises(ValueError, match="quality"):
            jpeg_recompress(gray, 100, chroma_subsampling=False)


def test_draw_sigma_power_one_is_uniform_and_power_is_checked():
    rng = np.random.default_rng(1)
    draws = np.array([draw_sigma(0.0, 50.0, 1.0, rng) for _ in range(2000)])
    assert draws.min() >= 0 and draws.max() <= 50 and abs(np.mean(draws < 12.5) - 0.25) < 0.04
    with pytest.raises(ValueError, match="power"):
        draw_sigma(0.0, 50.0, 0.0, rng)
