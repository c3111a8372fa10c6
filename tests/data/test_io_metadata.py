"""EXIF and ICC profiles kept, animated images refused, 16-bit gray+alpha kept gray+alpha."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from ganrestore.data.io import ImageReadError, image_size, read_image, write_image

MAKE, MODEL, DATE_TIME, ORIENTATION = 0x010F, 0x0110, 0x0132, 0x0112
EXIF_IFD, DATE_TIME_ORIGINAL = 0x8769, 0x9003


@pytest.fixture(scope="module")
def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def camera_exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[MAKE], exif[MODEL], exif[DATE_TIME] = "Canon", "EOS 5D", "2024:05:06 07:08:09"
    exif.get_ifd(EXIF_IFD)[DATE_TIME_ORIGINAL] = "2024:05:06 07:08:00"
    if orientation is not None:
        exif[ORIENTATION] = orientation
    return exif


def assert_camera_tags(path: Path) -> Image.Exif:
    with Image.open(path) as image:
        exif = image.getexif()
        assert (exif.get(MAKE), exif.get(MODEL)) == ("Canon", "EOS 5D")
        assert exif.get(DATE_TIME) == "2024:05:06 07:08:09"
        assert exif.get_ifd(EXIF_IFD).get(DATE_TIME_ORIGINAL) == "2024:05:06 07:08:00"
        return exif


def icc_of(path: Path) -> bytes | None:
    with Image.open(path) as image:
        return image.info.get("icc_profile")


def png_header(path: Path) -> tuple[int, int]:
    """``(bit depth, colour type)`` from a PNG's IHDR chunk."""
    return struct.unpack(">BB", path.read_bytes()[24:26])


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif"])
def test_exif_and_icc_profile_survive_a_read_and_a_write(
    tmp_path: Path, astronaut, srgb_profile: bytes, suffix: str
) -> None:
    source, target = tmp_path / f"photo{suffix}", tmp_path / "out" / f"photo{suffix}"
    Image.fromarray(astronaut).save(source, exif=camera_exif().tobytes(), icc_profile=srgb_profile)

    decoded = read_image(source)
    write_image(target, decoded.pixels, decoded.alpha, metadata=decoded.metadata)

    assert icc_of(target) == srgb_profile
    assert_camera_tags(target)


@pytest.mark.parametrize(("suffix", "bit_depth"), [(".jpg", 8), (".png", 16), (".tif", 16)])
def test_the_size_exif_records_follows_the_pixels_written(
    tmp_path: Path, astronaut, suffix: str, bit_depth: int
) -> None:
    exif = camera_exif()
    exif.get_ifd(EXIF_IFD).update({0xA002: 512, 0xA003: 512})  # the camera's size
    Image.fromarray(astronaut).save(tmp_path / "shot.jpg", exif=exif.tobytes())
    decoded = read_image(tmp_path / "shot.jpg")
    larger = np.repeat(np.repeat(decoded.pixels, 2, axis=0), 2, axis=1)  # an x2 result
    target = tmp_path / f"large{suffix}"
    write_image(target, larger, bit_depth=bit_depth, metadata=decoded.metadata)
    details = assert_camera_tags(target).get_ifd(EXIF_IFD)
    height, width = larger.shape[:2]
    assert (details[0xA002], details[0xA003]) == (width, height)
    assert details[DATE_TIME_ORIGINAL] == "2024:05:06 07:08:00"  # the rest as it was


@pytest.mark.parametrize(
    ("source_suffix", "target_suffix", "bit_depth"),
    [
        (".jpg", ".jpg", 8),
        (".png", ".png", 8),
        (".png", ".png", 16),
        (".jpg", ".tif", 8),
        (".tif", ".png", 8),
    ],
)
def test_the_print_resolution_is_kept(
    tmp_path: Path, astronaut, source_suffix: str, target_suffix: str, bit_depth: int
) -> None:
    source, target = tmp_path / f"scan{source_suffix}", tmp_path / "out" / f"scan{target_suffix}"
    Image.fromarray(astronaut).save(source, dpi=(300, 300))
    decoded = read_image(source)
    assert decoded.metadata.dpi == pytest.approx((300, 300), abs=0.01)
    write_image(target, decoded.pixels, bit_depth=bit_depth, metadata=decoded.metadata)
    with Image.open(target) as image:
        assert image.info["dpi"] == pytest.approx((300, 300), abs=0.01)


def test_a_file_without_a_resolution_gets_none(tmp_path: Path, astronaut) -> None:
    Image.fromarray(astronaut).save(tmp_path / "plain.png")
    decoded = read_image(tmp_path / "plain.png")
    assert decoded.metadata.dpi is None
    write_image(tmp_path / "out.png", decoded.pixels, metadata=decoded.metadata)
    with Image.open(tmp_path / "out.png") as image:
        assert "dpi" not in image.info


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_files_keep_exif_and_icc_profile(
    tmp_path: Path, astronaut16, srgb_profile: bytes, suffix: str
) -> None:
    source, target = tmp_path / f"deep{suffix}", tmp_path / "out" / f"deep{suffix}"
    write_image(source, astronaut16 / 65535.0, bit_depth=16)  # no metadata yet
    if suffix == ".png":  # add both as a camera or an editor would
        data = source.read_bytes()
        icc = png_chunk(b"iCCP", b"sRGB\0\0" + zlib.compress(srgb_profile))
        exif = png_chunk(b"eXIf", camera_exif().tobytes()[6:])
        source.write_bytes(data[:33] + icc + exif + data[33:])
    else:
        tifffile = pytest.importorskip("tifffile")  # installed with scikit-image
        tags = [(34675, "B", len(srgb_profile), srgb_profile, True)]
        tags += [(MAKE, "s", 0, "Canon", True), (MODEL, "s", 0, "EOS 5D", True)]
        tags += [(DATE_TIME, "s", 0, "2024:05:06 07:08:09", True)]
        tifffile.imwrite(source, astronaut16, photometric="rgb", extratags=tags)

    decoded = read_image(source)
    write_image(target, decoded.pixels, bit_depth=16, metadata=decoded.metadata)

    again = read_image(target)
    assert again.bit_depth == 16
    np.testing.assert_array_equal(np.rint(again.pixels * 65535), astronaut16)
    assert icc_of(target) == srgb_profile
    with Image.open(target) as image:
        exif = image.getexif()
        assert (exif.get(MAKE), exif.get(MODEL)) == ("Canon", "EOS 5D")
        assert exif.get(DATE_TIME) == "2024:05:06 07:08:09"


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif"])
def test_a_turned_photo_is_written_upright_with_orientation_1(
    tmp_path: Path, astronaut, suffix: str
) -> None:
    source, target = tmp_path / f"phone{suffix}", tmp_path / "out" / f"phone{suffix}"
    Image.fromarray(astronaut).save(source, exif=camera_exif(orientation=6).tobytes())

    decoded = read_image(source)
    write_image(target, decoded.pixels, metadata=decoded.metadata)

    exif = assert_camera_tags(target)
    assert exif.get(ORIENTATION) == 1  # the pixels are stored upright: viewers must not turn them
    assert image_size(target) == (64, 48) and Image.open(target).size == (48, 64)


def test_a_profile_for_other_colours_than_the_pixels_is_not_kept(
    tmp_path: Path, astronaut, srgb_profile: bytes
) -> None:
    cmyk_profile = srgb_profile[:16] + b"CMYK" + srgb_profile[20:]  # a CMYK profile's header
    path = tmp_path / "print.jpg"
    Image.fromarray(astronaut).convert("CMYK").save(path, icc_profile=cmyk_profile)
    decoded = read_image(path)  # CMYK pixels come out as RGB, so the profile no longer applies
    assert decoded.pixels.shape[2] == 3 and decoded.metadata.icc_profile is None


def test_16_bit_gray_alpha_png_is_written_back_as_gray_alpha(tmp_path: Path, astronaut16) -> None:
    gray, alpha = astronaut16[..., 0], astronaut16[..., 1]
    path = tmp_path / "la16.png"
    write_image(path, gray[..., None] / 65535.0, alpha=alpha / 65535.0, bit_depth=16)

    assert png_header(path) == (16, 4)  # 16 bits, colour type 4: gray + alpha, not RGBA
    decoded = read_image(path)
    assert decoded.is_grayscale and decoded.bit_depth == 16
    np.testing.assert_array_equal(np.rint(decoded.pixels[..., 0] * 65535), gray)
    np.testing.assert_array_equal(np.rint(decoded.alpha * 65535), alpha)


def test_16_bit_gray_png_with_a_transparent_value_has_alpha(tmp_path: Path, astronaut16) -> None:
    gray = astronaut16[..., 0].copy()
    gray[:4] = 7  # the transparent level
    path = tmp_path / "trns16.png"
    write_image(path, gray[..., None] / 65535.0, bit_depth=16)
    data = path.read_bytes()
    path.write_bytes(data[:33] + png_chunk(b"tRNS", struct.pack(">H", 7)) + data[33:])

    decoded = read_image(path)
    assert decoded.is_grayscale and decoded.alpha is not None
    np.testing.assert_array_equal(decoded.alpha, (gray != 7).astype(np.float32))


def frames(astronaut: np.ndarray, count: int) -> list[Image.Image]:
    return [Image.fromarray(np.roll(astronaut, 5 * i, axis=1)) for i in range(count)]


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_an_8_bit_png_with_a_transparent_colour_has_alpha(
    tmp_path: Path, astronaut, mode: str
) -> None:
    pixels = astronaut if mode == "RGB" else astronaut[..., 0]
    key = tuple(int(v) for v in pixels[0, 0]) if mode == "RGB" else int(pixels[0, 0])
    Image.fromarray(pixels).save(tmp_path / "keyed.png", transparency=key)
    decoded = read_image(tmp_path / "keyed.png")
    assert decoded.pixels.shape[2] == (3 if mode == "RGB" else 1) and decoded.alpha is not None
    keyed = np.all(pixels.reshape(*pixels.shape[:2], -1) == key, axis=2)
    np.testing.assert_array_equal(decoded.alpha == 0, keyed)
    assert decoded.alpha[~keyed].min() == 1


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("moving.png", "animated image with 3 frames"),
        ("moving.webp", "animated image with 3 frames"),
        ("pages.tif", "multi-page TIFF with 3 pages"),
    ],
)
def test_animated_images_and_multi_page_tiffs_are_refused_with_the_reason(
    tmp_path: Path, astronaut, name: str, expected: str
) -> None:
    path = tmp_path / name
    first, *others = frames(astronaut, 3)
    first.save(
        path, save_all=True, append_images=others, **({"lossless": True} if ".webp" in name else {})
    )
    for read in (read_image, image_size):
        with pytest.raises(ImageReadError, match=expected) as error:
            read(path)
        assert "only still images are supported" in str(error.value)


def test_a_jpeg_with_extra_pictures_is_still_read(tmp_path: Path, astronaut) -> None:
    path = tmp_path / "camera.jpg"  # MPO: a photo with a preview, as many cameras write
    first, second = frames(astronaut, 2)
    first.save(path, format="MPO", save_all=True, append_images=[second], quality=95)
    assert read_image(path).pixels.shape == (48, 64, 3)
