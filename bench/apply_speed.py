"""Benchmark ``ganrestore apply`` against the network's own speed, per photo size, and memory.

Prints one JSON object:

* ``sizes``: for photos of 0.25, 1, 4 and 12 megapixels (4:3 noisy JPEGs; ``--sizes``), the
  megapixels/s of ``ganrestore apply`` on a folder of them (about 6 MP of photos, so that the
  first pass of a size, which builds oneDNN's kernels and faults in its memory, weighs as in
  a folder of a user's photos, not as in one photo alone; decode, tiling, forward, blending,
  encode, atomic write: the summary's own clock) against the bare forward throughput of the
  generator on a 512 x 512 input already in memory, in a process whose allocator keeps freed
  memory as ``apply``'s does. ``ratio`` = median apply run (the lower middle one for an
  even ``--repeats``; its fields are reported) / median forward pass (goal
  >= 0.85); ``ratio_of_bests`` = best / best, which on a shared machine favours the forward:
  one short pass is more often lucky than a whole apply run. Also the network's work per
  pixel (``computed_pixels`` / photo pixels: tiles overlap) and the peak resident memory of
  the ``apply`` process (goal for the 12 MP photo: < 3 GB). Apply runs and forward passes
  alternate, so a machine shared with other work slows both alike.
* ``compare``: the same apply runs with other ``--tile,--overlap`` settings (``--compare
  512,64`` measures the defaults of earlier versions side by side).
* ``tiled_vs_untiled_psnr_db``: agreement of tiled (the defaults) and untiled runs on a
  2048 x 1536 photo.

The model is ``--model`` if given, else the generator of the ready ``denoise`` config
(``ganrestore/configs/denoise.toml``) with seeded random weights, saved as a real checkpoint
(``--tiny`` uses the 4-channel test network instead). Use ``--model denoise`` for the bundled
one.

Usage::

    python bench/apply_speed.py [--model denoise] [--sizes 0.25,1,4,12] [--repeats 3]
        [--compare 512,64] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import skimage.data
import tomllib
import torch
from PIL import Image

import ganrestore
from ganrestore.cpu_memory import keep_freed_memory_on_cpu
from ganrestore.devices import cpu_has_native_bf16
from ganrestore.engine.checkpoint import save_checkpoint
from ganrestore.inference import NetworkRestorer, TileSettings, load_restorer
from ganrestore.inference.tiling import tiled_pixels
from ganrestore.modelfile import GENERATOR, GENERATOR_RAW, ModelRecord, NetworkRecord
from ganrestore.models.networks import build_generator
from ganrestore.registry import GENERATORS

CONFIGS = Path(ganrestore.__file__).parent / "configs"
TINY = {"depth": 3, "base_channels": 4, "norm": "none", "dropout": 0.0}


def make_model(folder: Path, tiny: bool) -> Path:
    """A run directory holding a seeded random denoiser saved as ``ganrestore train`` would."""
    config = tomllib.loads((CONFIGS / "denoise.toml").read_text())["generator"]
    name, params = ("unet", TINY) if tiny else (config["name"], config["params"])
    torch.manual_seed(0)
    state = build_generator(name, 3, 3, **params).state_dict()
    record = ModelRecord("denoise", NetworkRecord.of_plugin(GENERATORS, name, params))
    save_checkpoint(folder, 1, {GENERATOR: state, GENERATOR_RAW: state}, {}, record)
    return folder


def photo_size(megapixels: float) -> tuple[int, int]:
    """(height, width) of a 4:3 photo of about ``megapixels``; 12 gives 3000 x 4000."""
    height = round(math.sqrt(megapixels * 1e6 * 3 / 4))
    return height, round(height * 4 / 3)


def make_photos(folder: Path, count: int, height: int, width: int) -> None:
    """``count`` distinct noisy (sigma 10) RGB JPEGs (quality 92) of ``height`` x ``width``."""
    folder.mkdir(parents=True)
    sources = [skimage.data.astronaut(), skimage.data.coffee(), skimage.data.chelsea()]
    rng = np.random.default_rng(0)
    for i in range(count):
        photo = cv2.resize(sources[i % len(sources)], (width, height), cv2.INTER_CUBIC)
        noisy = np.clip(photo + rng.normal(0, 10, photo.shape), 0, 255).astype(np.uint8)
        Image.fromarray(noisy).save(folder / f"photo{i:02d}.jpg", quality=92)


def forward_throughputs(
    generator: torch.nn.Module, device: torch.device, side: int, passes: int = 3
) -> list[float]:
    """Megapixels/s of the bare generator on a ``side`` x ``side`` input, one per pass."""
    batch = (torch.rand(1, 3, side, side) * 2 - 1).to(device)
    batch = batch.contiguous(memory_format=torch.channels_last)
    rates = []
    with torch.inference_mode():
        for _ in range(passes):
            _sync(device)
            start = time.perf_counter()
            generator(batch)
            _sync(device)
            rates.append(side * side / 1e6 / (time.perf_counter() - start))
    return rates


def run_apply(*args: str | Path) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run ``ganrestore apply ARGS`` in a fresh process; returns it and its peak RSS in KiB."""
    command = [sys.executable, "-c", _MEASURED_CLI, "apply", *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"ganrestore apply failed:\n{result.stdout}\n{result.stderr}")
    peak = re.search(r"peak_rss_kb (\d+)", result.stderr)
    return result, int(peak.group(1)) if peak else -1


_MEASURED_CLI = """
import resource, sys
from ganrestore.cli.app import main
sys.argv = ["ganrestore", *sys.argv[1:]]
try:
    main()
finally:
    print("peak_rss_kb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""
_SUMMARY = re.compile(r"restored (\d+).* in ([\d.]+) s \(([\d.]+) images/s, ([\d.]+) megapixels/s")


def apply_run(model: Path, folder: Path, out: Path, options: list[str]) -> dict:
    """One ``ganrestore apply`` of ``folder`` in a fresh process: its summary and peak RSS."""
    started = time.perf_counter()
    result, peak_kb = run_apply("--in", folder, "--out", out, "--model", model, *options)
    wall = time.perf_counter() - started
    restored, seconds, _, megapixels = _SUMMARY.search(result.stdout).groups()
    return {
        "images": int(restored),
        "seconds": float(seconds),
        "megapixels_per_s": float(megapixels),
        "process_wall_seconds": round(wall, 2),
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }


def tiled_agreement(restorer: NetworkRestorer) -> float:
    """PSNR (dB) between tiled (defaults) and untiled restorations of a 2048x1536 image."""
    image = cv2.resize(skimage.data.astronaut(), (2048, 1536), interpolation=cv2.INTER_CUBIC)
    pixels = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    tiling = restorer.tiling
    restorer.tiling = TileSettings(0, 0, 1)
    untiled = restorer.restore_batch(pixels)
    restorer.tiling = tiling
    tiled = restorer.restore_batch(pixels)
    mse = float(((tiled - untiled) ** 2).mean())
    return round(10 * math.log10(1 / mse), 2) if mse > 0 else math.inf


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _settings(text: str) -> TileSettings:
    tile, overlap = (int(part) for part in text.split(","))
    return TileSettings(tile=tile, overlap=overlap)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="bundled name, run dir or model file (default: above)")
    parser.add_argument("--tiny", action="store_true", help="use the tiny test network")
    parser.add_argument("--sizes", default="0.25,1,4,12", help="photo sizes in megapixels")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compare", action="append", default=[], help="TILE,OVERLAP to compare")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:  # here and in the apply processes
        torch.set_num_threads(args.threads)
        os.environ["OMP_NUM_THREADS"] = str(args.threads)

    with tempfile.TemporaryDirectory(prefix="ganrestore-bench-") as temporary:
        work = Path(temporary)
        model = args.model or make_model(work / "run", args.tiny)
        restorer = load_restorer(model, args.device)
        keep_freed_memory_on_cpu(restorer.device)  # the forward as `apply` runs it (its allocator)
        defaults = restorer.tiling
        settings = {"default": defaults} | {text: _settings(text) for text in args.compare}
        device = restorer.device
        forward_throughputs(restorer.generator, device, 256)  # warm-up
        rows = []
        for megapixels in (float(size) for size in args.sizes.split(",")):
            height, width = photo_size(megapixels)
            count = max(1, round(6 / megapixels))  # about 6 MP of photos per folder
            folder = work / f"{megapixels}MP"
            make_photos(folder, count, height, width)
            runs: dict[str, list[dict]] = {name: [] for name in settings}
            forwards: list[float] = []
            for attempt in range(args.repeats):
                forwards += forward_throughputs(restorer.generator, device, 512)
                for name, tiling in settings.items():
                    options = [
                        "--device", device.type, "--tile", str(tiling.tile),
                        "--overlap", str(tiling.overlap), "--batch-size", str(tiling.batch_size),
                    ]  # fmt: skip
                    out = work / f"out-{megapixels}-{name}-{attempt}"
                    runs[name].append(apply_run(model, folder, out, options))
            forward, forward_best = statistics.median(forwards), max(forwards)
            per_photo = height * width
            row = {
                "megapixels": megapixels,
                "photo": f"{width}x{height} JPEG",
                "photos": count,
                "forward_megapixels_per_s": round(forward, 3),
                "forward_best_megapixels_per_s": round(forward_best, 3),
            }
            for name, tiling in settings.items():
                work_pixels = tiled_pixels(height, width, tiling, restorer.multiple)
                ranked = sorted(runs[name], key=lambda run: run["megapixels_per_s"])
                median_run, best_run = ranked[(len(ranked) - 1) // 2], ranked[-1]
                row[name] = median_run | {
                    "best_megapixels_per_s": best_run["megapixels_per_s"],
                    "peak_rss_mb": max(run["peak_rss_mb"] for run in ranked),
                    "tile": tiling.tile,
                    "overlap": tiling.overlap,
                    "computed_pixels_per_pixel": round(work_pixels / per_photo, 3),
                    "ratio": round(median_run["megapixels_per_s"] / forward, 3),
                    "ratio_of_bests": round(best_run["megapixels_per_s"] / forward_best, 3),
                }
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
        report = {
            "model": str(model) if args.model else ("tiny" if args.tiny else "denoise.toml"),
            "device": str(device),
            "torch_threads": torch.get_num_threads(),
            "cpu_native_bf16": cpu_has_native_bf16(),
            "goal": {"ratio": 0.85, "peak_rss_mb_12mp": 3072},
            "sizes": rows,
            "tiled_vs_untiled_psnr_db": tiled_agreement(restorer),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    if "OMP_WAIT_POLICY" not in os.environ:
        # Measure the bare forward under the OpenMP setting `ganrestore apply` uses; it is read
        # when torch loads, so start again with it.
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        os.execv(sys.executable, [sys.executable, *sys.argv])
    main()
