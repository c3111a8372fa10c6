"""Multiply-adds per pixel and parameters of a model's generator, measured by running it.

    python bench/macs.py --model denoise
    python bench/macs.py --model runs/denoise-grown --size 256

Runs the generator once on a ``size`` x ``size`` input under PyTorch's FLOP counter and prints
one JSON object: parameters, multiply-adds per input pixel (FLOPs / 2), and the FLOPs of each
kind of operation. Convolutions dominate; the noise map and element-wise work are not counted
by the counter (they are a few per pixel).
"""

from __future__ import annotations

import argparse
import json

import torch
from torch.utils.flop_counter import FlopCounterMode

import ganrestore


def measure(model: str, size: int) -> dict:
    """Parameters and multiply-adds per pixel of ``model``'s generator at ``size``²."""
    restorer = ganrestore.load_restorer(model, device="cpu")
    generator = restorer.generator.float()
    task = restorer.task_spec
    inputs = torch.zeros(1, task.in_channels, size, size)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        generator(inputs)
    flops = counter.get_total_flops()
    by_kind = {str(op): int(count) for op, count in counter.get_flop_counts()["Global"].items()}
    return {
        "model": model,
        "task": task.name,
        "parameters": sum(p.numel() for p in generator.parameters()),
        "size": size,
        "macs_per_pixel": round(flops / 2 / (size * size)),
        "flops_by_op": by_kind,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", required=True, help="repeatable")
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    print(json.dumps([measure(model, args.size) for model in args.model], indent=1))


if __name__ == "__main__":
    main()
