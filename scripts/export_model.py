"""Export a trained run's generator as a small, self-describing model file (for bundling).

    python scripts/export_model.py runs/bundled-denoise ganrestore/weights/denoise.safetensors

Takes the run's latest checkpoint (or a given checkpoint folder / generator file), stores its
weights in float16 (half the size; the restorer loads them into a float32 network, and float16
keeps ~3 significant digits, far below what 8-bit images can show) with the checkpoint's record
in the metadata, and checks that the exported file restores like the original.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from ganrestore.inference.restorer import NetworkRestorer
from ganrestore.modelfile import load_tensors, parse_model_source, read_record, save_model_file


def export(source: Path, target: Path, name: str | None) -> dict[str, object]:
    file = parse_model_source(source, what="source", baselines=False).model_file()
    record = read_record(file)
    record = record.with_extra(exported_from={"checkpoint": str(file), "step": record.step})
    if name:
        record = record.with_extra(bundled_name=name)
    tensors = {
        key: value.half() if value.is_floating_point() else value
        for key, value in load_tensors(file).items()
    }
    save_model_file(target, tensors, record)  # atomic: a reader never sees half a file

    original = NetworkRestorer.from_checkpoint(file, device="cpu")
    exported = NetworkRestorer.from_checkpoint(target, device="cpu")
    probe = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    masks = None
    if original.uses_mask:
        masks = torch.zeros(1, 1, 64, 64)
        masks[..., 16:40, 20:44] = 1
    difference = original.restore_batch(probe, masks) - exported.restore_batch(probe, masks)
    return {
        "source": str(file),
        "target": str(target),
        "task": record.task,
        "step": record.step,
        "bytes": target.stat().st_size,
        "max_abs_difference_vs_float32": float(difference.abs().max()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="run directory, checkpoint folder or file")
    parser.add_argument("target", type=Path, help="output .safetensors file")
    parser.add_argument("--name", help="bundled model name to record (denoise, inpaint)")
    args = parser.parse_args()
    print(json.dumps(export(args.source, args.target, args.name), indent=2))


if __name__ == "__main__":
    main()
