"""Seconds per full D+G training step: ganrestore's engine against the reference pix2pix step.

Both sides train the *same* networks (built from the config through the plugin registry) on
the same synthetic batch, so the comparison measures the training step alone, not data loading.
The reference side transcribes junyanz/pytorch-CycleGAN-and-pix2pix's
``Pix2PixModel.optimize_parameters`` as published: float32, NCHW, ``torch.optim.Adam`` with its
defaults, ``BCEWithLogitsLoss`` against target tensors, D loss halved, two D passes.

    OMP_NUM_THREADS=1 python bench/train_speed.py --config configs/pix2pix.toml --steps 20

prints one JSON object. Every side (the reference, ganrestore as configured, each
``--variant``, and a large float32 matmul) runs in a worker process of its own, as a training
run would (its own memory allocator and caches), and the sides take turns step by step, in an
order reversed every round, so load from other processes falls on all of them alike; on a
shared machine read ``speedup_vs_reference`` (the median of the per-round ratios), not the
seconds. ``--one-process`` runs the sides in this process instead. ``gflop_per_s`` is the
step's FLOPs (counted once, on the reference, with ``torch.utils.flop_counter``: every side
computes the same convolutions) per median second, and ``of_matmul_peak`` divides it by the
matmul's rate measured in the same rounds.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ganrestore.config import load_config
from ganrestore.devices import cpu_has_native_bf16
from ganrestore.engine.components import build_components
from ganrestore.engine.distributed import ProcessContext
from ganrestore.models import build_discriminator, build_generator, count_parameters
from ganrestore.tasks import build_task

Step = Callable[[], None]


def synthetic_batch(task: str, batch: int, size: int, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    clean = torch.rand(batch, 3, size, size, generator=generator)
    degraded = (clean + 0.1 * torch.randn(clean.shape, generator=generator)).clamp(0, 1)
    mask = (torch.rand(batch, 1, size, size, generator=generator) > 0.7).float()
    if task == "inpaint":
        degraded = clean * (1 - mask)
    return {"clean": clean, "degraded": degraded, "mask": mask, "sigma": torch.zeros(batch)}


def ganrestore_step(
    config, batch: dict[str, torch.Tensor], device: torch.device
) -> tuple[Step, dict]:
    """One step of ganrestore's engine exactly as the trainer runs it (step + EMA + schedule)."""
    parts = build_components(config, ProcessContext(device))
    memory_format = torch.channels_last if config.channels_last else torch.preserve_format
    batch = {
        k: v.contiguous(memory_format=memory_format) if v.ndim == 4 else v for k, v in batch.items()
    }

    def step() -> None:
        parts.step(batch)
        parts.advance()

    sizes = {"generator_params": count_parameters(parts.generator)}
    if parts.discriminator is not None:
        sizes["discriminator_params"] = count_parameters(parts.discriminator)
    return step, sizes


def reference_step(
    config, batch: dict[str, torch.Tensor], device: torch.device
) -> tuple[Step, dict]:
    """The published pix2pix ``optimize_parameters`` on the same networks."""
    task = build_task(config.task)
    net_g = build_generator(
        config.generator.name, task.in_channels, task.out_channels, **config.generator.params
    ).to(device)
    net_d = build_discriminator(
        config.discriminator.name,
        task.condition_channels + task.out_channels,
        **config.discriminator.params,
    ).to(device)
    optimizer_g = torch.optim.Adam(net_g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizer_d = torch.optim.Adam(net_d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce, l1 = nn.BCEWithLogitsLoss(), nn.L1Loss()
    real_a = task.network_input(batch)
    real_b = batch["clean"] * 2 - 1
    condition = task.condition(batch)

    def gan_loss(prediction: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        target = torch.tensor(1.0 if target_is_real else 0.0, device=prediction.device)
        target = target.expand_as(prediction)
        return bce(prediction, target)

    def set_requires_grad(net: nn.Module, flag: bool) -> None:
        for parameter in net.parameters():
            parameter.requires_grad = flag

    def step() -> None:
        fake_b = net_g(real_a)
        set_requires_grad(net_d, True)
        optimizer_d.zero_grad()
        fake_ab = torch.cat((condition, fake_b), 1)
        loss_d_fake = gan_loss(net_d(fake_ab.detach()), False)
        loss_d_real = gan_loss(net_d(torch.cat((condition, real_b), 1)), True)
        ((loss_d_fake + loss_d_real) * 0.5).backward()
        optimizer_d.step()
        set_requires_grad(net_d, False)
        optimizer_g.zero_grad()
        loss_g = gan_loss(net_d(fake_ab), True) + l1(fake_b, real_b) * 100.0
        loss_g.backward()
        optimizer_g.step()

    return step, {"generator_params": count_parameters(net_g)}


def matmul_step(size: int, device: torch.device) -> tuple[Step, float]:
    """A float32 ``size``x``size`` matmul (the device's practical peak) and its FLOPs."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=generator).to(device)
    b = torch.randn(size, size, generator=generator).to(device)
    out = torch.empty(size, size, device=device)

    def step() -> None:
        torch.mm(a, b, out=out)

    return step, 2.0 * size**3


def count_flops(step: Step) -> float:
    """FLOPs of one call of ``step`` (convolutions and matmuls, forward and backward)."""
    with FlopCounterMode(display=False) as counter:
        step()
    return float(counter.get_total_flops())


@dataclass(frozen=True)
class SideSpec:
    """One side of the comparison, buildable in any process.

    Attributes:
        kind: ``"reference"``, ``"ganrestore"`` or ``"matmul"``.
        task, config, overrides, size, batch: what :func:`load_config` and
            :func:`synthetic_batch` need (``size`` is the matmul's size for ``"matmul"``).
        threads: torch's intra-op threads in the side's process.
        device: where the side runs (``cpu`` or ``cuda``).
    """

    kind: str
    task: str
    config: Path
    overrides: tuple[str, ...]
    size: int
    batch: int
    threads: int
    device: str = "cpu"

    def build(self) -> tuple[Step, dict]:
        """The side's step and what it reports about itself (sizes, FLOPs per call)."""
        torch.set_num_threads(self.threads)
        device = torch.device(self.device)
        if self.kind == "matmul":
            step, flops = matmul_step(self.size, device)
            return _synchronized(step, device), {"flops": flops}
        config = load_config(self.task, self.config, list(self.overrides), device=self.device)
        batch = synthetic_batch(self.task, self.batch, self.size)
        batch = {key: value.to(device) for key, value in batch.items()}
        torch.manual_seed(0)
        make = reference_step if self.kind == "reference" else ganrestore_step
        step, info = make(config, batch, device)
        return _synchronized(step, device), info


class LocalSide:
    """A side run in this process; a call runs one step and returns its seconds."""

    def __init__(self, spec: SideSpec) -> None:
        self.step, self.info = spec.build()

    def __call__(self) -> float:
        return _timed(self.step)

    def flops(self) -> float:
        return count_flops(self.step)

    def peak_rss_mb(self) -> float:
        return _peak_rss_mb()

    def close(self) -> None:
        pass


class WorkerSide:
    """A side run in a process of its own, stepping when told: its memory allocator, threads
    and caches are its own, as in a training run, while the rounds still alternate."""

    def __init__(self, spec: SideSpec) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, spec), daemon=True)
        self.process.start()
        self.info = self.conn.recv()

    def __call__(self) -> float:
        self.conn.send("step")
        return self.conn.recv()

    def flops(self) -> float:
        self.conn.send("flops")
        return self.conn.recv()

    def peak_rss_mb(self) -> float:
        self.conn.send("rss")
        return self.conn.recv()

    def close(self) -> None:
        self.conn.send("stop")
        self.process.join()


def _serve(conn: Connection, spec: SideSpec) -> None:
    step, info = spec.build()
    conn.send(info)
    answers = {
        "step": lambda: _timed(step),
        "flops": lambda: count_flops(step),
        "rss": _peak_rss_mb,
    }
    while (command := conn.recv()) != "stop":
        conn.send(answers[command]())


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


Side = Callable[[], float]


def time_rounds(sides: dict[str, Side], steps: int, warmup: int) -> dict[str, dict]:
    """Warm every side up, then time ``steps`` rounds of one call each, alternating the order.

    Each call of a side runs one step and returns its seconds. Returns, per side, its first
    call's seconds (compilation shows there), the per-round seconds and their summary.
    """
    first = {}
    for name, side in sides.items():
        first[name] = side()
        for _ in range(warmup - 1):
            side()
    durations: dict[str, list[float]] = {name: [] for name in sides}
    order = list(sides)
    for _ in range(steps):
        for name in order:
            durations[name].append(sides[name]())
        order.reverse()
    return {name: summary(first[name], times) for name, times in durations.items()}


def summary(first_s: float, times: list[float]) -> dict:
    """The median and friends of one side's per-round seconds (kept as ``rounds_s``)."""
    return {
        "first_step_s": first_s,
        "step_s": statistics.median(times),
        "step_s_mean": statistics.fmean(times),
        "step_s_min": min(times),
        "steps_per_s": 1.0 / statistics.median(times),
        "rounds_s": times,
    }


def _synchronized(step: Step, device: torch.device) -> Step:
    """``step``, returning only when the device has finished it (CUDA runs asynchronously)."""
    if device.type != "cuda":
        return step

    def synchronized() -> None:
        step()
        torch.cuda.synchronize(device)

    return synchronized


def _timed(step: Step) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def parse_variant(text: str) -> tuple[str, list[str]]:
    """``"name:key=value,key=value"`` -> ``("name", ["key=value", "key=value"])``."""
    name, _, overrides = text.partition(":")
    if not name or not overrides:
        raise SystemExit(f"--variant {text!r}: write NAME:KEY=VALUE[,KEY=VALUE...]")
    return name, overrides.split(",")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=Path("configs/pix2pix.toml"))
    parser.add_argument("--task", default="denoise", choices=["denoise", "inpaint"])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--steps", type=int, default=20, help="timed rounds")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls of each side")
    parser.add_argument("--mode", default="both", choices=["both", "ganrestore", "reference"])
    parser.add_argument("--matmul", type=int, default=2048, help="peak matmul size, 0 = none")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="cpu", help="cpu or cuda (bench/gpu_check.sh)")
    parser.add_argument(
        "--one-process",
        action="store_true",
        help="run every side in this process (they then share one memory allocator) instead "
        "of one worker process per side",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        help="config override key=value (repeatable) for ganrestore, e.g. precision=bf16",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="another ganrestore side, NAME:KEY=VALUE[,KEY=VALUE], e.g. cl:channels_last=true",
    )
    args = parser.parse_args()

    config = load_config(args.task, args.config, args.overrides, device=args.device)
    report: dict[str, object] = {
        "config": str(args.config),
        "overrides": args.overrides,
        "variants": args.variant,
        "task": args.task,
        "size": args.size,
        "batch": args.batch,
        "steps": args.steps,
        "warmup": args.warmup,
        "precision": config.precision,
        "channels_last": config.channels_last,
        "torch": torch.__version__,
        "threads": args.threads,
        "device": args.device,
        "gpu": torch.cuda.get_device_name(0) if args.device.startswith("cuda") else None,
        "processes": "one" if args.one_process else "one per side",
        "cpu": platform.processor() or platform.machine(),
        "cpu_native_bf16": cpu_has_native_bf16(),
    }

    def spec(kind: str, overrides: list[str], size: int = args.size) -> SideSpec:
        return SideSpec(
            kind, args.task, args.config, tuple(overrides), size, args.batch, args.threads,
            args.device,
        )  # fmt: skip

    specs = {"reference": spec("reference", [])}
    if args.mode in ("both", "ganrestore"):
        specs["ganrestore"] = spec("ganrestore", args.overrides)
        for name, sets in map(parse_variant, args.variant):
            specs[name] = spec("ganrestore", args.overrides + sets)
    if args.matmul > 0:
        specs["matmul"] = spec("matmul", [], args.matmul)
    make = LocalSide if args.one_process else WorkerSide
    sides = {name: make(side) for name, side in specs.items()}
    # The step's FLOPs are counted on the reference (every side computes the same
    # convolutions), which is timed only when asked for.
    sides["reference"]()
    flops = sides["reference"].flops()
    if args.mode == "ganrestore":
        sides.pop("reference").close()
    timings = time_rounds(sides, args.steps, args.warmup)
    report["step_gflop"] = flops / 1e9
    report.update(describe(timings, {name: side.info for name, side in sides.items()}, flops))
    report["peak_rss_mb"] = {name: side.peak_rss_mb() for name, side in sides.items()}
    for side in sides.values():
        side.close()
    print(json.dumps(report, indent=2))


def describe(timings: dict[str, dict], infos: dict[str, dict], flops: float) -> dict:
    """Each side's summary with its GFLOP/s, share of the matmul peak and speed-up against
    the reference (median of the per-round ratios)."""
    report: dict[str, object] = {}
    matmul = timings.pop("matmul", None)
    if matmul is not None:
        matmul_flops = infos["matmul"]["flops"]
        report["matmul"] = {
            "size": round((matmul_flops / 2) ** (1 / 3)),
            "gflop_per_s": matmul_flops / matmul["step_s"] / 1e9,
            "gflop_per_s_best": matmul_flops / matmul["step_s_min"] / 1e9,
        }
    rounds = {name: timing.pop("rounds_s") for name, timing in timings.items()}
    for name, timing in timings.items():
        entry = {**infos[name], **timing, "gflop_per_s": flops / timing["step_s"] / 1e9}
        if matmul is not None:
            entry["of_matmul_peak"] = entry["gflop_per_s"] / report["matmul"]["gflop_per_s"]
        if "reference" in rounds and name != "reference":
            ratios = [r / t for r, t in zip(rounds["reference"], rounds[name], strict=True)]
            entry["speedup_vs_reference"] = statistics.median(ratios)
        report[name] = entry
    if "ganrestore" in report:
        report["step_s"] = report["ganrestore"]["step_s"]
        if "speedup_vs_reference" in report["ganrestore"]:
            report["speedup_vs_reference"] = report["ganrestore"]["speedup_vs_reference"]
    return report


if __name__ == "__main__":
    main()
