"""Write the project's own held-out set: photos no bundled model trained on or was tuned on.

    python bench/make_heldout_set.py --photos /work/data/train-photos/clean --out data/heldout

``data/eval`` (scikit-image's samples, ``make_eval_set.py``) is public and has been looked at
while choosing recipes; this second set never is. It is only scored, once a model is chosen.

* ``OUT/crops/``: 256×256 crops (PNG, 8-bit RGB) for ``ganrestore eval``;
* ``OUT/photos/``: the whole photos (long side at most 1600 px), for the clean-photo check
  (``bench/clean_photos.py``) and whole-photo runs.

Sources, all never trained on:

* the second half (by sorted name) of the photos that ``scripts/tile_photos.py`` puts in the
  validation split (``crc32(name) % 1000 < 50``; the first half stays the training runs'
  validation set, which is used for choices). Training runs must not see their tiles: this
  script prints their names, and ``--tiles DIR`` moves their tiles out of ``DIR/val/clean``;
* scikit-learn's two sample photos (``china.jpg``, ``flower.jpg``) and matplotlib's
  ``grace_hopper.jpg``, when those packages are installed (``pip install scikit-learn
  matplotlib``); they are JPEGs, so their finest detail is already slightly compressed.

Crops are taken at fixed relative positions (nothing random), so the set rebuilds bit for bit
from the same files.
"""

from __future__ import annotations

import argparse
import json
import shutil
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

SIZE = 256
VAL_SHARE = 0.05  # scripts/tile_photos.py's default
#: Relative (top, left) positions of the crops of each photo.
POSITIONS = ((0.5, 0.5), (0.25, 0.2), (0.7, 0.8))


def heldout_photos(photos: Path) -> list[Path]:
    """The second half, by name, of the photos in tile_photos' validation split."""
    names = sorted(photos.glob("*.png"))
    val = [p for p in names if zlib.crc32(p.name.encode()) % 1000 < VAL_SHARE * 1000]
    return val[len(val) // 2 :]


def package_photos() -> dict[str, np.ndarray]:
    """scikit-learn's and matplotlib's sample photos that are installed, name -> (H, W, 3)."""
    found: dict[str, np.ndarray] = {}
    try:
        from sklearn.datasets import load_sample_images

        for path, image in zip(
            load_sample_images().filenames, load_sample_images().images, strict=True
        ):
            found[f"sklearn_{Path(path).stem}"] = np.asarray(image)
    except ImportError:
        print("scikit-learn is not installed: its sample photos are left out")
    try:
        import matplotlib.cbook

        with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as file:
            found["matplotlib_grace_hopper"] = np.asarray(Image.open(file).convert("RGB"))
    except ImportError:
        print("matplotlib is not installed: grace_hopper.jpg is left out")
    return found


def crops(pixels: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """``(top, left, (256, 256, 3))`` crops at :data:`POSITIONS`, clamped to the image."""
    height, width = pixels.shape[:2]
    out = []
    for rel_top, rel_left in POSITIONS:
        top = min(max(int(rel_top * height) - SIZE // 2, 0), height - SIZE)
        left = min(max(int(rel_left * width) - SIZE // 2, 0), width - SIZE)
        out.append((top, left, pixels[top : top + SIZE, left : left + SIZE]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, required=True, help="prepared training photos")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--tiles", type=Path, help="move these photos' tiles out of DIR/val/clean")
    args = parser.parse_args()

    sources = {
        p.stem: np.asarray(Image.open(p).convert("RGB")) for p in heldout_photos(args.photos)
    }
    sources.update(package_photos())
    (args.out / "crops").mkdir(parents=True, exist_ok=True)
    (args.out / "photos").mkdir(parents=True, exist_ok=True)
    manifest = []
    for name, pixels in sources.items():
        Image.fromarray(pixels).save(args.out / "photos" / f"{name}.png")
        for index, (top, left, crop) in enumerate(crops(pixels)):
            file = f"{name}_{index}.png"
            Image.fromarray(np.ascontiguousarray(crop)).save(args.out / "crops" / file)
            manifest.append({"file": file, "source": name, "top": top, "left": left})
    (args.out / "SOURCES.json").write_text(json.dumps(manifest, indent=1))

    moved = 0
    if args.tiles is not None:
        stash = args.tiles.parent / f"{args.tiles.name}-heldout-tiles"
        stash.mkdir(exist_ok=True)
        for tile in sorted((args.tiles / "val" / "clean").glob("*.png")):
            if any(tile.name.startswith(name) for name in sources):
                shutil.move(tile, stash / tile.name)
                moved += 1
    summary = {"photos": len(sources), "crops": len(manifest), "val_tiles_moved": moved}
    print(json.dumps(summary | {"names": sorted(sources)}, indent=1))


if __name__ == "__main__":
    main()
