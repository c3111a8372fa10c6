"""``ganrestore eval`` reads references, outputs and masks within a pixel limit too: a file
above it is refused by name before it is decoded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganrestore.data.io import ImageTooLargeError
from ganrestore.evaluation import EvalSettings, evaluate, noise_condition, score_folders

SIZE = 48 * 48  # pixels of each photo of clean_dir


def quiet(message: str) -> None:
    pass


def test_a_reference_above_the_limit_is_named_and_not_decoded(clean_dir: Path) -> None:
    settings = EvalSettings("denoise", clean_dir, [noise_condition(15)], lpips=False)
    limited = EvalSettings(
        "denoise", clean_dir, [noise_condition(15)], lpips=False, max_pixels=SIZE - 1
    )
    assert evaluate(settings, [], quiet).scores  # within the default limit
    with pytest.raises(ImageTooLargeError, match=r"astronaut\.png is not decoded: 48x48"):
        evaluate(limited, [], quiet)


def test_rescoring_holds_outputs_and_masks_to_the_limit(tmp_path: Path, clean_dir: Path) -> None:
    restored, masks = tmp_path / "restored", tmp_path / "masks"
    restored.mkdir()
    masks.mkdir()
    for path in clean_dir.iterdir():
        Image.open(path).save(restored / path.name)
        Image.fromarray(np.zeros((480, 480), np.uint8)).save(masks / path.name)  # 10x larger
    assert score_folders(restored, clean_dir, lpips=False, log=quiet, max_pixels=SIZE).scores
    with pytest.raises(ImageTooLargeError, match=r"masks/\w+\.png is not decoded: 480x480"):
        score_folders(restored, clean_dir, masks, lpips=False, log=quiet, max_pixels=SIZE)
