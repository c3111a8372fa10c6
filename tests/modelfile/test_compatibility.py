"""Model files written by earlier ganrestore versions load unchanged and restore bit for bit.

The checksums of the fixtures were computed with the code that wrote them (commit 6b26201,
before ``ganrestore.modelfile`` existed): the weights as the rebuilt network holds them, and
the uint8 output of ``restore`` on a small crop of a real photo. Weights are compared exactly
on every machine; the outputs went through float convolutions, identical with 1 and 2 threads
here. The bundled models' weights are pinned too, and their restorer must give what one
forward of the network, rebuilt by hand from the file, gives.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch

import ganrestore
import ganrestore.tasks
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
    restorer = ganrestore.load_restorer(model, device="cpu", precision="fp32")  # digests: float32
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


def direct_restore(file: Path, photo: np.ndarray, holes: np.ndarray | None) -> np.ndarray:
    """One untiled forward of the network in ``file``, rebuilt by hand (no ganrestore loader):
    the reference the loader's restorer must agree with."""
    from safetensors.torch import load_file

    record = read_record(file)
    task = ganrestore.tasks.build_task(record.task)
    generator = ganrestore.build_generator(
        record.generator.name, task.in_channels, task.out_channels, **record.generator.params
    )
    generator.load_state_dict({k: v.float() for k, v in load_file(file).items()})
    batch = {"degraded": torch.from_numpy(photo / 255.0).float().permute(2, 0, 1)[None]}
    if holes is not None:
        batch["mask"] = torch.from_numpy(holes > 127).float()[None, None]
    with torch.inference_mode():
        restored = task.restore(generator.eval()(task.network_input(batch)), batch)
    return np.rint(restored[0].permute(1, 2, 0).numpy() * 255.0).astype(np.uint8)


@pytest.mark.slow  # the bundled models
@pytest.mark.parametrize(
    ("name", "expected_weights"),
    # The shipped weights: update these with the model card whenever new weights are shipped.
    [("denoise", "c24a29031155d838"), ("inpaint", "91f30602a1cf298d")],
)
def test_the_bundled_models_load_unchanged_and_restore_as_their_network(
    name: str, expected_weights: str, photo, holes
) -> None:
    restorer = ganrestore.load_restorer(name, device="cpu", tile=0, precision="fp32")
    assert isinstance(restorer, NetworkRestorer)
    assert restorer.description == str(WEIGHTS / f"{name}.safetensors")
    assert weights_digest(restorer.generator) == expected_weights
    mask = holes if restorer.takes_masks else None
    if restorer.settings is not None:  # an inpainting model: one forward, exactly the mask
        restorer.settings.grow, restorer.settings.strategy = 0, "tiles"
    restored = restorer.restore(photo, mask=mask) if mask is not None else restorer.restore(photo)

    expected = direct_restore(WEIGHTS / f"{name}.safetensors", photo, mask)
    difference = np.abs(restored.astype(int) - expected.astype(int))
    assert difference.max() <= 1 and (difference > 0).mean() < 0.01


@pytest.mark.parametrize("name", ["denoise", "inpaint"])
def test_the_bundled_models_hold_no_path_of_the_machine_that_trained_them(name: str) -> None:
    text = json.dumps(read_record(WEIGHTS / f"{name}.safetensors").to_dict())
    assert not re.search(r'"(/|[A-Za-z]:\\\\)', text), "an absolute path in the record"
    assert read_record(WEIGHTS / f"{name}.safetensors").training.config["init"] == name
