"""Write the ~1 MP photo sets of ``bench/inpaint_large.py`` from the training photo folder.

Only photos the bundled models never trained on are used: the validation split of
``scripts/tile_photos.py`` (``zlib.crc32(name) % 1000 < 50``). They are sorted by name and cut
in two: the first half is the development set (for choices), the second half the held-out set
(only for final numbers). Each photo is downscaled (area interpolation, never upscaled) to
about ``--megapixels`` and saved as an 8-bit RGB PNG.

Usage::

    python bench/make_large_photos.py /work/data/train-photos/clean \
        --dev /work/data/inpaint-dev --heldout /work/data/inpaint-heldout
"""

from __future__ import annotations

import argparse
import json
import math
import zlib
from pathlib import Path

from PIL import Image

#: The validation share of ``scripts/tile_photos.py`` (per mille).
VAL_PER_MILLE = 50


def validation_photos(folder: Path) -> list[Path]:
    """The photos of ``folder`` in the validation split, sorted by name."""
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".png", ".jpg", ".jpeg"})
    return [p for p in paths if zlib.crc32(p.name.encode()) % 1000 < VAL_PER_MILLE]


def resized(path: Path, megapixels: float) -> Image.Image:
    """The photo as RGB, downscaled to about ``megapixels`` (smaller photos stay as they are)."""
    image = Image.open(path).convert("RGB")
    scale = min(1.0, math.sqrt(megapixels * 1e6 / (image.width * image.height)))
    if scale < 1.0:
        size = (round(image.width * scale), round(image.height * scale))
        image = image.resize(size, Image.Resampling.BOX)
    return image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path, help="folder of training photos (clean/*.png)")
    parser.add_argument("--dev", type=Path, required=True, help="output: development set")
    parser.add_argument("--heldout", type=Path, required=True, help="output: held-out set")
    parser.add_argument("--megapixels", type=float, default=1.0)
    args = parser.parse_args()
    photos = validation_photos(args.photos)
    half = len(photos) // 2
    written: dict[str, list[str]] = {}
    for name, folder, part in (
        ("dev", args.dev, photos[:half]),
        ("heldout", args.heldout, photos[half:]),
    ):
        folder.mkdir(parents=True, exist_ok=True)
        for path in part:
            image = resized(path, args.megapixels)
            target = folder / f"{path.stem}.png"
            image.save(target)
            written.setdefault(name, []).append(f"{target.name} {image.width}x{image.height}")
    print(json.dumps(written, indent=2))


if __name__ == "__main__":
    main()
