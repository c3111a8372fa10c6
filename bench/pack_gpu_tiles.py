"""Pack a share of the training tiles small enough to travel to a GPU machine with the checkout.

    python bench/pack_gpu_tiles.py --tiles /work/data/train-tiles-2 --out data/gpu-tiles

The device machine reaches no network and takes at most 64 MiB with it, the checkout's own
files (about 18 MiB) included, while the training tiles (``scripts/tile_photos.py``) are about
300 MB of PNG. This shuffles the tiles (seeded; every tile equally likely, whatever its photo)
and writes them in that order as lossless WebP, smaller than PNG with exactly the same pixels,
until ``--mib`` is reached:

* ``OUT/clean/``: training tiles;
* ``OUT/val/clean/``: up to ``--val`` of the validation tiles.

Run ``python ../shared/tools/check_reserved.py OUT`` afterwards, as on every training folder;
``bench/gpu_train_upscale.sh`` trains on the result. Prints what was packed as JSON.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from PIL import Image


def pack(sources: list[Path], out: Path, budget: int) -> tuple[int, int]:
    """Write ``sources`` as lossless WebP into ``out`` in order until ``budget`` bytes.

    Returns:
        (files written, bytes written).
    """
    out.mkdir(parents=True, exist_ok=True)
    written = used = 0
    for source in sources:
        target = out / f"{source.stem}.webp"
        with Image.open(source) as image:
            image.convert("RGB").save(target, "WEBP", lossless=True, quality=75, method=4)
        size = target.stat().st_size
        if used + size > budget:
            target.unlink()
            break
        written, used = written + 1, used + size
    return written, used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiles", type=Path, required=True, help="tile_photos.py's output")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--mib", type=float, default=34.0, help="size of OUT, in MiB")
    parser.add_argument("--val", type=int, default=48, help="validation tiles at most")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.out.exists() and any(args.out.iterdir()):
        parser.error(f"--out {args.out} is not empty: pass a new folder")
    rng = random.Random(args.seed)
    train = sorted((args.tiles / "clean").glob("*.png"))
    val = sorted((args.tiles / "val" / "clean").glob("*.png"))
    if not train:
        parser.error(f"--tiles {args.tiles}: no clean/*.png (scripts/tile_photos.py's layout)")
    rng.shuffle(train)
    rng.shuffle(val)
    budget = int(args.mib * 2**20)
    val_files, val_bytes = pack(val[: args.val], args.out / "val" / "clean", budget)
    train_files, train_bytes = pack(train, args.out / "clean", budget - val_bytes)
    print(
        json.dumps(
            {
                "out": str(args.out),
                "train_tiles": train_files,
                "of_train_tiles": len(train),
                "val_tiles": val_files,
                "mib": round((train_bytes + val_bytes) / 2**20, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
