"""Deterministic degradations: same file, condition and seed -> the same 8-bit input anywhere."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from ganrestore.evaluation import degrade as dg


def ramp() -> np.ndarray:
    return np.linspace(0, 1, 16 * 16 * 3).reshape(16, 16, 3)


class TestSeeds:
    def test_the_seed_is_pinned_so_every_machine_draws_the_same(self) -> None:
        # SHA-256 of (seed, name, condition): no hash randomisation, no platform dependence.
        assert dg.file_seed(0, "astronaut.png", "sigma25") == 13653356739959027612

    def test_the_noise_is_pinned_too(self) -> None:
        # numpy's PCG64 + standard_normal stream; a change here changes every benchmark number.
        noisy = dg.add_noise(ramp(), 25, dg.file_rng(0, "a.png", "sigma25"))
        digest = hashlib.sha256(noisy.tobytes()).hexdigest()
        assert digest == "310ae81108556effd3cec3a1e88b989bedfe33fc0c4a5b8bc1b4133f9a4d946d"

    @pytest.mark.parametrize(
        "other", [(1, "a.png", "sigma25"), (0, "b.png", "sigma25"), (0, "a.png", "sigma15")]
    )
    def test_seed_name_and_condition_each_change_the_draw(self, other) -> None:
        assert dg.file_seed(0, "a.png", "sigma25") != dg.file_seed(*other)


class TestNoise:
    def test_is_8_bit_and_has_the_requested_strength(self) -> None:
        clean = np.full((128, 128, 3), 0.5)
        noisy = dg.add_noise(clean, 25, np.random.default_rng(0))
        assert noisy.dtype == np.uint8 and noisy.shape == clean.shape
        assert np.std(noisy.astype(float)) == pytest.approx(25, rel=0.03)
        assert np.mean(noisy.astype(float)) == pytest.approx(127.5, abs=0.5)

    def test_sigma_zero_is_the_clean_image_quantized(self) -> None:
        clean = ramp()
        noisy = dg.add_noise(clean, 0, np.random.default_rng(0))
        assert np.array_equal(noisy, np.rint(clean * 255).astype(np.uint8))

    def test_does_not_depend_on_other_files_or_order(self) -> None:
        condition = dg.noise_condition(15)
        first = dg.degrade(ramp(), "x.png", condition, seed=3)
        dg.degrade(ramp(), "y.png", condition, seed=3)  # another file in between
        again = dg.degrade(ramp(), "x.png", condition, seed=3)
        assert np.array_equal(first.pixels, again.pixels) and first.holes is None

    @pytest.mark.parametrize("sigma", [-1.0, float("nan")])
    def test_bad_sigma_is_refused(self, sigma) -> None:
        with pytest.raises(dg.DegradationError, match="--sigma"):
            dg.noise_condition(sigma)


class TestCameraNoiseAndJpeg:
    """Shot noise and JPEG inputs: how noisy photos reach a user."""

    def test_shot_noise_is_stronger_in_bright_than_in_dark_regions(self) -> None:
        dark, bright = np.full((64, 64, 3), 0.1), np.full((64, 64, 3), 0.9)
        rng = np.random.default_rng(0)
        dark_noise = np.std(dg.add_noise(dark, 2, rng, peak=50).astype(float))
        bright_noise = np.std(dg.add_noise(bright, 2, rng, peak=50).astype(float))
        assert bright_noise > 2 * dark_noise

    def test_jpeg_condition_is_the_noisy_image_saved_as_jpeg(self) -> None:
        clean = np.random.default_rng(1).random((32, 48, 3)) * 0.5 + 0.25
        png = dg.degrade(clean, "a.png", dg.noise_condition(25), seed=0)
        jpeg_condition = dg.noise_condition(25, jpeg_quality=75)
        jpeg = dg.degrade(clean, "a.png", jpeg_condition, seed=0)
        assert jpeg.pixels.shape == png.pixels.shape and jpeg.pixels.dtype == np.uint8
        again = dg.degrade(clean, "a.png", jpeg_condition, seed=0)
        assert np.array_equal(jpeg.pixels, again.pixels)  # reproducible
        assert not np.array_equal(jpeg.pixels, png.pixels)
        assert jpeg_condition.name == "sigma25_jpeg75" and jpeg_condition.sigma_hint == 25

    def test_names_and_sigma_hint_with_shot_noise(self) -> None:
        condition = dg.noise_condition(10, peak=50, jpeg_quality=90)
        assert condition.name == "sigma10_peak50_jpeg90"
        assert condition.sigma_hint == pytest.approx((10**2 + 255**2 * 0.5 / 50) ** 0.5)

    @pytest.mark.parametrize(
        ("peak", "quality", "option"), [(0, None, "--peak"), (None, 99, "--jpeg")]
    )
    def test_bad_peak_and_quality_are_refused(self, peak, quality, option) -> None:
        with pytest.raises(dg.DegradationError, match=option):
            dg.noise_condition(25, peak=peak, jpeg_quality=quality)


class TestHoles:
    @pytest.mark.parametrize("kind", ["box", "free"])
    def test_generated_masks_are_reproducible_and_within_the_ratio(self, kind) -> None:
        clean = np.random.default_rng(0).random((64, 64, 3))
        condition = dg.mask_condition(kind)
        first = dg.degrade(clean, "a.png", condition, seed=0, hole_ratio=(0.1, 0.3))
        again = dg.degrade(clean, "a.png", condition, seed=0, hole_ratio=(0.1, 0.3))
        assert np.array_equal(first.holes, again.holes)
        assert np.array_equal(first.pixels, again.pixels)
        assert 0.1 <= first.holes.mean() <= 0.3

    def test_holes_are_gray_and_known_pixels_are_the_clean_ones(self) -> None:
        clean = np.random.default_rng(1).random((32, 32, 3))
        holes = np.zeros((32, 32), bool)
        holes[8:20, 4:12] = True
        condition = dg.Condition(name="masks", masks_dir=None)
        degraded = dg.degrade(clean, "a.png", condition, seed=0, holes=holes)
        assert (degraded.pixels[holes] == dg.HOLE_FILL).all()
        expected = np.rint(clean * 255).astype(np.uint8)
        assert np.array_equal(degraded.pixels[~holes], expected[~holes])

    def test_unknown_kind_lists_the_known_ones(self) -> None:
        with pytest.raises(dg.DegradationError, match="box, free, mixed"):
            dg.mask_condition("stars")

    def test_a_mask_condition_without_a_mask_is_an_error(self) -> None:
        with pytest.raises(dg.DegradationError, match=r"no mask for a\.png"):
            dg.degrade(ramp(), "a.png", dg.Condition(name="masks"), seed=0)
