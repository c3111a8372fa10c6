"""Baselines are built for a task: bicubic and Lanczos upscale at the scale of the task they
serve, every baseline a task lists restores for it, and a baseline asked for a task it is not
made for is refused with a message that says which tasks it serves."""

from __future__ import annotations

import math

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

from ganrestore.baselines import (
    Baseline,
    BaselineTaskError,
    baseline_names,
    baseline_tasks,
    load_baseline,
)
from ganrestore.errors import GanrestoreError
from ganrestore.evaluation import EvalSettings, evaluate, resolve_models, task_condition
from ganrestore.evaluation.metrics import psnr
from ganrestore.registry import BASELINES
from ganrestore.tasks import build_task, task_names
from ganrestore.tasks.upscale import bicubic_downscale

UPSCALERS = ["bicubic", "lanczos"]
UPSCALE_TASKS = {"upscale-x2": 2, "upscale-x4": 4}


def quiet(message: str) -> None:
    pass


def keys_cubic(x: np.ndarray, a: float = -0.5) -> np.ndarray:
    """Keys' cubic convolution kernel (a = -0.5: MATLAB's and Pillow's bicubic)."""
    x = np.abs(x)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = (((x - 5) * x + 8) * x - 4) * a
    return np.where(x < 1, near, np.where(x < 2, far, 0.0))


def bicubic_matrix(size: int, scale: int) -> np.ndarray:
    """``(scale·size, size)`` weights of a bicubic upscale, written out: output pixel ``x``'s
    centre lies at ``(x + 0.5) / scale`` in the input; the taps within 2 input pixels that lie
    inside the image are weighed by the kernel and normalised (Pillow's edge rule)."""
    matrix = np.zeros((size * scale, size))
    for row in range(size * scale):
        centre = (row + 0.5) / scale
        taps = np.arange(max(int(centre - 1.5), 0), min(int(centre + 2.5), size))
        weights = keys_cubic(taps - centre + 0.5)
        matrix[row, taps] = weights / weights.sum()
    return matrix


def direct_bicubic_psnr(clean: np.ndarray, scale: int) -> float:
    """The super-resolution protocol for bicubic by hand: cut the photo to a multiple of the
    scale, downscale, upscale with :func:`bicubic_matrix`, round to 8 bits, cut ``scale``
    pixels from each side and take 10 log10(255² / MSE) over every pixel and channel."""
    height, width = (side // scale * scale for side in clean.shape[:2])
    truth = clean[:height, :width].astype(np.float64)
    small = bicubic_downscale(truth / 255.0, scale).astype(np.float64)
    rows, columns = bicubic_matrix(height // scale, scale), bicubic_matrix(width // scale, scale)
    large = np.stack([rows @ small[..., c] @ columns.T for c in range(3)], axis=2)
    output = np.rint(np.clip(large, 0, 1) * 255.0)
    inside = (slice(scale, height - scale), slice(scale, width - scale))
    mse = np.mean((output[inside] - truth[inside]) ** 2)
    return 10 * math.log10(255.0**2 / mse)


@pytest.mark.parametrize("name", UPSCALERS)
@pytest.mark.parametrize(("task", "scale"), UPSCALE_TASKS.items())
@pytest.mark.parametrize("picture", ["coffee", "camera"])
def test_upscalers_make_images_scale_times_larger_and_beat_pixel_repetition(
    name, task, scale, picture, photos
) -> None:
    restorer = load_baseline(name, task=task)
    assert restorer.task == task and restorer.scale == scale and not restorer.takes_masks
    clean = photos[picture]  # 48 x 48, RGB or gray
    small = np.asarray(Image.fromarray(clean).resize((48 // scale, 48 // scale), Image.BICUBIC))
    large = restorer.restore(small)
    assert large.shape == clean.shape and large.dtype == np.uint8
    blocky = np.repeat(np.repeat(small, scale, axis=0), scale, axis=1)
    assert psnr(large, clean) > psnr(blocky, clean) + 0.5


@pytest.mark.parametrize(("task", "scale"), UPSCALE_TASKS.items())
def test_bicubic_psnr_on_a_photo_matches_the_protocol_computed_by_hand(
    task, scale, tmp_path
) -> None:
    clean = np.ascontiguousarray(skimage.data.astronaut()[30:131, 150:249])  # 101 x 99: cut
    folder = tmp_path / "clean"
    folder.mkdir()
    Image.fromarray(clean).save(folder / "astronaut.png")
    models = resolve_models(["baseline:bicubic"], task, "cpu").models
    settings = EvalSettings(task, folder, [task_condition(task)], lpips=False)
    score = next(s for s in evaluate(settings, models, quiet).scores if s.model == "bicubic")
    assert score.psnr == pytest.approx(direct_bicubic_psnr(clean, scale), abs=0.01)
    assert score.megapixels == (101 // scale * scale) * (99 // scale * scale) / 1e6


def test_a_baseline_asked_for_a_task_it_is_not_made_for_is_refused_clearly() -> None:
    with pytest.raises(BaselineTaskError) as refused:
        load_baseline("bicubic", task="denoise")
    assert str(refused.value) == (
        "baseline:bicubic is made for upscale-x2 and upscale-x4, but --task is denoise; the "
        "baselines of denoise: bm3d, nlm, tv, wavelet"
    )
    with pytest.raises(BaselineTaskError, match="made for denoise, but --task is upscale-x4; "):
        load_baseline("tv", task="upscale-x4")
    with pytest.raises(BaselineTaskError, match="upscale-x2 and upscale-x4: pass --task"):
        load_baseline("lanczos")  # two tasks list it: which one is not guessed
    with pytest.raises(GanrestoreError, match="made for inpaint, but --task is upscale-x2"):
        resolve_models(["baseline:telea"], "upscale-x2", "cpu")
    assert baseline_tasks("bicubic") == ["upscale-x2", "upscale-x4"]
    assert baseline_names("upscale-x4") == UPSCALERS


@pytest.mark.parametrize("task", task_names())
def test_every_baseline_a_task_lists_restores_a_photo_for_it(task, photos) -> None:
    spec = build_task(task)
    clean = photos["astronaut"]
    images = torch.from_numpy(clean.astype(np.float32) / 255).permute(2, 0, 1)[None]
    masks = torch.zeros(1, 1, *clean.shape[:2])
    masks[..., 12:24, 16:32] = 1
    for name in spec.baselines:
        if name == "bm3d":
            continue  # seconds per image; test_baselines.py runs it
        restorer = load_baseline(name, task=task)
        restored = restorer.restore_batch(images, masks if restorer.takes_masks else None)
        assert restored.shape == (1, 3, 48 * spec.scale, 48 * spec.scale), name
        assert restored.min() >= 0 and restored.max() <= 1


class _Repeat(Baseline):
    """A third party's baseline that no installed task lists: pixel repetition."""

    name = "repeat"

    def restore_array(self, pixels: np.ndarray, holes: np.ndarray | None) -> np.ndarray:
        return np.repeat(np.repeat(pixels, self.scale, axis=0), self.scale, axis=1)


def test_a_baseline_no_task_lists_is_built_for_the_task_it_is_given() -> None:
    with BASELINES.isolated():
        BASELINES.add("repeat", _Repeat)
        restorer = load_baseline("repeat", task="upscale-x4")
        assert restorer.restore(np.zeros((5, 7, 3), np.uint8)).shape == (20, 28, 3)
        with pytest.raises(BaselineTaskError, match="listed by no installed task: pass --task"):
            load_baseline("repeat")
