"""Export a trained run's generator as a small, self-describing model file (for bundling).

    python scripts/export_model.py runs/bundled-denoise ganrestore/weights/denoise.safetensors

Takes the run's latest checkpoint (or a given checkpoint folder / generator file), stores its
weights in float16 (half the size; the restorer loads them into a float32 network, and float16
keeps ~3 significant digits, far below what 8-bit images can show) with the checkpoint's record
in the metadata, and checks that the exported file restores like the original.

The record keeps no path of the machine that trained the model: the run's ``init`` becomes
the bundled name it started from (or the file's name), and ``exported_from`` the last folders
of the checkpoint (``RUN/checkpoints/step-N``). ``--blend-with OTHER --blend S`` exports
``S × SOURCE + (1 − S) × OTHER`` instead, tensor by tensor (ESRGAN's network interpolation of a
GAN fine-tune with the PSNR model it started from), recorded as ``blended_with``.
``--scrub FILE`` rewrites an exported file's
record that way and leaves its tensors as they are.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import torch

from ganrestore.inference.restorer import NetworkRestorer
from ganrestore.modelfile import (
    ModelRecord,
    load_tensors,
    parse_model_source,
    read_record,
    save_model_file,
)

#: The package's folder of bundled weights: an init from there is named by its bundled name.
WEIGHTS = Path(__file__).resolve().parents[1] / "ganrestore" / "weights"


def portable_path(text: str, keep: int = 1) -> str:
    """``text`` without the machine's folders: a bundled weights file -> its name (``inpaint``),
    any other absolute path -> its last ``keep`` parts; a relative text or a name as it is."""
    path = Path(text)
    if not path.is_absolute():
        return text
    if path.parent == WEIGHTS and path.suffix == ".safetensors":
        return path.stem
    return Path(*path.parts[-keep:]).as_posix()


def portable_record(record: ModelRecord) -> ModelRecord:
    """``record`` with the run's ``init`` and the ``exported_from`` checkpoint made portable."""
    config = dict(record.training.config)
    if isinstance(config.get("init"), str) and config["init"]:
        config["init"] = portable_path(config["init"])
    extra = dict(record.extra)
    for key in ("exported_from", "blended_with"):
        source = extra.get(key)
        if isinstance(source, dict) and isinstance(source.get("checkpoint"), str):
            extra[key] = {**source, "checkpoint": portable_path(source["checkpoint"], 4)}
    return replace(record, training=replace(record.training, config=config), extra=extra)


def scrub(file: Path) -> dict[str, object]:
    """Rewrite the record of the model file ``file`` portably; its tensors stay bit for bit."""
    record = read_record(file)
    save_model_file(file, load_tensors(file), portable_record(record))
    return {"target": str(file), "init": portable_record(record).training.config.get("init")}


def blended(file: Path, other: Path, share: float) -> dict[str, torch.Tensor]:
    """``share × file + (1 − share) × other``, tensor by tensor (ESRGAN's network
    interpolation): two models of one network, e.g. a GAN fine-tune and the PSNR model it
    started from, give every balance of sharpness and fidelity between them."""
    if not 0.0 <= share <= 1.0:
        raise SystemExit(f"--blend must be from 0 to 1, got {share}")
    ours, theirs = load_tensors(file), load_tensors(other)
    if read_record(file).generator.params != read_record(other).generator.params or set(
        ours
    ) != set(theirs):
        raise SystemExit(f"{file} and {other} hold different networks: they cannot be blended")
    return {
        key: torch.lerp(theirs[key].float(), value.float(), share).to(value.dtype)
        if value.is_floating_point()
        else value
        for key, value in ours.items()
    }


def export(
    source: Path,
    target: Path,
    name: str | None,
    blend_with: Path | None = None,
    share: float = 1.0,
) -> dict[str, object]:
    file = parse_model_source(source, what="source", baselines=False).model_file()
    record = read_record(file)
    record = record.with_extra(exported_from={"checkpoint": str(file), "step": record.step})
    tensors = load_tensors(file)
    if blend_with is not None:
        other = parse_model_source(blend_with, what="--blend-with", baselines=False).model_file()
        tensors = blended(file, other, share)
        other_step = read_record(other).step
        record = record.with_extra(
            blended_with={"checkpoint": str(other), "step": other_step, "share": share}
        )
    record = portable_record(record)
    if name:
        record = record.with_extra(bundled_name=name)
    tensors = {
        key: value.half() if value.is_floating_point() else value for key, value in tensors.items()
    }
    save_model_file(target, tensors, record)  # atomic: a reader never sees half a file

    exported = NetworkRestorer.from_checkpoint(target, device="cpu")
    if blend_with is not None:  # the blend is checked against itself in float32
        return {"source": str(file), "target": str(target), "task": record.task,
                "step": record.step, "blended_with": record.extra["blended_with"],
                "bytes": target.stat().st_size}  # fmt: skip
    original = NetworkRestorer.from_checkpoint(file, device="cpu")
    probe = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    masks = None
    if original.takes_masks:
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
    parser.add_argument(
        "source", type=Path, nargs="?", help="run directory, checkpoint folder or file"
    )
    parser.add_argument("target", type=Path, nargs="?", help="output .safetensors file")
    parser.add_argument("--name", help="bundled model name to record (denoise, inpaint)")
    parser.add_argument("--scrub", type=Path, help="make this exported file's record portable")
    parser.add_argument(
        "--blend-with", type=Path, help="a model of the same network to blend SOURCE with"
    )
    parser.add_argument(
        "--blend", type=float, default=1.0, help="SOURCE's share of the blend, 0-1 (default 1)"
    )
    args = parser.parse_args()
    if args.scrub is not None:
        print(json.dumps(scrub(args.scrub), indent=2))
        return
    if args.source is None or args.target is None:
        parser.error("give SOURCE and TARGET (or --scrub FILE)")
    print(
        json.dumps(
            export(args.source, args.target, args.name, args.blend_with, args.blend), indent=2
        )
    )


if __name__ == "__main__":
    main()
