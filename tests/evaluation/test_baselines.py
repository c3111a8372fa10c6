"""Every registered baseline restores gray and RGB images through the Restorer interface."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import skimage.data
import torch

from ganrestore.baselines import (
    BaselineDependencyError,
    SigmaAware,
    baseline_names,
    baseline_tasks,
    is_baseline,
    load_baseline,
)
from ganrestore.evaluation.metrics import detail_ratio, psnr
from ganrestore.inference import MaskRequiredError, RestoreInputError, Restorer
from ganrestore.registry import PluginParamsError, UnknownPluginError

from .conftest import box_holes

DENOISERS = ["bm3d", "nlm", "tv", "wavelet"]
#: BM3D takes seconds even on a 48 x 48 crop, the others a fraction of one.
DENOISER_CASES = [pytest.param(n, marks=pytest.mark.slow) if n == "bm3d" else n for n in DENOISERS]
INPAINTERS = ["biharmonic", "ns", "telea", "fsr_fast", "shiftmap"]


def noisy(image: np.ndarray, sigma: float = 25, seed: int = 0) -> np.ndarray:
    values = image + np.random.default_rng(seed).normal(0, sigma, image.shape)
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def test_each_task_lists_its_baselines_and_each_built_in_serves_its_own_tasks() -> None:
    assert baseline_names("denoise") == sorted(DENOISERS)
    assert baseline_names("inpaint") == sorted(INPAINTERS)
    assert all(baseline_tasks(name) == ["inpaint"] for name in INPAINTERS)
    assert all(baseline_tasks(name) == ["denoise"] for name in DENOISERS)
    assert set(baseline_names()) >= {*DENOISERS, *INPAINTERS}


@pytest.mark.parametrize("name", DENOISER_CASES)
@pytest.mark.parametrize("picture", ["coffee", "camera"])
def test_denoisers_beat_the_noisy_input_on_rgb_and_gray(name, picture, photos) -> None:
    restorer = load_baseline(name)
    assert isinstance(restorer, Restorer) and restorer.task == "denoise"
    assert not restorer.takes_masks and restorer.description == f"baseline:{name}"
    clean = photos[picture]
    degraded = noisy(clean)
    restored = restorer.restore(degraded)
    assert restored.shape == clean.shape and restored.dtype == np.uint8
    assert psnr(restored, clean) > psnr(degraded, clean) + 2


@pytest.mark.parametrize("name", INPAINTERS)
@pytest.mark.parametrize("picture", ["astronaut", "camera"])
def test_inpainters_fill_holes_and_keep_known_pixels_exactly(name, picture, photos) -> None:
    restorer = load_baseline(name)
    assert restorer.task == "inpaint" and restorer.takes_masks
    clean = photos[picture]
    holes = box_holes()
    damaged = clean.copy()
    damaged[holes] = 128
    filled = restorer.restore(damaged, mask=holes.astype(np.uint8) * 255)
    assert filled.shape == clean.shape
    assert np.array_equal(filled[~holes], clean[~holes])
    if name != "shiftmap":  # copied patches can be further off than grey on a 48 x 48 crop
        assert psnr(filled, clean, holes) > psnr(damaged, clean, holes)


@pytest.mark.parametrize("name", INPAINTERS)
def test_restore_batch_keeps_float_known_pixels_bit_for_bit(name) -> None:
    images = torch.rand(2, 3, 24, 24, generator=torch.Generator().manual_seed(0))
    masks = torch.zeros(2, 1, 24, 24)
    masks[0, :, 5:12, 5:12] = 1  # the second image has no hole at all
    restored = load_baseline(name).restore_batch(images, masks)
    assert restored.shape == images.shape and restored.dtype == torch.float32
    assert torch.equal(restored[masks.expand_as(images) == 0], images[masks.expand_as(images) == 0])


def test_shiftmap_copies_real_texture_where_telea_smooths() -> None:
    clean = skimage.data.coffee()[250:378, 400:528]  # beans and a cup's rim
    holes = np.zeros(clean.shape[:2], bool)
    holes[40:88, 40:88] = True
    filled = {name: load_baseline(name).restore(clean, holes) for name in ("telea", "shiftmap")}
    detail = {name: detail_ratio(image, clean, holes) for name, image in filled.items()}
    assert all(0.7 < level < 1.5 for level in detail["shiftmap"])  # about the photo's detail
    assert all(level < 0.6 for level in detail["telea"])  # a smooth fill


@pytest.mark.parametrize("left", ["nothing", "an empty xphoto"])
def test_the_opencv_contrib_baselines_say_what_to_install_without_xphoto(
    monkeypatch, left: str
) -> None:
    import types

    import cv2

    if left == "nothing":
        monkeypatch.delattr(cv2, "xphoto", raising=False)
    else:  # what a plain opencv-python installed over the contrib wheel leaves
        monkeypatch.setattr(cv2, "xphoto", types.ModuleType("cv2.xphoto"), raising=False)
    with pytest.raises(BaselineDependencyError, match="--force-reinstall opencv-contrib-python"):
        load_baseline("fsr_fast")


def test_inpainters_need_a_mask_and_denoisers_refuse_one(photos) -> None:
    with pytest.raises(MaskRequiredError):
        load_baseline("telea").restore(photos["coffee"])
    with pytest.raises(RestoreInputError, match="takes no mask"):
        load_baseline("tv").restore(photos["coffee"], mask=box_holes())


@pytest.mark.slow
def test_bm3d_uses_the_sigma_hint_and_estimates_without_it(photos) -> None:
    clean = np.ascontiguousarray(photos["camera"][:32, :32])
    degraded = noisy(clean, 25)
    bm3d = load_baseline("bm3d")
    assert isinstance(bm3d, SigmaAware)
    bm3d.set_sigma(25)
    told = bm3d.restore(degraded)
    bm3d.set_sigma(5)
    too_weak = bm3d.restore(degraded)
    assert psnr(told, clean) > psnr(too_weak, clean)
    bm3d.set_sigma(None)  # estimated from the image: still a real improvement
    assert psnr(bm3d.restore(degraded), clean) > psnr(degraded, clean) + 3
    with pytest.raises(ValueError, match="sigma"):
        bm3d.set_sigma(-1)


def test_a_missing_package_says_how_to_install_it(monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "bm3d" else real(name, *a)
    )
    with pytest.raises(BaselineDependencyError, match=r"ganrestore\[baselines\]"):
        load_baseline("bm3d")


def test_names_with_or_without_the_prefix_params_and_unknown_names() -> None:
    assert is_baseline("baseline:nlm") and not is_baseline("runs/x")
    assert load_baseline("baseline:tv", strength=2.0).strength == 2.0
    with pytest.raises(PluginParamsError, match="strength"):
        load_baseline("tv", wrong=1)
    with pytest.raises(PluginParamsError, match="profile"):
        load_baseline("bm3d", profile="fast")
    with pytest.raises(UnknownPluginError, match="Did you mean 'bm3d'"):
        load_baseline("bm4d")
