"""Model files written by earlier ganrestore versions load unchanged and restore bit for bit.

The checksums were computed with the code that wrote the files (commit 6b26201, before
``ganrestore.modelfile`` existed): the weights as the rebuilt network holds them, and the uint8
output of ``restore`` on a small crop of a real photo. Weights are compared exactly on every
machine; the outputs went through float convolutions, identical with 1 and 2 threads here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch

import ganrestore
from ganrestore.engine.checkpoint import load_training_state
from ganrestore.engine.run_dir import load_resume_point
from ganrestore.inference import NetworkRestorer
from ganrestore.modelfile import (
    DISCRIMINATOR,
    GENERATOR,
    GENERATOR_RAW,
    SourceKind,
    parse_model_source,
    read_record,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "model_files"
RUN = FIXTURES / "run-6b26201"
EXPORTED = FIXTURES / "denoise-6b26201.safetensors"
WEIGHTS = Path(ganrestore.__file__).parent / "weights"


def digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def weights_digest(module: torch.nn.Module) -> str:
    """Names, dtypes and bytes of every tensor of the rebuilt network."""
    hashed = hashlib.sha256()
    for key, value in sorted(module.state_dict().items()):
        hashed.update(key.encode())
        hashed.update(str(value.dtype).encode())
        hashed.update(value.detach().contiguous().numpy().tobytes())
    return hashed.hexdigest()[:16]


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """(72, 100, 3) uint8 crop of the astronaut."""
    return np.ascontiguousarray(skimage.data.astronaut()[60:132, 160:260])


@pytest.fixture(scope="module")
def holes() -> np.ndarray:
    mask = np.zeros((72, 100), np.uint8)
    mask[20:44, 30:60] = 255
    return mask


@pytest.mark.parametrize(
    "model", [RUN, RUN / "checkpoints" / "step-00000002", EXPORTED], ids=["run", "folder", "file"]
)
def test_a_format_1_run_and_its_exported_file_still_load(model: Path, photo: np.ndarray) -> None:
    restorer = ganrestore.load_restorer(model, device="cpu")
    assert isinstance(restorer, NetworkRestorer) and restorer.task == "denoise"
    record = restorer.record
    assert record is not None and record.format_version == 1 and record.step == 2
    assert record.generator.name == "resunet" and record.generator.params["widths"] == [8, 8]
    assert set(record.training.metrics) == {"psnr", "ssim", "input_psnr"}
    expected_weights, expected_output = (
        ("68d7ff3afe2cf2c8", "63bea7ab327283ca")
        if model == EXPORTED
        else ("1ea8ac4a3e39a817", "d317d1f6dd5dcac1")
    )
    assert weights_digest(restorer.generator) == expected_weights
    assert digest(restorer.restore(photo)) == expected_output


def test_the_old_records_keep_every_field(tmp_path: Path) -> None:
    checkpoint = RUN / "checkpoints" / "step-00000002"
    record = read_record(checkpoint)
    for name in (GENERATOR, GENERATOR_RAW, DISCRIMINATOR):
        assert read_record(checkpoint / name) == record
    assert record.discriminator is not None and record.discriminator.name == "patchgan"
    assert record.training.ema is True and record.training.config["steps"] == 2
    exported = read_record(EXPORTED)
    assert exported.extra["bundled_name"] == "denoise"
    assert exported.extra["exported_from"]["step"] == 2
    assert parse_model_source(RUN).kind is SourceKind.RUN


def test_a_format_1_checkpoint_can_still_be_resumed() -> None:
    point = load_resume_point(RUN, [GENERATOR, GENERATOR_RAW, DISCRIMINATOR])
    assert point.checkpoint.name == "step-00000002" and not point.damaged
    assert point.record.step == 2 and point.state["step"] == 2
    assert set(load_training_state(point.checkpoint)["optimizers"]) == {
        "generator",
        "discriminator",
    }


@pytest.mark.slow  # the bundled models
@pytest.mark.parametrize(
    ("name", "expected_weights", "expected_output"),
    [
        ("denoise", "42ee68edec7f46db", "69bacf36f52a6d4e"),
        ("inpaint", "91f30602a1cf298d", "b21cbbf527a4641f"),
    ],
)
def test_the_bundled_models_load_unchanged_and_restore_bit_for_bit(
    name: str, expected_weights: str, expected_output: str, photo, holes
) -> None:
    restorer = ganrestore.load_restorer(name, device="cpu")
    assert isinstance(restorer, NetworkRestorer)
    assert restorer.description == str(WEIGHTS / f"{name}.safetensors")
    assert weights_digest(restorer.generator) == expected_weights
    restored = (
        restorer.restore(photo, mask=holes) if restorer.uses_mask else restorer.restore(photo)
    )
    assert digest(restored) == expected_output
