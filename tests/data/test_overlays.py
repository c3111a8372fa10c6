"""Sharp detail drawn onto training crops: words and thin lines, strong colours, nothing else."""

from __future__ import annotations

import numpy as np
import skimage.data

from ganrestore.data.overlays import draw_sharp_detail


def crop() -> np.ndarray:
    """(96, 96, 3) float32 in [0, 1], not on the 8-bit grid (as a resized tile is)."""
    return (skimage.data.coffee()[100:196, 200:296].astype(np.float32) + 0.3) / 256


def test_detail_is_drawn_and_every_other_pixel_keeps_its_exact_value() -> None:
    image = crop()

    drawn = draw_sharp_detail(image, np.random.default_rng(0))

    assert drawn.shape == image.shape and drawn.dtype == np.float32
    assert drawn.min() >= 0.0 and drawn.max() <= 1.0
    changed = (drawn != image).any(axis=2)
    assert 0.005 < changed.mean() < 0.6
    np.testing.assert_array_equal(drawn[~changed], image[~changed])


def test_the_same_seed_draws_the_same_strokes_and_others_differ() -> None:
    image = crop()
    first = draw_sharp_detail(image, np.random.default_rng(7))

    np.testing.assert_array_equal(first, draw_sharp_detail(image, np.random.default_rng(7)))
    assert not np.array_equal(first, draw_sharp_detail(image, np.random.default_rng(8)))


def test_strong_colours_are_among_the_strokes() -> None:
    image = np.full((96, 96, 3), 0.5, np.float32)  # mid grey: every drawn colour shows
    spreads = []
    for seed in range(20):
        drawn = draw_sharp_detail(image, np.random.default_rng(seed))
        changed = (drawn != image).any(axis=2)
        spreads.append((drawn[changed].max(axis=1) - drawn[changed].min(axis=1)).max())

    assert sum(spread > 0.6 for spread in spreads) >= 5  # saturated: one channel high, one low
