#!/usr/bin/env python3
"""Build the photo set the bundled denoising / inpainting models are trained on.

Every photo comes from an openly licensed Debian package, fetched with ``apt-get download``
(no other network access is needed or used).  For each package a curated list of path patterns
selects the real photographs it ships (wallpaper packages mix photos with renders and abstract
art; see docs/data.md for what was looked at and why), then every candidate goes through the
same automatic filters:

* transparency: cut-outs (stamps, panorama tiles with a transparent sky) are cropped to their
  largest fully opaque rectangle; nothing is ever composited onto an artificial background;
  letterbox bars (uniform near-black / near-white edge rows and columns) are cut away;
* size: images whose short side is below ``--min-side`` (256 px) are skipped;
* colour: converted to RGB; images without colour (grayscale) are dropped;
* flatness: images that are mostly flat or synthetic are dropped (share of low-gradient pixels,
  number of distinct colours; thresholds below and in docs/data.md);
* downscaling: the long side is reduced to ``--max-side`` (1600 px) with Lanczos.  Wallpapers are
  4-6k px wide: a 128-256 px training crop of the original is mostly flat sky or out-of-focus
  background, and carries the source's JPEG block artefacts at full strength; downscaling
  packs more texture into every crop and averages the artefacts away;
* the photos reserved for independent evaluation are dropped: the project's own
  ``../shared/tools/check_reserved.py`` is run (as a subprocess) on the written files, and every
  file it lists is deleted; scikit-image's bundled sample images (our public evaluation set) are
  matched the same way (16x16 difference hash, at most 6 differing bits) and dropped;
* near-duplicates (one wallpaper shipped at several resolutions, the same photo in two
  packages) are collapsed, keeping the copy with the most source pixels.

The result is ``OUT/clean/*.png`` plus ``OUT/manifest.json`` (one record per kept photo: package,
version, source path, sizes, licence) and ``OUT/licenses/PKG.copyright``.  A JSON summary (per
package: files found, kept, dropped and why) is printed on stdout.

``opencv-doc`` is reserved for evaluation as a whole: this script refuses to download it.

usage:
    python scripts/prepare_training_photos.py --out /work/data/train-photos
    python scripts/prepare_training_photos.py --packages mate-backgrounds tuxpaint-data
"""

from __future__ import annotations

import argparse
import fnmatch
import glob
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

Image.MAX_IMAGE_PIXELS = 300_000_000  # wallpapers reach 6000x4000; still guards against bombs

REPO = Path(__file__).resolve().parents[1]
CHECK_RESERVED = REPO.parent / "shared" / "tools" / "check_reserved.py"
FORBIDDEN_PACKAGES = {"opencv-doc"}  # reserved for evaluation: never download or open
MARKER = ".ganrestore-train-photos"  # marks an output folder this script may clean on rerun

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")

# Automatic filters (documented in docs/data.md).
MIN_SIDE = 256  # px, short side, after removing transparent borders
MAX_SIDE = 1600  # px, long side of the stored photo
FLAT_GRAD = 2.0  # a pixel is "flat" when its luminance gradient is below this (0-255 scale)
MAX_FLAT_SHARE = 0.80  # drop photos where more than this share of pixels is flat
MIN_COLOURS = 8000  # drop images with fewer distinct RGB colours (posterised / graphics)
GRAY_CHROMA = 3.0  # mean |R-G|+|G-B| below this (0-255 scale): a grayscale image
DUP_BITS = 6  # difference-hash distance for "the same photo" (as check_reserved.py)


@dataclass(frozen=True)
class Source:
    """Which files of a package are photographs.

    Patterns are fnmatch globs on the path inside the package (``usr/share/...``; ``*`` also
    matches ``/``).  For Qt resource bundles (``rcc``), a member is addressed as
    ``PATH/TO/FILE.rcc!/path/inside``.
    """

    include: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    rcc: bool = False
    license: str = ""  # summary of usr/share/doc/PKG/copyright for the selected files
    note: str = ""


SOURCES: dict[str, Source] = {
    "mate-backgrounds": Source(
        include=("usr/share/backgrounds/mate/nature/*",),
        license="GPL-2+ (each nature/ photo listed with its photographer, all GPL-2+)",
        note="the 'nature' set; 'abstract' and 'desktop' are renders/paintings",
    ),
    "plasma-workspace-wallpapers": Source(
        include=tuple(
            f"usr/share/wallpapers/{name}/contents/images/*"
            for name in (
                "BytheWater",
                "ColdRipple",
                "ColorfulCups",
                "DarkestHour",
                "EveningGlow",
                "FallenLeaf",
                "Grey",
                "Kite",
                "OneStandsOut",
                "Path",
                "summer_1am",
            )
        ),
        license="GPL-2+ (Files: *, 2014 KDE Visual Design Group)",
        note="the 11 photographic wallpapers; the other 20 are renders",
    ),
    "lomiri-wallpapers-16.04": Source(
        include=("usr/share/backgrounds/*.jpg",),
        exclude=("*/umang_by_Abhishek_Mudgal.jpg",),
        license="per file: CC-BY-4.0, CC-BY-SA-4.0 or CC0-1.0 (photographer in the file name)",
        note="Ubuntu 16.04 community wallpapers: all photos except 'umang' (abstract)",
    ),
    "lomiri-wallpapers-20.04": Source(
        include=("usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg",),
        license="CC-BY-SA-3.0 (Kleiber by Lukas Baubkus)",
        note="only 'Kleiber' is a photo; the other three are renders",
    ),
    "stellarium-data": Source(
        include=(
            "usr/share/stellarium/landscapes/garching/garching-*.png",
            "usr/share/stellarium/landscapes/grossmugl/grossmugl_leeberg_crop*.png",
            "usr/share/stellarium/landscapes/guereins/guereins[0-9b].png",
            "usr/share/stellarium/landscapes/guereins/guereins8.png",
            "usr/share/stellarium/landscapes/hurricane/hurricane*.png",
            "usr/share/stellarium/landscapes/ocean/ocean*.png",
            "usr/share/stellarium/landscapes/mars/mars.png",
            "usr/share/stellarium/landscapes/moon/apollo17.png",
            "usr/share/stellarium/landscapes/trees/trees_512.png",
            "usr/share/stellarium/scenery3d/Testscene/TX_Stellarium-Testscene/*.jpg",
            "usr/share/stellarium/scenery3d/Testscene/TX_Stellarium-Testscene_ground/*.jpg",
            "usr/share/stellarium/scenery3d/Sterngarten/Sterngarten_Wien_innerArea/*.jpg",
        ),
        exclude=(
            "*/Tafel_*",  # information boards (text, map)
            "*/Google_Earth_*",  # aerial screenshot, not freely licensed imagery
            "*/Metal_Corrogated_Shiny_90.jpg",  # synthetic gradient
        ),
        license="GPL-2+ (Files: *, 2002-2014 Fabien Chereau et al.)",
        note="photographic landscape panoramas (tiles, transparent sky cropped away) and the "
        "photographic ground/stone/bark textures of the 3D sceneries",
    ),
    "tuxpaint-data": Source(
        include=(
            "usr/share/tuxpaint/templates/*.jpg",
            "usr/share/tuxpaint/starters/reef-back.*",
        ),
        license="GPL-2+ (Files: *, 2002-2021 Bill Kendrick)",
        note="the photo 'templates' (bark, rock, sea, trees, sheep ...) and the reef photo",
    ),
    "tuxpaint-stamps-default": Source(
        include=("usr/share/tuxpaint/stamps/*.png",),
        exclude=("*/cartoon/*", "usr/share/tuxpaint/stamps/symbols/*"),
        license="GPL-2 (Files: *)",
        note="photographic cut-outs: only those whose opaque interior is >= 256 px survive",
    ),
    "palapeli-data": Source(
        include=("usr/share/palapeli/collection/*.jpg",),
        license="GPL-2+ package; the puzzle photos' .desktop files name author and licence "
        "(e.g. honey bee: John Severns, public domain)",
        note="the five jigsaw-puzzle photos (castle, bridge, citrus, bee, chameleon)",
    ),
    "tuxtype-data": Source(
        include=("usr/share/tuxtype/images/kcas*.jpg",),
        license="GPL-2 package; README_IMAGES says these are Wikimedia Commons featured "
        "images (per-image authors not recorded)",
        note="12 landscape photos (glaciers, mountains, coast, hot spring)",
    ),
    "gcompris-qt-data": Source(
        include=(
            "usr/share/gcompris-qt/rcc/explore_monuments.rcc!*",
            "usr/share/gcompris-qt/rcc/explore_world_animals.rcc!*",
            "usr/share/gcompris-qt/rcc/explore_farm_animals.rcc!*",
            "usr/share/gcompris-qt/rcc/explore_world_music.rcc!*",
            "usr/share/gcompris-qt/rcc/erase.rcc!*",
            "usr/share/gcompris-qt/rcc/clickgame.rcc!*/sea*",
            "usr/share/gcompris-qt/rcc/categorization.rcc!*",
        ),
        rcc=True,
        license="per file (copyright lists each photo): GPL-3(+), CC-BY-SA-2.0/2.5/3.0/4.0, "
        "CC-BY-1.0/2.0/3.0, CC0-1.0, GFDL-1.2, public domain",
        note="photos of monuments, wild and farm animals, instruments, sea floor, objects; "
        "packed in Qt resource bundles (.rcc), read directly",
    ),
}
# tuxpaint-stamps-default is defined but not used by default: once their transparent
# surroundings are cropped away only 3 of its 439 photo stamps keep a 256 px short side, and two
# of those are near-uniform crops of fruit skin and metal (see docs/data.md).
DEFAULT_PACKAGES = [p for p in SOURCES if p != "tuxpaint-stamps-default"]


# --------------------------------------------------------------------------- packages


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def fetch_deb(pkg: str, debdir: Path, refresh: bool) -> Path:
    """Download PKG's .deb into DEBDIR with ``apt-get download`` (reuse one already there)."""
    if pkg in FORBIDDEN_PACKAGES:
        raise SystemExit(f"refusing to touch {pkg}: it is reserved for independent evaluation")
    debdir.mkdir(parents=True, exist_ok=True)
    found = sorted(glob.glob(str(debdir / f"{glob.escape(pkg)}_*.deb")), key=os.path.getmtime)
    if found and not refresh:
        return Path(found[-1])
    for old in found:
        os.remove(old)
    log(f"downloading {pkg} ...")
    res = subprocess.run(["apt-get", "download", pkg], cwd=debdir, capture_output=True, text=True)
    found = glob.glob(str(debdir / f"{glob.escape(pkg)}_*.deb"))
    if res.returncode != 0 or not found:
        raise SystemExit(
            f"apt-get download {pkg} failed ({res.stderr.strip()[-300:]}); run 'apt-get update' "
            "first, on a Debian 12 (bookworm) system with the main archive enabled"
        )
    return Path(found[0])


def deb_version(deb: Path) -> str:
    return subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Version"], capture_output=True, text=True, check=True
    ).stdout.strip()


def extract_deb(deb: Path, root: Path) -> Path:
    """Unpack DEB under ROOT/<deb stem> once; later runs reuse the tree."""
    dest = root / deb.stem
    stamp = dest / ".extracted"
    if not stamp.exists():
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        log(f"extracting {deb.name} ...")
        subprocess.run(["dpkg-deb", "-x", str(deb), str(dest)], check=True)
        stamp.touch()
    return dest


def copyright_licenses(path: Path) -> list[str]:
    """Distinct License: names of a machine-readable (DEP-5) copyright file."""
    if not path.exists():
        return []
    text = path.read_text(errors="replace")
    if not text.startswith("Format:"):
        return ["(free-form copyright file: see licenses/)"]
    names = re.findall(r"^License:\s*(.+)$", text, re.M)
    return list(dict.fromkeys(n.strip() for n in names))


def rcc_members(buf: bytes):
    """Yield (path, bytes) for every file of a Qt binary resource bundle (.rcc, v1-v3)."""
    magic, version, tree, data, names = struct.unpack(">4sIIII", buf[:20])
    if magic != b"qres":
        raise ValueError("not a Qt resource file")
    node = 14 if version == 1 else 22

    def name(off: int) -> str:
        (n,) = struct.unpack(">H", buf[names + off : names + off + 2])
        return buf[names + off + 6 : names + off + 6 + 2 * n].decode("utf-16-be")

    stack = [(0, "")]
    while stack:
        idx, prefix = stack.pop()
        o = tree + idx * node
        name_off, flags = struct.unpack(">IH", buf[o : o + 6])
        path = f"{prefix}/{name(name_off)}" if idx else ""
        if flags & 2:  # directory
            count, first = struct.unpack(">II", buf[o + 6 : o + 14])
            stack.extend((c, path) for c in range(first + count - 1, first - 1, -1))
            continue
        (off,) = struct.unpack(">I", buf[o + 10 : o + 14])
        (length,) = struct.unpack(">I", buf[data + off : data + off + 4])
        raw = buf[data + off + 4 : data + off + 4 + length]
        if flags & 1:  # zlib (qCompress: 4-byte size, then a zlib stream)
            raw = zlib.decompress(raw[4:])
        elif flags & 4:  # zstd (Qt 6); not used by the packages above
            continue
        yield path, raw


def candidates(pkg: str, src: Source, tree: Path):
    """Yield (relpath, opener) for the files of PKG that match its patterns."""

    def wanted(rel: str) -> bool:
        return any(fnmatch.fnmatch(rel, p) for p in src.include) and not any(
            fnmatch.fnmatch(rel, p) for p in src.exclude
        )

    if src.rcc:
        bundles = {p.split("!", 1)[0] for p in src.include}
        for bundle in sorted(bundles):
            f = tree / bundle
            if not f.exists():
                log(f"warning: {pkg}: {bundle} not found")
                continue
            for inner, raw in rcc_members(f.read_bytes()):
                rel = f"{bundle}!{inner}"
                if inner.lower().endswith(IMAGE_EXTS) and wanted(rel):
                    yield rel, (lambda raw=raw: io.BytesIO(raw))
        return
    for p in sorted(tree.rglob("*")):
        rel = p.relative_to(tree).as_posix()
        # wallpaper packages link every screen size to one file: count the file once
        if p.is_file() and not p.is_symlink() and p.suffix.lower() in IMAGE_EXTS and wanted(rel):
            yield rel, (lambda p=p: p)


# --------------------------------------------------------------------------- image checks


def largest_opaque_rect(opaque: np.ndarray) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the largest all-True rectangle (by area) of a 2-D mask."""
    h, w = opaque.shape
    heights = np.zeros(w, dtype=np.int64)
    best, box = 0, (0, 0, 0, 0)
    for y in range(h):
        heights = np.where(opaque[y], heights + 1, 0)
        stack: list[tuple[int, int]] = []  # (start column, height)
        for x in range(w + 1):
            cur = int(heights[x]) if x < w else 0
            start = x
            while stack and stack[-1][1] >= cur:
                s, hh = stack.pop()
                if hh * (x - s) > best:
                    best, box = hh * (x - s), (s, y - hh + 1, x, y + 1)
                start = s
            stack.append((start, cur))
    return box


def remove_transparency(img: Image.Image) -> Image.Image:
    """Crop a cut-out to its largest fully opaque rectangle; drop the alpha channel."""
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        alpha = np.asarray(img.getchannel("A"))
        if (alpha < 255).any():
            img = img.crop(largest_opaque_rect(alpha == 255))
    return img.convert("RGB")


def trim_bars(img: Image.Image) -> Image.Image:
    """Cut away letterbox bars: uniform near-black or near-white rows/columns at the edges."""
    lum = np.asarray(img.convert("L"), dtype=np.int16)

    def bar(line: np.ndarray) -> bool:
        return int(line.max() - line.min()) < 8 and (line.mean() < 16 or line.mean() > 240)

    top, bottom, left, right = 0, lum.shape[0], 0, lum.shape[1]
    while top < bottom - 1 and bar(lum[top, left:right]):
        top += 1
    while bottom > top + 1 and bar(lum[bottom - 1, left:right]):
        bottom -= 1
    while left < right - 1 and bar(lum[top:bottom, left]):
        left += 1
    while right > left + 1 and bar(lum[top:bottom, right - 1]):
        right -= 1
    if (left, top, right, bottom) == (0, 0, lum.shape[1], lum.shape[0]):
        return img
    return img.crop((left, top, right, bottom))


def dhash(img: Image.Image) -> int:
    """16x16 difference hash, computed exactly as ../shared/tools/check_reserved.py does."""
    small = img.convert("L").resize((17, 16), Image.LANCZOS)
    px = small.tobytes()
    bits = 0
    for row in range(16):
        for col in range(16):
            bits = (bits << 1) | (px[row * 17 + col] > px[row * 17 + col + 1])
    return bits


def hamming(a: int, b: int) -> int:
    return bin(a ^ b).count("1")


def image_stats(rgb: Image.Image) -> dict:
    a = np.asarray(rgb, dtype=np.float32)
    lum = a @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    gx = np.abs(np.diff(lum, axis=1))[:-1, :]
    gy = np.abs(np.diff(lum, axis=0))[:, :-1]
    flat_share = float((np.maximum(gx, gy) < FLAT_GRAD).mean())
    u8 = np.asarray(rgb, dtype=np.uint8).reshape(-1, 3).astype(np.uint32)
    colours = int(np.unique((u8[:, 0] << 16) | (u8[:, 1] << 8) | u8[:, 2]).size)
    chroma = float((np.abs(a[..., 0] - a[..., 1]) + np.abs(a[..., 1] - a[..., 2])).mean())
    return {"flat_share": round(flat_share, 3), "colours": colours, "chroma": round(chroma, 2)}


def load(opener, max_side: int, min_side: int) -> tuple[Image.Image | None, str, dict]:
    """Open, clean and downscale one candidate. Returns (image or None, drop reason, info)."""
    try:
        img = Image.open(opener())
        src_size = img.size
        if min(src_size) < min_side:
            return None, "too-small", {"source_size": list(src_size)}
        if img.format == "JPEG" and max(src_size) >= 4 * max_side:
            img.draft("RGB", (src_size[0] // 2, src_size[1] // 2))  # still >= 2x max_side
        img = ImageOps.exif_transpose(img)
        img.load()
    except Exception as exc:  # a broken file in a package is not fatal
        return None, "unreadable", {"error": str(exc)[:200]}
    img = trim_bars(remove_transparency(img))
    info = {"source_size": list(src_size), "used_size": list(img.size)}
    if min(img.size) < min_side:
        return None, "too-small-after-crop", info
    if max(img.size) > max_side:
        scale = max_side / max(img.size)
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        img = img.resize(size, Image.LANCZOS, reducing_gap=3.0)
    info["size"] = list(img.size)
    info.update(image_stats(img))
    if info["chroma"] < GRAY_CHROMA:
        return None, "grayscale", info
    if info["colours"] < MIN_COLOURS:
        return None, "few-colours", info
    if info["flat_share"] > MAX_FLAT_SHARE:
        return None, "mostly-flat", info
    return img, "", info


def skimage_hashes() -> list[int]:
    """Hashes of scikit-image's bundled sample images (our public evaluation set)."""
    try:
        import skimage
    except ImportError:
        log("warning: scikit-image is not installed: cannot exclude its sample images")
        return []
    hashes = []
    for p in sorted(Path(skimage.data_dir).rglob("*")):
        if p.suffix.lower() in IMAGE_EXTS:
            try:
                hashes.append(dhash(Image.open(p)))
            except Exception:
                continue
    return hashes


def run_check_reserved(folder: Path) -> tuple[list[Path], str]:
    """Run ../shared/tools/check_reserved.py on FOLDER; return (listed files, its last line)."""
    if not CHECK_RESERVED.exists():
        log(
            f"WARNING: {CHECK_RESERVED} not found: the reserved evaluation photos were NOT "
            "excluded. Run the check before training on this folder."
        )
        return [], "not run (check_reserved.py not found)"
    res = subprocess.run(
        [sys.executable, str(CHECK_RESERVED), str(folder)], capture_output=True, text=True
    )
    hits = [
        Path(line.split(": ", 1)[1].strip())
        for line in res.stdout.splitlines()
        if line.startswith("reserved for evaluation")
    ]
    lines = res.stdout.strip().splitlines()
    if res.returncode not in (0, 1) or not lines:
        raise SystemExit(f"check_reserved.py failed: {res.stderr.strip()[-500:]}")
    return hits, lines[-1]


# --------------------------------------------------------------------------- main


def safe_name(pkg: str, rel: str) -> str:
    rel = re.sub(r"^usr/share/", "", rel)
    rel = re.sub(r"^.*\.rcc!/(gcompris/src/activities/)?", "", rel).replace("/resource/", "/")
    rel = re.sub(r"\.(png|jpe?g|webp|bmp|tiff?)$", "", rel, flags=re.I)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{pkg}__{rel}").strip("_")
    return stem[:180] + ".png"


def prepare_out(out: Path) -> Path:
    """Create OUT (marked as ours) and an empty OUT/clean; refuse to wipe a foreign folder."""
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()) and not (out / MARKER).exists():
        raise SystemExit(f"{out} is not empty and was not made by this script: pick another --out")
    (out / MARKER).touch()
    for sub in ("clean", ".staging", "licenses"):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
    (out / ".staging").mkdir()
    (out / "licenses").mkdir()
    return out / ".staging"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--out",
        type=Path,
        default=Path("~/.cache/ganrestore/train-photos"),
        help="output folder (outside the repository); photos go to OUT/clean",
    )
    ap.add_argument(
        "--packages",
        nargs="+",
        default=DEFAULT_PACKAGES,
        metavar="PKG",
        help=f"Debian packages to use (default: {' '.join(DEFAULT_PACKAGES)})",
    )
    ap.add_argument(
        "--workdir",
        type=Path,
        default=Path("~/.cache/ganrestore/debs"),
        help="where .deb files are downloaded and unpacked (reused between runs)",
    )
    ap.add_argument("--max-side", type=int, default=MAX_SIDE, help="long side of stored photos")
    ap.add_argument("--min-side", type=int, default=MIN_SIDE, help="skip smaller short sides")
    ap.add_argument("--refresh", action="store_true", help="download the .deb files again")
    args = ap.parse_args(argv)

    out = args.out.expanduser().resolve()
    workdir = args.workdir.expanduser().resolve()
    for p in (out, workdir):
        if p == REPO or REPO in p.parents:
            raise SystemExit(f"{p} is inside the repository: images must never be committed")
    bad = FORBIDDEN_PACKAGES.intersection(args.packages)
    if bad:
        raise SystemExit(f"refusing {sorted(bad)}: reserved for independent evaluation")
    unknown = [p for p in args.packages if p not in SOURCES]
    if unknown:
        raise SystemExit(f"no photo selection is defined for {unknown}; add it to SOURCES first")

    staging = prepare_out(out)
    eval_hashes = skimage_hashes()
    summary: dict[str, dict] = {}
    kept: list[dict] = []  # candidates that passed the per-image filters

    for pkg in args.packages:
        src = SOURCES[pkg]
        deb = fetch_deb(pkg, workdir / "debs", args.refresh)
        tree = extract_deb(deb, workdir / "extract")
        version = deb_version(deb)
        copyright_file = tree / "usr/share/doc" / pkg / "copyright"
        if copyright_file.exists():
            shutil.copy(copyright_file, out / "licenses" / f"{pkg}.copyright")
        stats = {
            "version": version,
            "license": src.license,
            "copyright_licenses": copyright_licenses(copyright_file),
            "found": 0,
            "kept": 0,
            "dropped": Counter(),
        }
        summary[pkg] = stats
        for rel, opener in candidates(pkg, src, tree):
            stats["found"] += 1
            img, reason, info = load(opener, args.max_side, args.min_side)
            if img is None:
                stats["dropped"][reason] += 1
                continue
            h = dhash(img)
            if any(hamming(h, e) <= DUP_BITS for e in eval_hashes):
                stats["dropped"]["scikit-image-sample"] += 1
                continue
            name = safe_name(pkg, rel)
            if any(k["file"] == name for k in kept):
                name = name[:-4] + f"_{len(kept)}.png"
            img.save(staging / name, compress_level=6)
            kept.append(
                {
                    "file": name,
                    "package": pkg,
                    "version": version,
                    "source": rel,
                    "license": src.license,
                    "dhash": f"{h:064x}",
                    **info,
                }
            )
        log(f"{pkg}: {stats['found']} candidates, {len(kept)} passing so far")

    # 1. photos reserved for independent evaluation (the project's own check, authoritative)
    hits, _ = run_check_reserved(staging)
    hit_names = {p.name for p in hits}
    for rec in kept:
        if rec["file"] in hit_names:
            summary[rec["package"]]["dropped"]["reserved-for-evaluation"] += 1
            (staging / rec["file"]).unlink()
    kept = [r for r in kept if r["file"] not in hit_names]

    # 2. near-duplicates: keep the copy with the most source pixels (then package order)
    order = {p: i for i, p in enumerate(args.packages)}
    kept.sort(key=lambda r: (-r["used_size"][0] * r["used_size"][1], order[r["package"]]))
    unique: list[dict] = []
    for rec in kept:
        h = int(rec["dhash"], 16)
        twin = next((u for u in unique if hamming(h, int(u["dhash"], 16)) <= DUP_BITS), None)
        if twin is None:
            unique.append(rec)
        else:
            summary[rec["package"]]["dropped"]["duplicate"] += 1
            (staging / rec["file"]).unlink()
    unique.sort(key=lambda r: (order[r["package"]], r["file"]))

    staging.rename(out / "clean")
    # 3. final verification on the finished folder; anything listed is deleted as well
    hits, check_line = run_check_reserved(out / "clean")
    for p in hits:
        rec = next((r for r in unique if r["file"] == p.name), None)
        if rec is not None:
            summary[rec["package"]]["dropped"]["reserved-for-evaluation"] += 1
            unique.remove(rec)
        p.unlink(missing_ok=True)
    if hits:
        hits, check_line = run_check_reserved(out / "clean")

    for rec in unique:
        summary[rec["package"]]["kept"] += 1
    megapixels = sum(r["size"][0] * r["size"][1] for r in unique) / 1e6
    (out / "manifest.json").write_text(json.dumps(unique, indent=1) + "\n")
    result = {
        "out": str(out / "clean"),
        "photos": len(unique),
        "megapixels": round(megapixels, 1),
        "reserved_check": check_line,
        "scikit_image_samples_hashed": len(eval_hashes),
        "settings": {
            "max_side": args.max_side,
            "min_side": args.min_side,
            "flat_grad": FLAT_GRAD,
            "max_flat_share": MAX_FLAT_SHARE,
            "min_colours": MIN_COLOURS,
            "gray_chroma": GRAY_CHROMA,
            "dup_bits": DUP_BITS,
        },
        "packages": {
            k: {**v, "dropped": dict(sorted(v["dropped"].items()))} for k, v in summary.items()
        },
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
