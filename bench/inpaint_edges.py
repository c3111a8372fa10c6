"""Benchmark the edge of a fill: removing pasted objects with soft outlines from real photos.

A user removes an object by painting (or selecting) a binary mask over it, but a photographed
object's outline is soft: anti-aliased, blurred by the lens, a pixel or two wide. This script
makes that case with known ground truth. On each photo of ``--photos`` it pastes
``--objects`` cut-outs (PNG with alpha, from ``--stamps``, e.g. the photographic stamps of
Debian's ``tuxpaint-stamps-default``), each scaled to ``--object-size`` of the photo's short
side and alpha-blended, so the outline is as soft as the cut-out's alpha. The mask is what a
selection tool gives: alpha above one half. The soft outline outside it is the *halo* a fill
leaves behind.

For each ``grow`` x ``feather`` setting (``auto``: the default, 2 pixels for the holes whose
outline shows a halo) of the bundled ``inpaint`` model (default strategy)
it prints, in one JSON object, the mean over photos of:

* ``object_psnr``: PSNR against the photo without the objects over every pixel within 8 px of
  the pasted objects (their full footprint, outline and surroundings);
* ``outline_psnr``: PSNR over the outline pixels that the binary mask leaves out (alpha in
  (0, 0.5]), where a halo shows;
* ``edge_psnr``: PSNR over the pixels within 3 px of the border of the (grown) mask, inside and
  outside, where a seam shows;

and the same for OpenCV Telea (``baseline:telea``) with the mask grown by each ``grow``. Usage::

    python bench/inpaint_edges.py --photos /work/data/inpaint-dev \
        --stamps /tmp/stamps/x/usr/share/tuxpaint/stamps --grow 0,2,4,auto --feather 0,3
"""

from __future__ import annotations

import argparse
import json
import zlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganrestore.inference import load_restorer
from ganrestore.tasks.inpaint.edges import distance_to_holes, halo_holes, hole_depth


def stamp_files(root: Path) -> list[Path]:
    """Photographic cut-outs under ``root``: PNGs with alpha, without cartoons and symbols."""
    skip = ("cartoon", "symbols", "roadsigns", "_mirror", "_shadow")
    return sorted(p for p in root.rglob("*.png") if not any(word in str(p) for word in skip))


def paste_objects(
    photo: np.ndarray, stamps: list[Path], count: int, size: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Alpha-blend ``count`` cut-outs into ``photo`` (float ``(H, W, 3)`` in [0, 1]).

    Returns:
        the photo with objects, and their summed alpha ``(H, W)`` in [0, 1].
    """
    height, width = photo.shape[:2]
    out, cover = photo.copy(), np.zeros((height, width), np.float32)
    while count:
        stamp = Image.open(stamps[int(rng.integers(len(stamps)))]).convert("RGBA")
        scale = size * min(height, width) / max(stamp.size)
        side = (max(round(stamp.width * scale), 8), max(round(stamp.height * scale), 8))
        rgba = np.asarray(stamp.resize(side, Image.Resampling.BICUBIC), np.float32) / 255
        alpha = rgba[..., 3]
        if alpha.mean() < 0.2:  # mostly empty: try another
            continue
        top = int(rng.integers(0, height - side[1] + 1))
        left = int(rng.integers(0, width - side[0] + 1))
        region = (slice(top, top + side[1]), slice(left, left + side[0]))
        out[region] = alpha[..., None] * rgba[..., :3] + (1 - alpha[..., None]) * out[region]
        cover[region] = np.maximum(cover[region], alpha)
        count -= 1
    return out, cover


def psnr_over(result: np.ndarray, truth: np.ndarray, where: np.ndarray) -> float:
    """PSNR (dB, peak 1) of ``result`` against ``truth`` over the pixels ``where`` is True."""
    mse = float(((result - truth) ** 2)[where].mean())
    return 10 * np.log10(1 / max(mse, 1e-10))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, required=True)
    parser.add_argument("--stamps", type=Path, required=True)
    parser.add_argument("--grow", default="0,2,4")
    parser.add_argument("--feather", default="0,3")
    parser.add_argument("--objects", type=int, default=3)
    parser.add_argument("--object-size", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    grows = [v if v == "auto" else int(v) for v in args.grow.split(",")]
    feathers = [int(v) for v in args.feather.split(",")]
    stamps = stamp_files(args.stamps)
    restorer = load_restorer("inpaint", device="cpu")
    telea = load_restorer("baseline:telea")
    scores: dict[str, list[dict[str, float]]] = {}
    for path in sorted(args.photos.glob("*.png")):
        truth = np.asarray(Image.open(path).convert("RGB"), np.float32) / 255
        rng = np.random.default_rng([args.seed, zlib.crc32(path.name.encode())])
        image, cover = paste_objects(truth, stamps, args.objects, args.object_size, rng)
        near_objects = distance_to_holes(cover > 0) <= 8
        mask = cover > 0.5
        outline = (cover > 0) & ~mask
        for grow in grows:
            settings = restorer.settings
            settings.set_grow(None if grow == "auto" else grow)
            if grow == "auto":
                grown = mask | (distance_to_holes(halo_holes(image, mask)) <= settings.grow)
            else:
                grown = distance_to_holes(mask) <= grow if grow else mask
            depth_in = hole_depth(grown)
            edge = (distance_to_holes(grown) <= 3) & ((depth_in <= 3) | ~grown)
            results = {f"telea grow {grow}": telea.restore(image, grown)}
            for feather in feathers:
                settings.feather = feather
                results[f"inpaint grow {grow} feather {feather}"] = restorer.restore(image, mask)
            for name, result in results.items():
                scores.setdefault(name, []).append(
                    {
                        "object_psnr": psnr_over(result, truth, near_objects),
                        "outline_psnr": psnr_over(result, truth, outline),
                        "edge_psnr": psnr_over(result, truth, edge),
                    }
                )
    summary = {
        name: {key: round(float(np.mean([r[key] for r in rows])), 3) for key in rows[0]}
        for name, rows in scores.items()
    }
    print(json.dumps({"photos": len(next(iter(scores.values()))), "mean": summary}, indent=1))


if __name__ == "__main__":
    main()
