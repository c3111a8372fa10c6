"""Write ganrestore's public evaluation set: 256×256 crops of photos that ship with scikit-image.

    python bench/make_eval_set.py --out data/eval                # the evaluation set
    python bench/make_eval_set.py --split train --out data/smoke-train   # disjoint photos

The evaluation set is six photographs (five RGB, one gray) bundled inside the scikit-image
wheel, so anyone with ``pip install scikit-image`` rebuilds it bit for bit: each image is a
fixed 256×256 crop of the original pixels (no resampling, nothing platform dependent), saved
as an 8-bit PNG, with a ``SOURCES.json`` manifest (origin, licence, crop, SHA-256 of the
pixels). Synthetic samples (checkerboards, binary blobs, text, logos) are left out.

``--split train`` writes *other* photos of the same package (never the evaluation ones, nor
the right view of the evaluation motorcycle) for training a quick smoke model.

Sources and licences are those stated in the docstrings of ``skimage.data`` (0.26).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import skimage
import skimage.data
from PIL import Image

SIZE = 256

# name -> (skimage.data function, crop top, crop left, source, licence)
EVAL_SET: dict[str, tuple[str, int, int, str, str]] = {
    "astronaut": (
        "astronaut",
        40,
        60,
        "Eileen Collins, NASA Great Images database (https://flic.kr/p/r9qvLn)",
        "public domain (no known copyright restrictions)",
    ),
    "camera": (
        "camera",
        60,
        130,
        "the 'camera' photograph by Lav Varshney (scikit-image issue 3927)",
        "CC0",
    ),
    "chelsea": (
        "chelsea",
        22,
        96,
        "Chelsea the cat, photograph by Stefan van der Walt",
        "CC0",
    ),
    "coffee": (
        "coffee",
        30,
        120,
        "coffee cup, photograph by Rachel Michetti, courtesy of Pikolo Espresso Bar",
        "CC0",
    ),
    "motorcycle": (
        "stereo_motorcycle",
        130,
        300,
        "left view of 'Motorcycle', Middlebury 2014 stereo dataset (Scharstein et al.), "
        "downsampled 4x by scikit-image",
        "made available for research by Middlebury College, as redistributed by scikit-image",
    ),
    "rocket": (
        "rocket",
        171,
        240,
        "launch of DSCOVR on Falcon 9, SpaceX photos on Flickr",
        "public domain (released by SpaceX)",
    ),
}

# Photos outside the evaluation set, for the smoke model's training.
TRAIN_SET: dict[str, tuple[str, str]] = {
    "immunohistochemistry": ("immunohistochemistry", "CMMI microscopy, no known copyright"),
    "retina": ("retina", "Wikimedia Commons (Mikael Häggström), CC0"),
    "hubble": ("hubble_deep_field", "NASA / HubbleSite, public domain"),
    "coins": ("coins", "Brooklyn Museum Collection, no known copyright"),
    "moon": ("moon", "scikit-image sample, no known copyright"),
    "brick": ("brick", "CC0Textures, CC0"),
    "grass": ("grass", "DeviantArt (linolafett), CC0"),
    "gravel": ("gravel", "CC0Textures, CC0"),
    "clock": ("clock", "Stefan van der Walt, public domain"),
}


def load(function: str) -> np.ndarray:
    """The sample as uint8 ``(H, W)`` or ``(H, W, 3)``."""
    image = getattr(skimage.data, function)()
    if function == "stereo_motorcycle":
        image = image[0]
    return np.ascontiguousarray(image)


def pixel_digest(image: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest()


def write_eval_set(out: Path) -> dict[str, dict]:
    out.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name, (function, top, left, source, licence) in EVAL_SET.items():
        crop = load(function)[top : top + SIZE, left : left + SIZE]
        assert crop.shape[:2] == (SIZE, SIZE), name
        Image.fromarray(crop).save(out / f"{name}.png")
        manifest[f"{name}.png"] = {
            "skimage_data": function,
            "crop_top_left": [top, left],
            "size": [SIZE, SIZE],
            "channels": 1 if crop.ndim == 2 else 3,
            "source": source,
            "licence": licence,
            "pixels_sha256": pixel_digest(crop),
        }
    return manifest


def write_train_set(out: Path) -> dict[str, dict]:
    out.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name, (function, licence) in TRAIN_SET.items():
        image = load(function)
        Image.fromarray(image).save(out / f"{name}.png")
        manifest[f"{name}.png"] = {"skimage_data": function, "licence": licence}
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("data/eval"))
    parser.add_argument("--split", choices=["eval", "train"], default="eval")
    args = parser.parse_args()
    files = write_eval_set(args.out) if args.split == "eval" else write_train_set(args.out)
    manifest = {"scikit_image": skimage.__version__, "split": args.split, "files": files}
    (args.out / "SOURCES.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps({"out": str(args.out), "split": args.split, "images": len(files)}))


if __name__ == "__main__":
    main()
