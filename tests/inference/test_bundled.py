"""``--model`` resolution: paths, bundled names, and the task check."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ganrestore.errors import GanrestoreError
from ganrestore.inference import bundled
from ganrestore.inference.bundled import ModelNotFoundError, resolve_model
from ganrestore.inference.restorer import checkpoint_file


@pytest.fixture
def weights_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "weights"
    folder.mkdir()
    monkeypatch.setattr(bundled, "WEIGHTS_DIR", folder)
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
    shutil.copy(checkpoint_file(denoise_run), weights_dir / "denoise.safetensors")
    assert bundled.installed_bundled_models() == ["denoise"]
    for kwargs in ({"model": "denoise"}, {"model": None, "task": "denoise"}):
        restorer = resolve_model(**kwargs, device="cpu")
        assert restorer.task == "denoise" and "denoise.safetensors" in restorer.description


def test_a_path_is_a_checkpoint_and_the_task_must_match(denoise_run: Path) -> None:
    assert resolve_model(str(denoise_run), "denoise", "cpu").task == "denoise"
    with pytest.raises(GanrestoreError, match="is a denoise model; drop --task"):
        resolve_model(denoise_run, "inpaint", "cpu")


def test_an_unknown_model_lists_what_would_work(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"no such file or folder.*denoise, inpaint"):
        resolve_model(str(tmp_path / "nope"), device="cpu")
    with pytest.raises(ModelNotFoundError, match="--model"):
        resolve_model(None, None, "cpu")
