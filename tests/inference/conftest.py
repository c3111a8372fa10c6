"""Real checkpoints of tiny generators, and small real images, for the inference tests."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch

import ganrestore
from ganrestore.engine.checkpoint import save_checkpoint
from ganrestore.inference import NetworkRestorer, TileSettings
from ganrestore.inference.masks import holes_from_array
from ganrestore.modelfile import (
    GENERATOR,
    GENERATOR_RAW,
    ModelRecord,
    NetworkRecord,
    TrainingSummary,
)
from ganrestore.models.networks import build_generator
from ganrestore.registry import GENERATORS
from ganrestore.tasks.inpaint.edges import distance_to_holes
from ganrestore.tasks.inpaint.settings import HoleSettings

TINY_PARAMS = {"depth": 3, "base_channels": 4, "norm": "none", "dropout": 0.0}
IN_CHANNELS = {"denoise": 3, "inpaint": 4}


def tiny_generator(task: str, seed: int = 0) -> torch.nn.Module:
    """A seeded tiny U-Net whose weights are scaled up so that its output varies visibly."""
    torch.manual_seed(seed)
    generator = build_generator("unet", IN_CHANNELS[task], 3, **TINY_PARAMS)
    with torch.no_grad():
        for parameter in generator.parameters():
            parameter.mul_(2.0)
    return generator.eval()


def save_tiny_run(run_dir: Path, task: str, seed: int = 0, step: int = 10) -> Path:
    """Save a checkpoint exactly as the trainer does (record with task and generator spec)."""
    state = tiny_generator(task, seed).state_dict()
    record = ModelRecord(
        task,
        NetworkRecord.of_plugin(GENERATORS, "unet", TINY_PARAMS),
        training=TrainingSummary(
            ema=False,
            ganrestore_version=ganrestore.__version__,
            torch_version=torch.__version__,
        ),
    )
    save_checkpoint(run_dir, step, {GENERATOR: state, GENERATOR_RAW: state}, {}, record)
    return run_dir


@pytest.fixture(scope="session")
def denoise_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run directory with one checkpoint of a tiny denoising generator."""
    return save_tiny_run(tmp_path_factory.mktemp("runs") / "denoise", "denoise")


@pytest.fixture(scope="session")
def inpaint_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run directory with one checkpoint of a tiny inpainting generator."""
    return save_tiny_run(tmp_path_factory.mktemp("runs") / "inpaint", "inpaint", seed=1)


@pytest.fixture(scope="module")
def denoiser(denoise_run: Path) -> NetworkRestorer:
    """The tiny denoise run, tiled in 64-pixel tiles so that small test images are tiled."""
    return NetworkRestorer.from_checkpoint(denoise_run, "cpu", TileSettings(64, 16, 4))


@pytest.fixture(scope="module")
def inpainter(inpaint_run: Path) -> NetworkRestorer:
    """The tiny inpaint run, tiled like :func:`denoiser`."""
    return NetworkRestorer.from_checkpoint(inpaint_run, "cpu", TileSettings(64, 16, 4))


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """(72, 100, 3) uint8 crop of the astronaut (sizes not multiples of 8 on purpose)."""
    return np.ascontiguousarray(skimage.data.astronaut()[60:132, 160:260])


@pytest.fixture(scope="session")
def box_mask() -> Callable[[tuple[int, int]], np.ndarray]:
    """``box_mask((H, W))``: uint8 with a white (255 = hole) box in the middle."""

    def make(size: tuple[int, int]) -> np.ndarray:
        height, width = size
        mask = np.zeros((height, width), np.uint8)
        mask[height // 4 : height // 2, width // 3 : 2 * width // 3] = 255
        return mask

    return make


def kept_pixels(mask: np.ndarray, grow: int = HoleSettings.grow) -> np.ndarray:
    """``(H, W)`` bool: the pixels an inpainting network keeps exactly for this mask.

    Those farther than ``grow`` pixels (the restorer's default) from every hole; ``mask`` is
    any mask :func:`~ganrestore.inference.masks.holes_from_array` reads (white / True = hole).
    """
    holes = holes_from_array(mask) > 0
    return distance_to_holes(holes) > grow if holes.any() else ~holes


def header_only_png(path: Path, width: int, height: int) -> Path:
    """A 57-byte PNG whose header says ``width x height``: decoding it fails (truncated)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    signature = b"\x89PNG\r\n\x1a\n"
    path.write_bytes(signature + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 99)))
    return path
