"""Benchmark the number formats a bundled network restores in: float32 against ``auto``.

``auto`` (:func:`ganrestore.devices.choose_precision`) is bfloat16 on a CPU that computes it
natively (AVX-512 BF16 or AMX) and float32 on other CPUs. For each bundled model, every photo of
``--photos`` is degraded as its task degrades it (noise of σ 25 on the 0-255 scale; a box hole of
a sixth of the photo; a bicubic downscale), restored in float32 and in ``auto`` in turns
(``--repeats`` each, so a machine shared with other work slows both alike), and the two are
compared.

Prints one JSON object: whether the CPU computes bfloat16 natively, the thread count and what
``auto`` is here; then per model ``seconds`` (the median over repeats of the whole folder, per
format), ``speedup`` (float32 seconds / ``auto`` seconds, measured side by side), ``psnr`` (mean
over the photos, dB, against the clean photo, per format), ``psnr_change_db`` (``auto`` -
float32) and ``max_abs_difference`` / ``share_over_1`` (of the 8-bit outputs: the largest
difference and the share of values that differ by more than 1 of 255).

Usage::

    python bench/precision.py [--photos data/eval] [--repeats 3] [--threads N]
        [--models denoise,inpaint,upscale-x2,upscale-x4]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import ganrestore
from ganrestore.devices import choose_precision, cpu_has_native_bf16
from ganrestore.evaluation.metrics import psnr

MODELS = ("denoise", "inpaint", "upscale-x2", "upscale-x4")


def degraded(model: str, clean: np.ndarray, rng: np.random.Generator) -> tuple[dict, np.ndarray]:
    """What ``model`` restores from ``clean`` ``(H, W, 3)`` uint8: the keyword arguments of
    ``restore`` and the truth its output is scored against."""
    height, width = clean.shape[:2]
    if model.startswith("upscale-x"):
        scale = int(model.removeprefix("upscale-x"))
        small = Image.fromarray(clean).resize((width // scale, height // scale), Image.BICUBIC)
        return {"image": np.asarray(small)}, clean[
            : height // scale * scale, : width // scale * scale
        ]
    if model == "inpaint":
        mask = np.zeros((height, width), np.uint8)
        top, left = height * 3 // 8, width * 3 // 8
        mask[top : top + height // 3, left : left + width // 2] = 255  # a sixth of the photo
        holed = clean.copy()
        holed[mask > 0] = 0
        return {"image": holed, "mask": mask}, clean
    noisy = np.clip(clean + rng.normal(0, 25, clean.shape), 0, 255).astype(np.uint8)
    return {"image": noisy}, clean


def measure(model: str, photos: list[np.ndarray], repeats: int) -> dict:
    rng = np.random.default_rng(0)
    cases = [degraded(model, photo, rng) for photo in photos]
    restorers = {
        precision: ganrestore.load_restorer(model, device="cpu", precision=precision)
        for precision in ("fp32", "auto")
    }
    times: dict[str, list[float]] = {name: [] for name in restorers}
    outputs: dict[str, list[np.ndarray]] = {}
    for _ in range(repeats):
        for name, restorer in restorers.items():
            start = time.perf_counter()
            outputs[name] = [restorer.restore(**arguments) for arguments, _ in cases]
            times[name].append(time.perf_counter() - start)
    seconds = {name: statistics.median(values) for name, values in times.items()}
    differences = [
        np.abs(exact.astype(np.int16) - fast.astype(np.int16))
        for exact, fast in zip(outputs["fp32"], outputs["auto"], strict=True)
    ]
    scores = {
        name: float(
            np.mean([psnr(out, truth) for out, (_, truth) in zip(outs, cases, strict=True)])
        )
        for name, outs in outputs.items()
    }
    return {
        "auto_is": restorers["auto"].precision,
        "seconds": {name: round(value, 3) for name, value in seconds.items()},
        "speedup": round(seconds["fp32"] / seconds["auto"], 2),
        "psnr": {name: round(value, 4) for name, value in scores.items()},
        "psnr_change_db": round(scores["auto"] - scores["fp32"], 4),
        "max_abs_difference": int(max(int(d.max()) for d in differences)),
        "share_over_1": round(float(np.mean([np.mean(d > 1) for d in differences])), 5),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, default=Path("data/eval"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    files = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".png", ".jpg"))
    photos = [np.asarray(Image.open(path).convert("RGB")) for path in files]
    report = {
        "photos": len(photos),
        "megapixels": round(sum(p.shape[0] * p.shape[1] for p in photos) / 1e6, 2),
        "threads": torch.get_num_threads(),
        "native_bf16": cpu_has_native_bf16(),
        "auto": choose_precision(torch.device("cpu")),
        "models": {model: measure(model, photos, args.repeats) for model in args.models.split(",")},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
