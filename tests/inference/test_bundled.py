"""``--model`` resolution: paths, bundled names, and the task check."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ganrestore.errors import GanrestoreError
from ganrestore.inference import bundled
from ganrestore.inference.bundled import ModelNotFoundError, resolve_model
from ganrestore.modelfile import generator_file, source

from .conftest import kept_pixels


@pytest.fixture
def weights_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "weights"
    folder.mkdir()
    monkeypatch.setattr(source, "WEIGHTS_DIR", folder)
    return folder


def test_a_bundled_model_that_is_not_installed_says_how_to_get_one(weights_dir: Path) -> None:
    for kwargs in ({"model": "inpaint"}, {"model": None, "task": "inpaint"}):
        with pytest.raises(ModelNotFoundError) as error:
            resolve_model(**kwargs, device="cpu")
        message = str(error.value)
        assert "ganrestore train inpaint" in message and "--model RUN_DIR" in message
    assert bundled.installed_bundled_models() == []


def test_a_bundled_model_is_a_generator_file_under_weights(
    weights_dir: Path, denoise_run: Path
) -> None:
    shutil.copy(generator_file(denoise_run), weights_dir / "denoise.safetensors")
    assert bundled.installed_bundled_models() == ["denoise"]
    for kwargs in ({"model": "denoise"}, {"model": None, "task": "denoise"}):
        restorer = resolve_model(**kwargs, device="cpu")
        assert restorer.task == "denoise" and "denoise.safetensors" in restorer.description


def test_a_path_is_a_checkpoint_and_the_task_must_match(denoise_run: Path) -> None:
    assert resolve_model(str(denoise_run), "denoise", "cpu").task == "denoise"
    with pytest.raises(GanrestoreError, match="is a denoise model; drop --task"):
        resolve_model(denoise_run, "inpaint", "cpu")


def test_an_unknown_model_lists_what_would_work(tmp_path: Path, weights_dir: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"no such file or folder.*denoise, inpaint"):
        resolve_model(str(tmp_path / "nope"), device="cpu")
    with pytest.raises(ModelNotFoundError, match="'denoise' model is not installed"):
        resolve_model(None, None, "cpu")  # both bundled models are needed without --task


def test_the_shipped_bundled_models_load_and_restore() -> None:
    import numpy as np

    pair = resolve_model(None, None, "cpu")
    assert isinstance(pair, bundled.BundledPair)
    assert (pair.unmasked.task, pair.masked.task) == ("denoise", "inpaint")
    assert pair.unmasked.record is not None
    assert pair.unmasked.record.extra["bundled_name"] == "denoise"
    image = np.random.default_rng(0).integers(0, 256, (40, 52, 3), dtype=np.uint8)
    mask = np.zeros((40, 52), dtype=np.uint8)
    mask[10:20, 15:30] = 255
    filled = pair.restore(image, mask)
    assert filled.shape == image.shape and filled.dtype == np.uint8
    known = kept_pixels(mask)  # all but the holes grown by 2 pixels
    assert np.array_equal(filled[known], image[known])
    assert pair.restore(image).shape == image.shape


@pytest.mark.slow
def test_the_bundled_denoiser_cleans_a_gray_photo_as_well_as_a_colour_one() -> None:
    """A gray photo reaches the network as RGB with the same noise in every channel."""
    import numpy as np
    import skimage.data

    denoiser = resolve_model("denoise", device="cpu")
    gains = {}
    for name, clean in (
        ("gray", skimage.data.camera()[300:428, 200:328]),
        ("colour", skimage.data.astronaut()[300:428, 200:328]),
    ):
        noise = np.random.default_rng(0).normal(0, 25, clean.shape)
        noisy = np.clip(np.rint(clean + noise), 0, 255).astype(np.uint8)
        restored = denoiser.restore(noisy)
        assert restored.shape == clean.shape
        gains[name] = _psnr(restored, clean) - _psnr(noisy, clean)
    # σ 25 on these crops: about +6 dB gray and +7.7 dB colour; a model trained on colour noise
    # alone gained 0.7 dB on the gray crop
    assert gains["gray"] > 5.0 and gains["colour"] > 5.0, gains


def _psnr(image, reference) -> float:
    import numpy as np

    error = np.mean((image.astype(np.float64) - reference.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / error))
