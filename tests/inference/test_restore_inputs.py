"""restore() and load_restorer(): odd inputs get a clear error or the right answer, never a
silently wrong image, and every restorer option reaches the restorer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import ganrestore
from ganrestore.errors import GanrestoreError
from ganrestore.inference import NetworkRestorer, RestoreInputError, Restorer, TileSettings
from ganrestore.tasks import build_task


def test_a_pil_float_image_is_read_as_0_to_1_and_comes_back_as_float(
    denoiser: Restorer, camera: np.ndarray
) -> None:
    as_float = Image.fromarray(camera.astype(np.float32) / 255, mode="F")
    restored = denoiser.restore(as_float)
    assert restored.mode == "F" and restored.size == as_float.size
    expected = denoiser.restore(camera).astype(np.float32) / 255
    assert np.abs(np.asarray(restored) - expected).max() <= 1 / 255 + 1e-6


def test_a_pil_image_with_transparency_keeps_it(denoiser: Restorer, camera: np.ndarray) -> None:
    see_through = np.zeros((*camera.shape, 2), np.uint8)
    see_through[..., 0], see_through[..., 1] = camera // 16, 255
    see_through[:8, :8, 1] = 0
    palette_alpha = Image.fromarray(see_through, mode="PA")
    keyed = Image.fromarray(np.dstack([camera] * 3))
    keyed.info["transparency"] = tuple(int(v) for v in np.dstack([camera] * 3)[0, 0])
    for image in (palette_alpha, keyed):
        restored = denoiser.restore(image)
        assert restored.mode == "RGBA", image.mode
        assert np.asarray(restored)[0, 0, 3] == 0 and np.asarray(restored)[20, 20, 3] == 255


def test_a_pil_float_image_outside_0_to_1_is_refused_saying_the_range(
    denoiser: Restorer, camera: np.ndarray
) -> None:
    with pytest.raises(RestoreInputError, match=r"\[0, 1\].*divide 8-bit values by 255"):
        denoiser.restore(Image.fromarray(camera.astype(np.float32), mode="F"))


@pytest.mark.parametrize(
    "make_mask",
    [
        lambda holes: np.where(holes, np.nan, 0.0).astype(np.float32),
        lambda holes: torch.from_numpy(np.where(holes, np.inf, 0.0).astype(np.float32)),
        lambda holes: Image.fromarray(np.where(holes, np.nan, 0.0).astype(np.float32), mode="F"),
    ],
)
def test_a_mask_with_nan_is_refused_instead_of_meaning_no_holes(
    inpainter: Restorer, astronaut: np.ndarray, box_mask, make_mask
) -> None:
    holes = box_mask(astronaut.shape[:2]) > 0
    with pytest.raises(RestoreInputError, match="NaN or infinity"):
        inpainter.restore(astronaut, mask=make_mask(holes))


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((0, 5, 3), np.uint8),
        np.zeros((5, 0), np.uint16),
        np.zeros((0, 0, 3), np.float32),
        torch.zeros(3, 0, 4),
        torch.zeros(0, 3, 4, 4),
    ],
)
def test_an_empty_image_is_refused_with_a_reason(denoiser: Restorer, image) -> None:
    with pytest.raises(RestoreInputError, match="nothing to restore"):
        denoiser.restore(image)


def test_a_network_that_outputs_nan_is_an_error_not_a_black_image(astronaut: np.ndarray) -> None:
    broken = nn.Conv2d(3, 3, 1)
    with torch.no_grad():
        broken.weight.fill_(float("inf"))  # inf * 0 = NaN wherever a pixel is mid-grey
    restorer = NetworkRestorer(broken, build_task("denoise"), "cpu", description="broken.pt")
    with pytest.raises(GanrestoreError, match=r"broken\.pt produced NaN or infinity"):
        restorer.restore(astronaut)


@pytest.mark.parametrize("model", [123, 4.5, [Path("runs/x")], object()])
def test_load_restorer_of_something_that_is_no_path_names_what_it_takes(model) -> None:
    with pytest.raises(GanrestoreError, match=r"str or pathlib\.Path") as caught:
        ganrestore.load_restorer(model)
    assert not isinstance(caught.value, TypeError)
    assert f"got {type(model).__name__}" in str(caught.value)


def test_load_restorer_forwards_every_restorer_option(denoise_run: Path) -> None:
    restorer = ganrestore.load_restorer(
        denoise_run, "cpu", tile=256, overlap=32, batch_size=2, self_ensemble=True
    )
    assert isinstance(restorer, NetworkRestorer)
    assert restorer.tiling == TileSettings(tile=256, overlap=32, batch_size=2)
    assert restorer.self_ensemble and restorer.device.type == "cpu"
    bundled = ganrestore.load_restorer("denoise", device="cpu", self_ensemble=True)
    assert bundled.self_ensemble  # as docs/apply.md shows
    given = TileSettings(tile=128, overlap=16, batch_size=1)
    assert ganrestore.load_restorer(denoise_run, "cpu", tiling=given).tiling == given


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tile": 64, "overlap": 40}, "less than half the tile"),
        ({"batch_size": 0}, "batch_size >= 1"),
        ({"tile": 64, "tiling": TileSettings()}, "not both"),
    ],
)
def test_bad_tile_options_are_clear_errors(denoise_run: Path, options, message: str) -> None:
    with pytest.raises(GanrestoreError, match=message):
        ganrestore.load_restorer(denoise_run, "cpu", **options)


def test_restore_batch_refuses_what_is_no_finite_tensor_naming_the_input(
    denoiser: Restorer,
) -> None:
    images = torch.rand(1, 3, 16, 16)
    images[0, 0, 0, 0] = float("nan")
    with pytest.raises(RestoreInputError, match="the images contain NaN or infinity"):
        denoiser.restore_batch(images)
    with pytest.raises(RestoreInputError, match=r"takes a tensor .* not a list; restore"):
        denoiser.restore_batch([torch.rand(3, 16, 16)])  # type: ignore[arg-type]
