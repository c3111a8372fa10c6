"""Training steps/s, inference megapixels/s, achieved GFLOP/s against this machine's matmul peak.

For one config (the task's ready config by default, ``--config`` / ``--set`` to change it):

* ``train``: full D+G steps exactly as the trainer runs them (step + EMA + schedulers) on a
  synthetic batch of ``--batch`` × ``--size``² crops; median seconds per step after warm-up;
* ``inference``: the generator behind :class:`~ganrestore.inference.NetworkRestorer` (the
  ``apply`` / ``eval`` path) on ``--infer-batch`` images of ``--infer-size``²; megapixels/s;
* ``flops``: multiply-adds of convolutions and matmuls counted by
  ``torch.utils.flop_counter.FlopCounterMode`` (2 FLOP per multiply-add; element-wise work
  is not counted), divided by the measured time = achieved GFLOP/s;
* ``peak``: the best GFLOP/s of a square ``torch.mm`` (``--matmul-size``) in the dtype the
  config trains in, measured here, so ``fraction_of_peak`` says how much of the machine the
  networks use;
* ``memory``: peak resident memory of this process so far (CPU; it includes the earlier
  phase) or peak allocated memory of the phase (CUDA).

Times are medians (``*_best``: the fastest call). ``fraction_of_peak`` can exceed 1: the FLOP
count is nominal (direct convolution) while oneDNN / cuDNN may use cheaper algorithms
(Winograd, FFT), and on a shared machine the two measurements see different loads.

    python bench/speed.py --task denoise --size 128 --batch 8 --steps 10 --out speed.json

prints one JSON object (and writes it to ``--out``).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

import ganrestore
from ganrestore.config import load_config
from ganrestore.devices import cpu_has_native_bf16, resolve_device
from ganrestore.engine.components import build_components
from ganrestore.engine.distributed import ProcessContext
from ganrestore.inference import NetworkRestorer, TileSettings
from ganrestore.models import count_parameters
from ganrestore.tasks import build_task

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(function: Callable[[], object], device: torch.device, repeats: int, warmup: int):
    """Median and best seconds of ``function`` over ``repeats`` calls after ``warmup``."""
    for _ in range(warmup):
        function()
    synchronize(device)
    durations = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        synchronize(device)
        durations.append(time.perf_counter() - start)
    return statistics.median(durations), min(durations)


def counted_flops(function: Callable[[], object]) -> int:
    with FlopCounterMode(display=False) as counter:
        function()
    return int(counter.get_total_flops())


def matmul_peak(device: torch.device, dtype: torch.dtype, size: int) -> dict[str, float]:
    """Best GFLOP/s of ``size``² × ``size``² matrix products in ``dtype`` on ``device``."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=generator).to(device, dtype)
    b = torch.randn(size, size, generator=generator).to(device, dtype)
    median, best = timed(lambda: torch.mm(a, b), device, repeats=20, warmup=3)
    flops = 2 * size**3
    return {
        "size": size,
        "dtype": str(dtype).removeprefix("torch."),
        "gflops_best": flops / best / 1e9,
        "gflops_median": flops / median / 1e9,
    }


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def reset_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def synthetic_batch(task: str, batch: int, size: int, device: torch.device) -> dict:
    generator = torch.Generator().manual_seed(0)
    clean = torch.rand(batch, 3, size, size, generator=generator)
    noise = torch.randn(clean.shape, generator=generator)
    mask = (torch.rand(batch, 1, size, size, generator=generator) > 0.7).float()
    degraded = clean * (1 - mask) if task == "inpaint" else (clean + 0.1 * noise).clamp(0, 1)
    values = {"clean": clean, "degraded": degraded, "mask": mask, "sigma": torch.zeros(batch)}
    return {key: value.to(device) for key, value in values.items()}


def train_speed(config, device: torch.device, args) -> dict:
    parts = build_components(config, ProcessContext(device))
    batch = synthetic_batch(config.task, args.batch, args.size, device)

    def step() -> None:
        parts.step(batch)
        parts.advance()

    reset_memory(device)
    median, best = timed(step, device, args.steps, args.warmup)
    flops = counted_flops(step)
    return {
        "generator_params": count_parameters(parts.generator),
        "batch": args.batch,
        "size": args.size,
        "step_s": median,
        "step_s_best": best,
        "steps_per_s": 1 / median,
        "images_per_s": args.batch / median,
        "flops_per_step": flops,
        "gflops": flops / median / 1e9,
        "peak_memory_mb": peak_memory_mb(device),
    }


def inference_speed(config, device: torch.device, args) -> dict:
    task = build_task(config.task)
    parts = build_components(config, ProcessContext(device))
    tiling = TileSettings(tile=max(args.infer_size, 64), overlap=32, batch_size=args.infer_batch)
    restorer = NetworkRestorer(parts.generator, task, device, tiling, description="bench")
    generator = torch.Generator().manual_seed(1)
    shape = (args.infer_batch, 3, args.infer_size, args.infer_size)
    images = torch.rand(shape, generator=generator)
    masks = (torch.rand(args.infer_batch, 1, *shape[2:], generator=generator) > 0.7).float()
    masks = masks if "mask" in task.controls else None

    def forward() -> None:
        restorer.restore_batch(images, masks)

    reset_memory(device)
    median, best = timed(forward, device, args.infer_repeats, warmup=2)
    flops = counted_flops(forward)
    megapixels = args.infer_batch * args.infer_size**2 / 1e6
    return {
        "batch": args.infer_batch,
        "size": args.infer_size,
        "seconds": median,
        "seconds_best": best,
        "megapixels_per_s": megapixels / median,
        "flops_per_call": flops,
        "gflops": flops / median / 1e9,
        "peak_memory_mb": peak_memory_mb(device),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="denoise", choices=["denoise", "inpaint"])
    parser.add_argument("--config", type=Path, default=None, help="default: the task's")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        help="config override key=value (repeatable)",
    )
    parser.add_argument("--device", default="cpu", help="auto, cpu, cuda or mps")
    parser.add_argument("--size", type=int, default=128, help="training crop side")
    parser.add_argument("--batch", type=int, default=8, help="training batch")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--infer-size", type=int, default=512)
    parser.add_argument("--infer-batch", type=int, default=1)
    parser.add_argument("--infer-repeats", type=int, default=5)
    parser.add_argument("--matmul-size", type=int, default=2048)
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()

    config = load_config(args.task, args.config, args.overrides, device=args.device)
    device = resolve_device(args.device, local_rank=0)  # as `ganrestore train --device` does
    torch.manual_seed(0)
    precision = config.precision
    if precision == "auto":
        precision = "bf16" if device.type == "cuda" else "fp32"
    peak = matmul_peak(device, DTYPES.get(precision, torch.float32), args.matmul_size)
    report: dict[str, object] = {
        "ganrestore": ganrestore.__version__,
        "torch": torch.__version__,
        "device": str(device),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "cpu": platform.processor() or platform.machine(),
        "cpu_native_bf16": cpu_has_native_bf16(),
        "threads": torch.get_num_threads(),
        "task": config.task,
        "config": str(args.config) if args.config else f"ready {config.task} config",
        "overrides": args.overrides,
        "precision": precision,
        "peak": peak,
        "train": train_speed(config, device, args),
        "inference": inference_speed(config, device, args),
    }
    for phase in ("train", "inference"):
        report[phase]["fraction_of_peak"] = report[phase]["gflops"] / peak["gflops_best"]
    text = json.dumps(report, indent=2)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
