"""Cut a folder of photos into square tiles for fast training (small files decode ~10x faster).

    python scripts/tile_photos.py /work/data/train-photos/clean /work/data/train-tiles --tile 256

Whole photos (about ``--val-share`` of them, chosen by a hash of the file name) go to
``OUT/val/clean/`` so validation never sees tiles of a training photo; the rest go to
``OUT/clean/``. Tiles are non-overlapping; border remainders are dropped.
"""

from __future__ import annotations

import argparse
import json
import zlib
from pathlib import Path

from PIL import Image

from ganrestore.data.io import list_images


def tile_folder(source: Path, out: Path, tile: int, val_share: float) -> dict[str, int]:
    counts = {"photos": 0, "train_tiles": 0, "val_tiles": 0}
    for path in list_images(source, recursive=True):
        with Image.open(path) as opened:
            image = opened.convert("RGB")
        is_val = zlib.crc32(path.name.encode()) % 1000 < val_share * 1000
        folder = out / ("val/clean" if is_val else "clean")
        folder.mkdir(parents=True, exist_ok=True)
        counts["photos"] += 1
        for top in range(0, image.height - tile + 1, tile):
            for left in range(0, image.width - tile + 1, tile):
                crop = image.crop((left, top, left + tile, top + tile))
                crop.save(folder / f"{path.stem}_{top:04d}_{left:04d}.png")
                counts["val_tiles" if is_val else "train_tiles"] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--val-share", type=float, default=0.05)
    args = parser.parse_args()
    print(json.dumps(tile_folder(args.source, args.out, args.tile, args.val_share)))


if __name__ == "__main__":
    main()
