"""A third-party restorer written before ``uses_mask`` became ``takes_masks`` keeps working."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from ganrestore.inference import MaskRequiredError, RestoreInputError, Restorer

PHOTO = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
HOLES = np.zeros((24, 32), bool)
HOLES[8:16, 10:20] = True


def _old_filler() -> type[Restorer]:
    class OldFiller(Restorer):  # the old name as a class attribute
        task = "inpaint"
        description = "an old filler"
        uses_mask = True

        def restore_batch(self, images: torch.Tensor, masks: torch.Tensor | None = None):
            assert masks is not None
            return torch.where(masks > 0, torch.zeros_like(images), images)  # holes black

    return OldFiller


class OldSmoother(Restorer):  # the old name as an instance attribute
    task = "denoise"
    description = "an old smoother"

    def __init__(self) -> None:
        self.uses_mask = False

    def restore_batch(self, images: torch.Tensor, masks: torch.Tensor | None = None):
        return images.clamp(0.25, 0.75)


def test_a_class_attribute_uses_mask_is_read_as_takes_masks_with_one_warning() -> None:
    with pytest.warns(DeprecationWarning, match="OldFiller sets uses_mask.*rename it") as caught:
        old_filler = _old_filler()
    assert caught[0].filename == __file__  # points at the class statement
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once, when the class was made
        restorer = old_filler()
        assert restorer.takes_masks is True
        filled = restorer.restore(PHOTO, HOLES)
        with pytest.raises(MaskRequiredError):
            restorer.restore(PHOTO)
    assert (filled[HOLES] == 0).all() and np.array_equal(filled[~HOLES], PHOTO[~HOLES])


def test_an_instance_attribute_uses_mask_is_read_as_takes_masks_warned_once() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first, second = OldSmoother(), OldSmoother()
        assert first.takes_masks is False and second.takes_masks is False
        with pytest.raises(RestoreInputError, match="takes no mask"):
            first.restore(PHOTO, HOLES)
        smoothed = second.restore(PHOTO)
    said = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert len(said) == 1 and said[0].filename == __file__
    assert "OldSmoother sets uses_mask, which Restorer now calls takes_masks" in str(
        said[0].message
    )
    assert smoothed.min() >= 63 and smoothed.max() <= 192


def test_a_restorer_with_takes_masks_hears_nothing_and_unknown_names_stay_errors() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")

        class Current(Restorer):
            task, description, takes_masks = "denoise", "current", False

            def restore_batch(self, images: torch.Tensor, masks: torch.Tensor | None = None):
                return images

        restorer = Current()
        assert restorer.takes_masks is False
    with pytest.raises(AttributeError, match="has no attribute 'grow'"):
        restorer.grow  # noqa: B018
