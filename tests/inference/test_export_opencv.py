"""ONNX exports of the bundled models run in onnxruntime and in OpenCV's DNN module alike.

docs/export.md says any tool that reads ONNX will do; OpenCV is the one most people have. Each
bundled model is exported as ``ganrestore export`` exports it, then its graph is run on a small
real photo by onnxruntime and by ``cv2.dnn.readNetFromONNX``, and both must give PyTorch's
output. Before, the denoise export failed in OpenCV ("residual added after convolution must have
the same shape"): its noise map adds a per-channel offset to convolution outputs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
import torch

from ganrestore.export.exporter import export_model
from ganrestore.export.graph import INPUT_NAME
from ganrestore.inference.model_file import load_generator
from ganrestore.modelfile import bundled_path
from ganrestore.tasks import build_task

pytestmark = pytest.mark.slow  # torch's ONNX exporter: about 10 s per model

#: The largest difference from PyTorch allowed, in the network's [-1, 1] units.
TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def onnx_exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Bundled name -> (its model file, copied; its ONNX export)."""
    folder = tmp_path_factory.mktemp("opencv")
    made = {}
    for name in ("denoise", "inpaint"):
        model = Path(shutil.copy(bundled_path(name), folder / f"{name}.safetensors"))
        made[name] = (model, export_model(model, folder / f"{name}.onnx").file)
    return made


def network_input(task_name: str) -> torch.Tensor:
    """A 64 x 96 crop of a real photo (noisy for denoise, with a hole for inpaint), packed as
    the task packs it: sides that are multiples of 16, the graph's size multiple."""
    photo = skimage.data.astronaut()[40:104, 180:276].astype(np.float32) / 255
    rng = np.random.default_rng(0)
    mask = np.zeros((1, 1, 64, 96), np.float32)
    if task_name == "denoise":
        photo = np.clip(photo + rng.normal(0, 25 / 255, photo.shape), 0, 1)
    else:
        mask[..., 20:40, 30:70] = 1
    degraded = torch.from_numpy(photo.transpose(2, 0, 1)[None].astype(np.float32))

    return build_task(task_name).network_input(
        {"degraded": degraded, "mask": torch.from_numpy(mask)}
    )


@pytest.mark.parametrize("name", ["denoise", "inpaint"])
def test_an_onnx_export_gives_pytorchs_output_in_onnxruntime_and_opencv(
    name: str, onnx_exports: dict[str, tuple[Path, Path]]
) -> None:
    import onnxruntime

    model, exported = onnx_exports[name]
    loaded = load_generator(model)
    inputs = network_input(loaded.task.name)
    with torch.inference_mode():
        expected = loaded.module(inputs).numpy()
    array = inputs.numpy()

    session = onnxruntime.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
    by_onnxruntime = session.run(None, {INPUT_NAME: array})[0]
    network = cv2.dnn.readNetFromONNX(str(exported))
    network.setInput(array)
    by_opencv = network.forward()

    assert expected.shape == (1, 3, 64, 96)
    for output in (by_onnxruntime, by_opencv):
        assert output.shape == expected.shape
        assert np.abs(output - expected).max() <= TOLERANCE
    assert np.abs(expected - array[:, :3]).mean() > 0.01  # the network did change the photo
