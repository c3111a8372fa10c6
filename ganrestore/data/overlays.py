"""Sharp synthetic detail drawn onto training crops: text and thin lines in strong colours.

Natural photos rarely hold pixel-sharp, saturated colour edges (a camera's demosaicing and
JPEG's 4:2:0 chroma make colour soft), so a denoiser trained on them alone takes such edges
for colour noise: red or green captions, signs and logos come back blurred and faded even from
a clean photo. Drawing them onto a share of the clean crops, before any noise is added, shows
the model that they are content.
"""

from __future__ import annotations

import string
from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

#: Characters of the drawn words.
_CHARACTERS = np.array(list(string.ascii_letters + string.digits + "-.,:/&%()"))


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's own font at ``size`` pixels (scalable where Pillow has FreeType)."""
    return ImageFont.load_default(size=size)


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    """Half the time a saturated colour (one channel high, one low), else any colour."""
    if rng.random() < 0.5:
        channels = rng.permutation(3)
        colour = np.empty(3, np.int64)
        colour[channels[0]] = rng.integers(200, 256)
        colour[channels[1]] = rng.integers(0, 60)
        colour[channels[2]] = rng.integers(0, 256)
        return (int(colour[0]), int(colour[1]), int(colour[2]))
    return (int(rng.integers(0, 256)), int(rng.integers(0, 256)), int(rng.integers(0, 256)))


def draw_sharp_detail(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``clean`` with 1-4 words (7-20 px high) and 0-2 thin lines drawn on it.

    Args:
        clean: (H, W, 3) float32 in [0, 1].
        rng: the source of every random choice (the caller's stream, for reproducible crops).

    Returns:
        (H, W, 3) float32 in [0, 1]: a new array, anti-aliased as rendered text is; the pixels
        nothing was drawn on keep their values.
    """
    height, width = clean.shape[:2]
    before = np.round(clean * 255).astype(np.uint8)
    picture = Image.fromarray(before)
    draw = ImageDraw.Draw(picture)
    for _ in range(int(rng.integers(1, 5))):
        size = int(rng.integers(7, 21))
        word = "".join(rng.choice(_CHARACTERS, size=int(rng.integers(2, 12))))
        where = (int(rng.integers(-size, width)), int(rng.integers(-size, height)))
        draw.text(where, word, fill=_colour(rng), font=_font(size))
    for _ in range(int(rng.integers(0, 3))):
        ends = rng.integers(0, [width, height, width, height])
        draw.line([int(value) for value in ends], fill=_colour(rng), width=int(rng.integers(1, 3)))
    drawn = np.asarray(picture)
    touched = (drawn != before).any(axis=2, keepdims=True)  # elsewhere the crop stays exact
    return np.where(touched, drawn.astype(np.float32) / 255, clean).astype(np.float32)
