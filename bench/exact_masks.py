"""Benchmark ``--grow-mask`` on masks that mark exactly the missing pixels.

Growing a hole takes the soft outline of a removed object too (``bench/inpaint_edges.py``), but
on a mask that marks exactly what is missing it only takes known context away. This script fills
256×256 crops with box and free-form holes (``ganrestore.data.masks.make_mask``, drawn from
``--seed`` and the crop's name, 10-40 % of the crop) with the bundled ``inpaint`` model at each
``--grow`` setting (``auto``: the default, 2 pixels for holes whose outline shows a halo; N:
every hole by N) and prints, as JSON, the mean PSNR over the exact holes per mask kind and
setting, and the share of holes ``auto`` grew.

Usage::

    python bench/exact_masks.py --crops data/heldout/crops --grow 0,2,auto
"""

from __future__ import annotations

import argparse
import json
import zlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganrestore.data.masks import make_mask
from ganrestore.evaluation.metrics import psnr
from ganrestore.inference import load_restorer
from ganrestore.tasks.inpaint.edges import halo_holes

KINDS = ("box", "free")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crops", type=Path, required=True, help="folder of PNG crops")
    parser.add_argument("--grow", default="0,2,auto")
    parser.add_argument("--model", default="inpaint")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    crops = sorted(args.crops.glob("*.png"))
    if not crops:
        parser.error(f"--crops {args.crops}: no PNG crops in it")
    grows = [v if v == "auto" else int(v) for v in args.grow.split(",")]
    restorer = load_restorer(args.model, device="cpu")
    scores: dict[str, list[float]] = {}
    grown_share: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for path in crops:
        image = np.asarray(Image.open(path).convert("RGB"))
        for index, kind in enumerate(KINDS):
            rng = np.random.default_rng([args.seed, index, zlib.crc32(path.name.encode())])
            holes = make_mask(kind, *image.shape[:2], rng, (0.1, 0.4)) > 0.5
            grown_share[kind].append(float(halo_holes(image / 255.0, holes).mean() / holes.mean()))
            for grow in grows:
                restorer.settings.set_grow(None if grow == "auto" else grow)
                filled = restorer.restore(image, mask=holes)
                scores.setdefault(f"{kind} grow {grow}", []).append(psnr(filled, image, holes))
    report = {
        "crops": len(crops),
        "hole_psnr_db": {name: round(float(np.mean(v)), 3) for name, v in scores.items()},
        "auto_grown_share": {k: round(float(np.mean(v)), 3) for k, v in grown_share.items()},
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
