"""How strongly a denoiser works: ``strength`` (0 = the input, 1 = all of the correction) and
the noise level the network is told (``noise_sigma``), on the bundled denoise model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ganrestore import load_restorer
from ganrestore.errors import GanrestoreError
from ganrestore.inference.bundled import resolve_model, set_strength


@pytest.fixture(scope="module")
def grainy() -> np.ndarray:
    """A 96×128 crop of coffee with Gaussian noise of σ 20, uint8."""
    import skimage.data

    clean = skimage.data.coffee()[100:196, 150:278]
    noise = np.random.default_rng(0).normal(0, 20, clean.shape)
    return np.clip(clean + noise, 0, 255).round().astype(np.uint8)


def removed(restored: np.ndarray, noisy: np.ndarray) -> float:
    """Mean absolute change, in 8-bit levels."""
    return float(np.abs(restored.astype(float) - noisy).mean())


def test_strength_zero_is_the_input_exactly_and_a_half_lies_between(grainy) -> None:
    noisy = grainy
    denoiser = load_restorer("denoise", device="cpu")
    full = denoiser.restore(noisy)
    denoiser.set_strength(0.0)
    assert np.array_equal(denoiser.restore(noisy), noisy)
    denoiser.set_strength(0.5)
    half = denoiser.restore(noisy)
    low, high = np.minimum(noisy, full).astype(int), np.maximum(noisy, full).astype(int)
    assert ((half >= low - 1) & (half <= high + 1)).all()  # between, up to rounding
    assert removed(half, noisy) == pytest.approx(removed(full, noisy) / 2, rel=0.05)
    gray = noisy[..., 1]
    denoiser.set_strength(0.0)
    assert np.array_equal(denoiser.restore(gray), gray)


def test_a_lower_noise_level_keeps_more_grain_and_a_higher_one_smooths_more(grainy) -> None:
    noisy = grainy
    denoiser = load_restorer("denoise", device="cpu")
    measured = denoiser.restore(noisy)
    changes = {}
    for sigma in (0.0, 20.0, 60.0):
        denoiser.set_noise_sigma(sigma)
        assert denoiser.noise_sigma == sigma
        changes[sigma] = removed(denoiser.restore(noisy), noisy)
    assert changes[0.0] < 0.8 * removed(measured, noisy) < changes[60.0]
    assert changes[20.0] == pytest.approx(removed(measured, noisy), rel=0.1)
    denoiser.set_noise_sigma(None)  # measured again
    assert np.array_equal(denoiser.restore(noisy), measured)


@pytest.mark.parametrize("strength", [-0.1, 1.5, float("nan")])
def test_a_strength_outside_zero_to_one_is_refused(strength: float) -> None:
    with pytest.raises(GanrestoreError, match="strength must be from 0 to 1"):
        load_restorer("denoise", device="cpu").set_strength(strength)


def test_models_that_take_no_strength_or_noise_level_say_so(denoise_run: Path) -> None:
    with pytest.raises(GanrestoreError, match="fills holes, which takes no strength"):
        load_restorer("inpaint", device="cpu").set_strength(0.5)
    with pytest.raises(GanrestoreError, match="takes no noise level"):
        load_restorer(denoise_run, device="cpu").set_noise_sigma(5)  # a U-Net: no noise map
    with pytest.raises(GanrestoreError, match="noise sigma must be from 0 to 255"):
        load_restorer("denoise", device="cpu").set_noise_sigma(300)
    with pytest.raises(
        GanrestoreError, match="--noise-sigma given, but baseline:nlm is a classical"
    ):
        set_strength(resolve_model("baseline:nlm"), None, 5)


def test_the_bundled_pair_gives_strength_to_its_denoiser_and_says_so() -> None:
    pair = resolve_model(None, None, "cpu")
    said = set_strength(pair, 0.5, 10)
    assert pair.unmasked.strength == 0.5 and pair.unmasked.noise_sigma == 10
    assert pair.masked.strength == 1.0
    assert "0.5 of each correction" in said and "σ 10" in said and "holes are filled" in said
    assert set_strength(pair, None, None) == ""
