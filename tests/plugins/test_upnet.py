"""upnet: an output ``scale`` times larger that starts as bicubic and learns the detail."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch
import torch.nn.functional as functional

from ganrestore_plugins.upnet import upnet


def photo() -> torch.Tensor:
    """(1, 3, 40, 48) crop of the coffee photo in [-1, 1]."""
    crop = skimage.data.coffee()[100:140, 200:248].astype(np.float32) / 127.5 - 1
    return torch.from_numpy(crop).permute(2, 0, 1)[None]


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_a_new_network_returns_the_bicubic_upscale_of_any_size(scale: int) -> None:
    network = upnet(3, 3, scale=scale, width=8, blocks=1).eval()
    image = photo()[..., :37, :45]  # odd sides: no size multiple

    with torch.inference_mode():
        output = network(image)

    bicubic = functional.interpolate(image, scale_factor=scale, mode="bicubic")
    assert output.shape == (1, 3, 37 * scale, 45 * scale)
    assert torch.allclose(output, bicubic, atol=1e-6)


def test_training_changes_the_detail_it_adds_to_bicubic() -> None:
    torch.manual_seed(0)
    network = upnet(3, 3, scale=2, width=8, blocks=1)
    target = photo()
    small = functional.avg_pool2d(target, 2)
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-3)
    first = None
    for _ in range(100):
        loss = (network(small) - target).abs().mean()
        first = loss.item() if first is None else first
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    assert loss.item() < 0.97 * first  # bicubic alone stays at 1.0 x


def test_a_network_grown_by_blocks_starts_as_the_trained_one() -> None:
    torch.manual_seed(0)
    trained = upnet(3, 3, scale=2, width=8, blocks=2)
    with torch.no_grad():
        for parameter in trained.parameters():  # as training leaves them: nothing at zero
            parameter.add_(0.05 * torch.randn_like(parameter))
    grown = upnet(3, 3, scale=2, width=8, blocks=4)
    missing, unexpected = grown.load_state_dict(trained.state_dict(), strict=False)
    image = photo()

    with torch.inference_mode():
        before, after = trained.eval()(image), grown.eval()(image)

    assert unexpected == [] and {key.split(".")[1] for key in missing} == {"2", "3"}
    bicubic = functional.interpolate(image, scale_factor=2, mode="bicubic")
    assert (before - bicubic).abs().mean() > 0.01  # the trained detail ...
    torch.testing.assert_close(after, before)  # ... kept whole by the grown network


def test_the_base_stays_full_precision_under_bfloat16_autocast() -> None:
    network = upnet(3, 3, scale=4, width=8, blocks=1).eval()
    image = photo()
    bicubic = functional.interpolate(image, scale_factor=4, mode="bicubic")

    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        output = network(image)

    # bfloat16 keeps 8 bits: a base rounded to it would be off by up to 4e-3.
    assert output.dtype == torch.float32
    assert (output - bicubic).abs().max() < 1e-5


@pytest.mark.parametrize(
    ("params", "named"),
    [({"scale": 1}, "scale"), ({"scale": 9}, "scale"), ({"width": 0}, "width")],
)
def test_settings_that_cannot_work_are_refused_by_name(params: dict, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        upnet(3, 3, **params)
