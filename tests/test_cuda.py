"""On a CUDA GPU: training, apply and precision run there and agree with the CPU.

Skipped where PyTorch sees no CUDA GPU (CI); ``bench/gpu_check.sh`` runs them whenever one is
at hand.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

import ganrestore
from ganrestore.devices import choose_precision

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
CUDA = torch.device("cuda")


def test_auto_precision_on_cuda_is_bf16_where_supported_else_fp16() -> None:
    expected = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    assert choose_precision(CUDA, "auto", training=True) == expected


@pytest.mark.parametrize("name", ["denoise", "inpaint"])
def test_the_bundled_models_restore_on_cuda_as_on_the_cpu(name: str) -> None:
    rng = np.random.default_rng(0)
    photo = np.clip(skimage.data.astronaut()[:300, :400] + rng.normal(0, 15, (300, 400, 3)), 0, 255)
    photo = photo.astype(np.uint8)
    mask = np.zeros(photo.shape[:2], bool)
    mask[100:160, 150:230] = True
    kwargs = {"mask": mask} if name == "inpaint" else {}
    on_gpu = ganrestore.load_restorer(name, device="cuda").restore(photo, **kwargs)
    on_cpu = ganrestore.load_restorer(name, device="cpu").restore(photo, **kwargs)
    mse = float(np.mean((on_gpu.astype(float) - on_cpu.astype(float)) ** 2))
    assert mse == 0 or 10 * math.log10(255**2 / mse) > 40  # float16 autocast on the GPU


@pytest.mark.slow
def test_training_runs_on_cuda_and_its_model_applies(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, image in enumerate([skimage.data.astronaut(), skimage.data.coffee()]):
        Image.fromarray(image).save(photos / f"p{i}.png")
    run = tmp_path / "run"
    train = [sys.executable, "-m", "ganrestore", "train", "denoise", "--data", str(photos)]
    train += ["--out", str(run), "--steps", "20", "--device", "cuda", "--set", "data.workers=0"]
    result = subprocess.run(train, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "on cuda" in result.stdout.replace("\n", " ")
    apply = [sys.executable, "-m", "ganrestore", "apply", "--in", str(photos), "--out"]
    apply += [str(tmp_path / "out"), "--model", str(run), "--device", "cuda"]
    result = subprocess.run(apply, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["p0.png", "p1.png"]
