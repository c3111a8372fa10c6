"""Benchmark an exported model in onnxruntime against the same model in PyTorch eager, on the CPU.

Prints one JSON object: for each size (``--sizes``, default 512x512 and 1024x768, one noisy
photo each), the seconds per image of

* ``network``: the bare generator call (PyTorch) against the ONNX Runtime session, on the same
  packed input;
* ``restorer``: ``restore_batch`` of the restorer ``apply`` uses, loaded from the model and
  from its ``.onnx`` file (task packing, padding, output composition and the check for NaN
  included; one pass per image: the sizes fit one tile),

with ``ratio`` = onnxruntime / torch (below 1: onnxruntime is faster) and ``max_abs_diff``
between the two outputs (network: [-1, 1] units; restorer: [0, 1] image units). Runs
alternate (torch, onnxruntime, torch, ...) so that other work on the machine slows both
alike; each figure is the median of ``--repeats`` runs after one warm-up run.

Both use ``--threads`` threads (default 1): ``OMP_NUM_THREADS`` and ``torch.set_num_threads``
for torch, ``intra_op_num_threads`` for onnxruntime (the restorer gives its session torch's
thread count).

Usage::

    OMP_NUM_THREADS=1 python bench/export_speed.py [--model denoise] [--onnx FILE.onnx]
        [--sizes 512x512,1024x768] [--repeats 5] [--threads 1]

Without ``--onnx``, the model is exported to a temporary file first (``ganrestore export``'s
own code, check included).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def _threads_from_argv() -> str:
    """``--threads`` read before torch is imported (OpenMP reads the variable at start-up)."""
    if "--threads" in sys.argv[:-1]:
        return sys.argv[sys.argv.index("--threads") + 1]
    return os.environ.get("OMP_NUM_THREADS", "1")


os.environ["OMP_NUM_THREADS"] = _threads_from_argv()

import numpy as np  # noqa: E402
import skimage.data  # noqa: E402
import torch  # noqa: E402

from ganrestore.export.exported import open_exported  # noqa: E402
from ganrestore.export.exporter import export_model  # noqa: E402
from ganrestore.inference import TileSettings, load_restorer  # noqa: E402


def noisy_photo(height: int, width: int, sigma: float = 25.0) -> torch.Tensor:
    """``(1, 3, H, W)`` [0, 1]: the astronaut resized to the size, with Gaussian noise."""
    photo = torch.from_numpy(skimage.data.astronaut()).permute(2, 0, 1)[None].float() / 255
    photo = torch.nn.functional.interpolate(photo, size=(height, width), mode="bilinear")
    noise = torch.randn(photo.shape, generator=torch.Generator().manual_seed(0)) * sigma / 255
    return (photo + noise).clamp(0, 1)


def median_seconds(runs: dict[str, list[float]], name: str) -> float:
    return float(np.median(runs[name]))


def alternate(calls: dict[str, object], repeats: int) -> tuple[dict[str, float], dict]:
    """Median seconds of each call, run in turn ``repeats`` times after a warm-up; outputs."""
    outputs = {name: call() for name, call in calls.items()}  # warm-up
    runs: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            runs[name].append(time.perf_counter() - started)
    return {name: median_seconds(runs, name) for name in calls}, outputs


def measure(model: str, onnx_file: Path, size: tuple[int, int], repeats: int) -> dict:
    height, width = size
    images = noisy_photo(height, width)
    tiling = TileSettings(tile=max(height, width), overlap=32, batch_size=1)
    torch_restorer = load_restorer(model, device="cpu", tiling=tiling)
    onnx_restorer = load_restorer(onnx_file, device="cpu", tiling=tiling)
    graph = open_exported(onnx_file, "onnx", "cpu")
    task = torch_restorer.task_spec
    packed = task.network_input({"degraded": images})
    generator = torch_restorer.generator

    def torch_network() -> torch.Tensor:
        with torch.inference_mode():
            return generator(packed)

    def onnx_network() -> torch.Tensor:
        return graph(packed)

    network, outputs = alternate({"torch": torch_network, "onnxruntime": onnx_network}, repeats)
    network_diff = float((outputs["torch"] - outputs["onnxruntime"]).abs().max())
    restorer, restored = alternate(
        {
            "torch": lambda: torch_restorer.restore_batch(images),
            "onnxruntime": lambda: onnx_restorer.restore_batch(images),
        },
        repeats,
    )
    restorer_diff = float((restored["torch"] - restored["onnxruntime"]).abs().max())
    return {
        "size": f"{width}x{height}",
        "network": {
            **{f"{name}_s": round(value, 4) for name, value in network.items()},
            "ratio": round(network["onnxruntime"] / network["torch"], 3),
            "max_abs_diff": network_diff,
        },
        "restorer": {
            **{f"{name}_s": round(value, 4) for name, value in restorer.items()},
            "ratio": round(restorer["onnxruntime"] / restorer["torch"], 3),
            "max_abs_diff": restorer_diff,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="denoise", help="what to export (default: denoise)")
    parser.add_argument("--onnx", type=Path, help="its .onnx export (default: export it now)")
    parser.add_argument("--sizes", default="512x512,1024x768", help="WIDTHxHEIGHT,...")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=int(os.environ["OMP_NUM_THREADS"]))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sizes = []
    for text in args.sizes.split(","):
        width, height = (int(value) for value in text.lower().split("x"))
        sizes.append((height, width))
    with tempfile.TemporaryDirectory() as folder:
        onnx_file = args.onnx
        export_seconds = None
        if onnx_file is None:
            onnx_file = Path(folder) / f"{Path(args.model).stem}.onnx"
            started = time.perf_counter()
            export_model(args.model, onnx_file)
            export_seconds = round(time.perf_counter() - started, 1)
        results = [measure(args.model, onnx_file, size, args.repeats) for size in sizes]
    print(
        json.dumps(
            {
                "model": args.model,
                "threads": args.threads,
                "torch": torch.__version__,
                "onnxruntime": __import__("onnxruntime").__version__,
                "export_seconds": export_seconds,
                "repeats": args.repeats,
                "sizes": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
