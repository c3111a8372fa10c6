"""ganrestore.data.masks: binary, within the hole ratio, deterministic per seed."""

from __future__ import annotations

import numpy as np
import pytest

from ganrestore.data.masks import MASK_KINDS, box_mask, free_form_mask, make_mask, mixed_mask

SIZES = [(64, 64), (48, 80), (17, 23)]


@pytest.mark.parametrize("kind", sorted(MASK_KINDS))
class TestEveryKind:
    @pytest.mark.parametrize(("height", "width"), SIZES)
    def test_binary_and_within_ratio_for_many_seeds(self, kind, height, width):
        for seed in range(60):
            mask = make_mask(kind, height, width, np.random.default_rng(seed), (0.05, 0.4))

            assert mask.shape == (height, width) and mask.dtype == np.float32
            assert set(np.unique(mask)) <= {0.0, 1.0}
            assert 0.05 <= mask.mean() <= 0.4, (seed, mask.mean())

    def test_narrow_ratio_range_is_honoured(self, kind):
        for seed in range(40):
            mask = make_mask(kind, 40, 40, np.random.default_rng(seed), (0.2, 0.22))
            assert 0.2 <= mask.mean() <= 0.22

    def test_extreme_ratios(self, kind):
        rng = np.random.default_rng(0)
        assert not make_mask(kind, 20, 30, rng, (0.0, 0.0)).any()
        assert make_mask(kind, 20, 30, rng, (1.0, 1.0)).all()

    def test_deterministic_for_a_seed(self, kind):
        first = make_mask(kind, 64, 64, np.random.default_rng(11))

        np.testing.assert_array_equal(first, make_mask(kind, 64, 64, np.random.default_rng(11)))
        assert not np.array_equal(first, make_mask(kind, 64, 64, np.random.default_rng(12)))

    def test_rejects_bad_ratio(self, kind):
        with pytest.raises(ValueError, match="hole_ratio"):
            make_mask(kind, 8, 8, np.random.default_rng(0), (0.5, 0.2))


def test_free_form_strokes_are_not_rectangles():
    not_boxes = 0
    for seed in range(20):
        mask = free_form_mask(64, 64, np.random.default_rng(seed))
        rows, cols = np.nonzero(mask)
        box_area = (np.ptp(rows) + 1) * (np.ptp(cols) + 1)
        not_boxes += mask.sum() < 0.9 * box_area
    assert not_boxes >= 18


def test_mixed_picks_box_or_free_form():
    kinds = set()
    for seed in range(30):
        rng = np.random.default_rng(seed)
        chosen = box_mask if rng.random() < 0.5 else free_form_mask
        expected = chosen(32, 32, rng, (0.05, 0.4))

        np.testing.assert_array_equal(mixed_mask(32, 32, np.random.default_rng(seed)), expected)
        kinds.add(chosen)
    assert kinds == {box_mask, free_form_mask}


def test_unknown_kind_lists_the_known_ones():
    with pytest.raises(
        ValueError, match="unknown mask kind 'blob'; choose one of: box, free, mixed"
    ):
        make_mask("blob", 8, 8, np.random.default_rng(0))
