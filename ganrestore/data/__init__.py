"""Data: image files <-> arrays, degradations, masks, folder layouts, sampling and datasets.

Modules, each with one job:

- ``io``: read/write image files (EXIF orientation, 8/16-bit, atomic writes), every decode
  bounded by a pixel limit (``pixel_limit``);
- ``degradations``: synthetic noise on ``(B, C, H, W)`` batches;
- ``masks``: random hole masks (box, free-form);
- ``sources``: which folders of ``--data DIR`` hold the samples (plain folder, clean/ with
  its pairs, pix2pix A/B folders or side-by-side A|B images);
- ``pairs``: matching clean images with their pairs by name, image headers read once;
- ``layout``: what is in ``--data DIR`` (samples, validation split, unreadable and
  ignored files);
- ``sampler``: exact, resumable ``(index, sample_seed)`` streams;
- ``datasets``: training crops and deterministic validation items.
"""

from ganrestore.data.datasets import BadImageWarning, TrainDataset, ValDataset
from ganrestore.data.degradations import (
    add_gaussian_noise,
    add_poisson_gaussian_noise,
    noise_image,
    sample_peak,
    sample_sigma,
)
from ganrestore.data.io import (
    IMAGE_SUFFIXES,
    DecodedImage,
    ImageReadError,
    ImageTooLargeError,
    image_size,
    list_images,
    read_image,
    read_mask,
    to_array,
    to_tensor,
    write_image,
)
from ganrestore.data.layout import DataError, DataLayout, Sample, discover
from ganrestore.data.masks import MASK_KINDS, box_mask, free_form_mask, make_mask, mixed_mask
from ganrestore.data.sampler import StepSampler

__all__ = [
    "IMAGE_SUFFIXES",
    "MASK_KINDS",
    "BadImageWarning",
    "DataError",
    "DataLayout",
    "DecodedImage",
    "ImageReadError",
    "ImageTooLargeError",
    "Sample",
    "StepSampler",
    "TrainDataset",
    "ValDataset",
    "add_gaussian_noise",
    "add_poisson_gaussian_noise",
    "box_mask",
    "discover",
    "free_form_mask",
    "image_size",
    "list_images",
    "make_mask",
    "mixed_mask",
    "noise_image",
    "read_image",
    "read_mask",
    "sample_peak",
    "sample_sigma",
    "to_array",
    "to_tensor",
    "write_image",
]
