"""Padding to a network's size multiple: one rule for the networks, the tiler and the windows."""

from __future__ import annotations

import pytest
import torch

from ganrestore.models.padding import pad_to_multiple


def test_bottom_right_padding_reflects_the_image_border() -> None:
    image = torch.arange(12.0).reshape(1, 1, 3, 4)
    padded, offset = pad_to_multiple(image, 2)
    assert padded.shape == (1, 1, 4, 4) and offset == (0, 0)
    assert torch.equal(padded[..., :3, :4], image)
    assert torch.equal(padded[0, 0, 3], image[0, 0, 1])  # reflection of row 1, not row 2 again


def test_centred_padding_splits_each_axis_with_the_extra_pixel_after() -> None:
    image = torch.rand(2, 3, 5, 6)
    padded, (top, left) = pad_to_multiple(image, 8, centre=True)
    assert padded.shape == (2, 3, 8, 8) and (top, left) == (1, 1)
    assert torch.equal(padded[..., top : top + 5, left : left + 6], image)
    assert torch.equal(padded[..., 0, left : left + 6], image[..., 1, :])  # reflected
    assert torch.equal(padded[..., top + 5 :, left : left + 6], image[..., [3, 2], :])


def test_a_size_already_a_multiple_is_returned_untouched() -> None:
    image = torch.rand(1, 4, 16, 32)
    padded, offset = pad_to_multiple(image, 16, centre=True)
    assert padded is image and offset == (0, 0)


@pytest.mark.parametrize("centre", [False, True])
def test_an_image_too_small_to_reflect_on_any_side_is_replicated_on_every_side(
    centre: bool,
) -> None:
    image = torch.rand(1, 1, 3, 30)  # 13 rows of padding: more than the image has
    padded, (top, left) = pad_to_multiple(image, 16, centre=centre)
    assert padded.shape == (1, 1, 16, 32)
    assert torch.equal(
        padded[..., top + 3 :, left : left + 30],
        image[..., -1:, :].expand(-1, -1, 16 - 3 - top, -1),
    )
    right = padded[..., top : top + 3, left + 30 :]
    assert torch.equal(right, image[..., -1:].expand_as(right))  # replicated, not reflected


@pytest.mark.parametrize("shape", [(1, 3, 17, 9), (3, 8, 8), (2, 1, 1, 1)])
@pytest.mark.parametrize("multiple", [1, 4, 16])
def test_any_size_comes_out_a_multiple_holding_the_image(
    shape: tuple[int, ...], multiple: int
) -> None:
    image = torch.rand(shape)
    for centre in (False, True):
        padded, (top, left) = pad_to_multiple(image, multiple, centre=centre)
        height, width = shape[-2:]
        assert padded.shape[-2] % multiple == 0 and padded.shape[-1] % multiple == 0
        assert padded.shape[-2] - height < multiple and padded.shape[-1] - width < multiple
        assert torch.equal(padded[..., top : top + height, left : left + width], image)


def test_a_multiple_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="multiple must be >= 1"):
        pad_to_multiple(torch.rand(1, 1, 4, 4), 0)
