"""Restorers: checkpoints rebuild their generator; restore() takes arrays, PIL images, tensors."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

import ganrestore
from ganrestore.inference import (
    MaskRequiredError,
    NetworkRestorer,
    RestoreInputError,
    Restorer,
    TileSettings,
)
from ganrestore.modelfile import (
    GENERATOR,
    CheckpointError,
    generator_file,
    latest_checkpoint,
    load_tensors,
    read_record,
    save_model_file,
)

from .conftest import kept_pixels, save_tiny_run, tiny_generator


@pytest.fixture(scope="module")
def denoiser(denoise_run: Path) -> Restorer:
    return ganrestore.load_restorer(denoise_run, device="cpu")


@pytest.fixture(scope="module")
def inpainter(inpaint_run: Path) -> Restorer:
    return ganrestore.load_restorer(inpaint_run, device="cpu")


def test_a_run_dir_a_checkpoint_folder_and_its_file_give_the_same_model(
    denoise_run: Path, astronaut: np.ndarray
) -> None:
    folder = latest_checkpoint(denoise_run)
    assert folder is not None
    outputs = [
        NetworkRestorer.from_checkpoint(path, "cpu").restore(astronaut)
        for path in (denoise_run, folder, folder / GENERATOR)
    ]
    assert outputs[0].shape == astronaut.shape and outputs[0].dtype == np.uint8
    assert np.array_equal(outputs[0], outputs[1]) and np.array_equal(outputs[0], outputs[2])
    assert np.abs(outputs[0].astype(int) - astronaut).mean() > 1  # it did something


def test_the_checkpoint_record_decides_task_and_network(denoiser, inpainter) -> None:
    assert (denoiser.task, denoiser.takes_masks) == ("denoise", False)
    assert (inpainter.task, inpainter.takes_masks) == ("inpaint", True)
    weights = tiny_generator("denoise").state_dict()
    loaded = denoiser.generator.state_dict()
    assert all(torch.equal(weights[key], loaded[key]) for key in weights)


def test_numpy_images_come_back_with_their_dtype_and_shape(
    denoiser: Restorer, astronaut: np.ndarray, camera: np.ndarray
) -> None:
    as_16 = astronaut.astype(np.uint16) * 257
    as_float = astronaut.astype(np.float32) / 255
    for image in (astronaut, as_16, as_float, camera, camera[..., None]):
        out = denoiser.restore(image)
        assert out.shape == image.shape and out.dtype == image.dtype
    restored_16 = denoiser.restore(as_16).astype(np.float64) / 65535
    restored_8 = denoiser.restore(astronaut).astype(np.float64) / 255
    assert np.abs(restored_16 - restored_8).max() <= 1 / 255  # 16 bits processed in float


def test_gray_is_restored_through_rgb_and_comes_back_gray(
    denoiser: Restorer, camera: np.ndarray
) -> None:
    rgb = denoiser.restore(np.repeat(camera[..., None], 3, axis=2)).astype(np.float64)
    gray = denoiser.restore(camera).astype(np.float64)
    assert gray.ndim == 2
    assert np.abs(gray - rgb.mean(axis=2)).max() <= 1.0


def test_denoising_keeps_alpha_exactly(denoiser: Restorer, astronaut: np.ndarray) -> None:
    alpha = np.linspace(0, 255, astronaut.shape[1], dtype=np.uint8)[None].repeat(72, axis=0)
    rgba = np.dstack([astronaut, alpha])
    out = denoiser.restore(rgba)
    assert out.shape == rgba.shape and np.array_equal(out[..., 3], alpha)
    assert np.array_equal(out[..., :3], denoiser.restore(astronaut))


def test_pil_images_come_back_in_their_mode(denoiser: Restorer, astronaut, camera) -> None:
    cases = {
        "RGB": Image.fromarray(astronaut),
        "L": Image.fromarray(camera),
        "RGBA": Image.fromarray(astronaut).convert("RGBA"),
        "I;16": Image.fromarray(camera.astype(np.uint16) * 257),
    }
    for mode, image in cases.items():
        out = denoiser.restore(image)
        assert isinstance(out, Image.Image) and out.mode == mode and out.size == image.size


def test_tensors_come_back_on_their_device_with_their_shape(
    denoiser: Restorer, astronaut: np.ndarray
) -> None:
    single = torch.from_numpy(astronaut).permute(2, 0, 1).double() / 255
    out = denoiser.restore(single)
    assert out.shape == single.shape and out.dtype == torch.float64
    batch = torch.stack([single, single.flip(-1)]).float()
    out_batch = denoiser.restore(batch)
    assert out_batch.shape == batch.shape
    torch.testing.assert_close(out_batch[0].double(), out, atol=1e-5, rtol=0)


def test_inpainting_keeps_known_pixels_bit_exact_and_fills_holes(
    inpainter: Restorer, astronaut: np.ndarray, box_mask: Callable
) -> None:
    mask = box_mask(astronaut.shape[:2])
    for image in (astronaut, astronaut.astype(np.uint16) * 257):
        out = inpainter.restore(image, mask=mask)
        known = kept_pixels(mask)
        assert np.array_equal(out[known], image[known])
        assert not np.array_equal(out[~known], image[~known])


def test_inpainting_takes_holes_from_transparency_and_makes_them_opaque(
    inpainter: Restorer, astronaut: np.ndarray, box_mask: Callable
) -> None:
    holes = box_mask(astronaut.shape[:2]) > 0
    alpha = np.where(holes, 0, 200).astype(np.uint8)
    out = inpainter.restore(np.dstack([astronaut, alpha]))
    known = kept_pixels(holes)
    assert np.array_equal(out[known], np.dstack([astronaut, alpha])[known])
    assert (out[holes][:, 3] == 255).all()
    assert np.array_equal(out[..., :3], inpainter.restore(astronaut, mask=holes))


def test_inpainting_tiled_agrees_and_still_keeps_known_pixels(
    inpaint_run: Path, astronaut: np.ndarray, box_mask: Callable
) -> None:
    mask = box_mask(astronaut.shape[:2])
    whole = NetworkRestorer.from_checkpoint(inpaint_run, "cpu", TileSettings(0, 0, 1))
    tiled = NetworkRestorer.from_checkpoint(inpaint_run, "cpu", TileSettings(48, 16, 2))
    a = whole.restore(astronaut, mask).astype(np.float64)
    b = tiled.restore(astronaut, mask).astype(np.float64)
    assert 10 * np.log10(255**2 / max(((a - b) ** 2).mean(), 1e-12)) >= 45
    known = kept_pixels(mask)
    assert np.array_equal(b[known], astronaut[known])


def test_an_inpainting_model_needs_a_mask_and_a_denoiser_refuses_one(
    denoiser: Restorer, inpainter: Restorer, astronaut: np.ndarray
) -> None:
    with pytest.raises(MaskRequiredError, match="mask"):
        inpainter.restore(astronaut)
    with pytest.raises(RestoreInputError, match="takes no mask"):
        denoiser.restore(astronaut, mask=np.zeros(astronaut.shape[:2], bool))


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((8, 8, 3), np.int32), "uint8, uint16 or float"),
        (np.full((8, 8, 3), 200.0), r"\[0, 1\]"),
        (np.zeros((8, 8, 5), np.uint8), "image"),
        (torch.zeros(2, 8, 8), "1 or 3 channels"),
        ([[0, 1]], "numpy array, PIL image or tensor"),
    ],
)
def test_bad_images_are_refused_with_a_reason(denoiser: Restorer, image, message: str) -> None:
    with pytest.raises(RestoreInputError, match=message):
        denoiser.restore(image)


def test_a_mask_of_the_wrong_size_is_refused(inpainter: Restorer, astronaut) -> None:
    with pytest.raises(RestoreInputError, match="72x100"):
        inpainter.restore(astronaut, mask=np.zeros((10, 10), bool))


def test_checkpoint_problems_name_the_file_and_what_to_do(tmp_path: Path, denoise_run) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        generator_file(tmp_path / "missing")
    (tmp_path / "empty_run" / "checkpoints").mkdir(parents=True)
    with pytest.raises(CheckpointError, match="no complete checkpoint"):
        generator_file(tmp_path / "empty_run")
    with pytest.raises(CheckpointError, match="neither a run directory"):
        generator_file(tmp_path)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, foreign)
    with pytest.raises(CheckpointError, match="no ganrestore record"):
        NetworkRestorer.from_checkpoint(foreign, "cpu")


def test_weights_that_do_not_fit_the_record_are_reported(tmp_path: Path) -> None:
    file = generator_file(save_tiny_run(tmp_path / "run", "denoise"))
    record = read_record(file)
    params = {**record.generator.params, "base_channels": 8}
    wider = replace(record, generator=replace(record.generator, params=params))
    save_model_file(file, tiny_generator("denoise").state_dict(), wider)
    with pytest.raises(CheckpointError, match="do not fit generator 'unet'"):
        NetworkRestorer.from_checkpoint(file, "cpu")


def test_a_missing_generator_plugin_names_its_distribution(tmp_path: Path) -> None:
    file = generator_file(save_tiny_run(tmp_path / "run", "denoise"))
    record = read_record(file)
    fancy = replace(record.generator, name="fancy", distribution="fancy-nets", version="2.0")
    save_model_file(file, load_tensors(file), replace(record, generator=fancy))
    with pytest.raises(CheckpointError, match=r"'fancy' from fancy-nets 2\.0"):
        NetworkRestorer.from_checkpoint(file, "cpu")


def test_importing_ganrestore_stays_free_of_torch() -> None:
    code = (
        "import sys, ganrestore; print(callable(ganrestore.load_restorer), 'torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["True", "False"]


def test_inference_runs_in_eval_mode_without_autograd_in_channels_last(
    denoiser: Restorer, astronaut: np.ndarray
) -> None:
    generator = denoiser.generator
    assert not generator.training
    assert all(not p.requires_grad for p in generator.parameters())
    weight = next(p for p in generator.parameters() if p.ndim == 4)
    assert weight.is_contiguous(memory_format=torch.channels_last)
    pixels = torch.from_numpy(astronaut).permute(2, 0, 1)[None].float()
    out = denoiser.restore_batch(pixels)
    assert not out.requires_grad and out.dtype == torch.float32 and out.device.type == "cpu"


def test_a_network_runs_in_the_precision_asked_and_bfloat16_stays_close_to_float32(
    denoise_run: Path, astronaut: np.ndarray
) -> None:
    image = astronaut.astype(np.float32) / 255  # float output: more than 8 bits to compare
    exact = ganrestore.load_restorer(denoise_run, device="cpu", precision="fp32")
    fast = ganrestore.load_restorer(denoise_run, device="cpu", precision="bf16")
    assert (exact.precision, fast.precision) == ("fp32", "bf16")
    difference = np.abs(exact.restore(image) - fast.restore(image))
    assert 0 < difference.max() <= 0.02  # bfloat16 did run, and changed next to nothing
    fast.set_precision("fp32")
    assert np.array_equal(fast.restore(image), exact.restore(image))


def test_a_baseline_takes_no_precision_but_auto() -> None:
    ganrestore.load_restorer("baseline:bicubic", task="upscale-x2", precision="auto")
    with pytest.raises(ganrestore.GanrestoreError, match="is a classical method, not a trained"):
        ganrestore.load_restorer("baseline:bicubic", task="upscale-x2", precision="bf16")
