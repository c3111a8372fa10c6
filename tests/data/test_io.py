"""ganrestore.data.io: files <-> arrays, on small real images."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from ganrestore.data.io import (
    ImageReadError,
    image_size,
    list_images,
    read_image,
    read_mask,
    to_array,
    to_tensor,
    write_image,
)

# What a viewer shows for each EXIF orientation, written out independently of the code.
UPRIGHT = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def insert_png_chunk(path: Path, kind: bytes, payload: bytes) -> None:
    """Inserts a chunk right after IHDR (8-byte signature + 25-byte IHDR chunk)."""
    data = path.read_bytes()
    path.write_bytes(data[:33] + png_chunk(kind, payload) + data[33:])


def write_gray_alpha16_png(path: Path, values: np.ndarray) -> None:
    """A 16-bit gray+alpha PNG (colour type 4), which neither Pillow nor OpenCV can write."""
    height, width = values.shape[:2]
    rows = b"".join(b"\x00" + values[y].astype(">u2").tobytes() for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 16, 4, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(rows))
        + png_chunk(b"IEND", b"")
    )


def exif_bytes(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


class TestListImages:
    def test_sorted_case_insensitive_hidden_and_non_images_skipped(self, tmp_path, camera):
        for name in ["b.PNG", "a.jpeg", "c.TiF", ".hidden.png", "notes.txt", "d.gif"]:
            Image.fromarray(camera).save(tmp_path / name, format="PNG")
        (tmp_path / "sub").mkdir()
        Image.fromarray(camera).save(tmp_path / "sub" / "e.webp")
        (tmp_path / ".cache").mkdir()
        Image.fromarray(camera).save(tmp_path / ".cache" / "f.png")

        assert [p.name for p in list_images(tmp_path)] == ["a.jpeg", "b.PNG", "c.TiF"]
        names = [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path, recursive=True)]
        assert names == ["a.jpeg", "b.PNG", "c.TiF", "sub/e.webp"]

    def test_missing_folder_is_an_error(self, tmp_path):
        with pytest.raises(NotADirectoryError, match="nowhere"):
            list_images(tmp_path / "nowhere")


class TestRoundTrip:
    @pytest.mark.parametrize("suffix", [".png", ".tif"])
    @pytest.mark.parametrize("gray", [False, True], ids=["rgb", "gray"])
    def test_16_bit_values_preserved_exactly(self, tmp_path, astronaut16, suffix, gray):
        values = astronaut16[..., :1] if gray else astronaut16
        path = tmp_path / f"image{suffix}"
        write_image(path, values / 65535.0, bit_depth=16)

        decoded = read_image(path)
        assert decoded.bit_depth == 16 and decoded.is_grayscale == gray
        assert decoded.pixels.dtype == np.float32
        np.testing.assert_array_equal(np.rint(decoded.pixels * 65535), values)

    @pytest.mark.parametrize("suffix", [".png", ".tif", ".bmp"])
    @pytest.mark.parametrize("gray", [False, True], ids=["rgb", "gray"])
    def test_8_bit_values_preserved_exactly(self, tmp_path, astronaut, suffix, gray):
        values = astronaut[..., :1] if gray else astronaut
        path = tmp_path / f"image{suffix}"
        write_image(path, values / 255.0)

        decoded = read_image(path)
        assert (decoded.bit_depth, decoded.height, decoded.width) == (8, 48, 64)
        np.testing.assert_array_equal(np.rint(decoded.pixels * 255), values)

    @pytest.mark.parametrize("suffix", [".png", ".tif"])
    def test_16_bit_rgb_written_by_opencv_is_read_as_rgb(self, tmp_path, astronaut16, suffix):
        path = tmp_path / f"from_opencv{suffix}"
        cv2.imwrite(str(path), astronaut16[..., ::-1])  # OpenCV stores BGR

        decoded = read_image(path)
        assert decoded.bit_depth == 16 and decoded.alpha is None
        np.testing.assert_array_equal(np.rint(decoded.pixels * 65535), astronaut16)

    def test_rgba_alpha_kept_8_and_16_bit(self, tmp_path, astronaut, astronaut16):
        alpha = np.linspace(0, 1, 48 * 64, dtype=np.float32).reshape(48, 64)
        write_image(tmp_path / "a8.png", astronaut / 255.0, alpha=alpha)
        write_image(tmp_path / "a16.png", astronaut16 / 65535.0, alpha=alpha, bit_depth=16)

        low, high = read_image(tmp_path / "a8.png"), read_image(tmp_path / "a16.png")
        assert low.pixels.shape == high.pixels.shape == (48, 64, 3)
        np.testing.assert_array_equal(low.alpha, np.rint(alpha * 255) / 255)
        np.testing.assert_array_equal(np.rint(high.alpha * 65535), np.rint(alpha * 65535))
        np.testing.assert_array_equal(np.rint(high.pixels * 65535), astronaut16)

    def test_gray_alpha_16_bit_png(self, tmp_path, astronaut16):
        values = np.stack([astronaut16[..., 0], astronaut16[..., 1]], axis=2)
        write_gray_alpha16_png(tmp_path / "la16.png", values)

        decoded = read_image(tmp_path / "la16.png")
        assert decoded.is_grayscale and decoded.bit_depth == 16
        np.testing.assert_array_equal(np.rint(decoded.pixels[..., 0] * 65535), values[..., 0])
        np.testing.assert_array_equal(np.rint(decoded.alpha * 65535), values[..., 1])

    def test_palette_with_transparency(self, tmp_path, coffee):
        palette = Image.fromarray(coffee).quantize(16)
        palette.save(tmp_path / "p.png", transparency=0)

        decoded = read_image(tmp_path / "p.png")
        rgb = np.asarray(palette.convert("RGB"), dtype=np.float32) / 255
        np.testing.assert_array_equal(decoded.pixels, rgb)
        np.testing.assert_array_equal(decoded.alpha, np.asarray(palette) != 0)

    @pytest.mark.parametrize(
        ("suffix", "options", "tolerance"),
        [(".jpg", {"quality": 95}, 0.03), (".webp", {"lossless": True}, 0.0), (".bmp", {}, 0.0)],
    )
    def test_pillow_formats_readable(self, tmp_path, coffee, suffix, options, tolerance):
        Image.fromarray(coffee).save(tmp_path / f"c{suffix}", **options)

        decoded = read_image(tmp_path / f"c{suffix}")
        assert decoded.format == {".jpg": "JPEG", ".webp": "WEBP", ".bmp": "BMP"}[suffix]
        assert np.abs(decoded.pixels - coffee / np.float32(255)).mean() <= tolerance

    def test_webp_and_jpeg_written_near_original(self, tmp_path, coffee):
        for suffix in (".jpg", ".webp"):
            write_image(tmp_path / f"c{suffix}", coffee / 255.0, alpha=np.ones((40, 56)))
            decoded = read_image(tmp_path / f"c{suffix}")
            assert np.abs(decoded.pixels - coffee / 255.0).mean() < 0.02
        assert read_image(tmp_path / "c.jpg").alpha is None  # JPEG cannot hold alpha


class TestOrientation:
    @pytest.mark.parametrize("orientation", range(1, 9))
    def test_png_every_orientation(self, tmp_path, astronaut, orientation):
        path = tmp_path / "o.png"
        Image.fromarray(astronaut).save(path, exif=exif_bytes(orientation))

        decoded = read_image(path)
        expected = UPRIGHT[orientation](astronaut)
        np.testing.assert_array_equal(np.rint(decoded.pixels * 255), expected)
        assert image_size(path) == expected.shape[:2]

    @pytest.mark.parametrize("suffix", [".jpg", ".webp", ".tif"])
    def test_rotated_90_in_other_formats(self, tmp_path, astronaut, suffix):
        path = tmp_path / f"o{suffix}"
        options = {"quality": 100} if suffix != ".tif" else {}
        Image.fromarray(astronaut).save(path, exif=exif_bytes(6), **options)

        decoded = read_image(path)
        assert decoded.pixels.shape == (64, 48, 3)
        assert image_size(path) == (64, 48)
        assert np.abs(decoded.pixels - np.rot90(astronaut, -1) / 255.0).mean() < 0.02

    def test_16_bit_rgb_png_with_exif_chunk(self, tmp_path, astronaut16):
        path = tmp_path / "o16.png"
        write_image(path, astronaut16 / 65535.0, bit_depth=16)
        insert_png_chunk(path, b"eXIf", exif_bytes(8))

        decoded = read_image(path)
        assert decoded.bit_depth == 16 and image_size(path) == (64, 48)
        np.testing.assert_array_equal(np.rint(decoded.pixels * 65535), np.rot90(astronaut16, 1))

    @pytest.mark.parametrize("orientation", [3, 6])
    @pytest.mark.parametrize("square", [False, True], ids=["oblong", "square"])
    def test_16_bit_rgba_tiff_with_orientation_tag(
        self, tmp_path, astronaut16, orientation, square
    ):
        tifffile = pytest.importorskip("tifffile")  # installed with scikit-image
        values = astronaut16[:, :48] if square else astronaut16
        rgba = np.dstack([values, values[..., 1]])
        path = tmp_path / "o16.tif"
        tag = (274, "H", 1, orientation, True)
        tifffile.imwrite(path, rgba, photometric="rgb", extrasamples=[2], extratags=[tag])

        decoded = read_image(path)
        expected = UPRIGHT[orientation](values)
        assert image_size(path) == expected.shape[:2]
        np.testing.assert_array_equal(np.rint(decoded.pixels * 65535), expected)
        np.testing.assert_array_equal(np.rint(decoded.alpha * 65535), expected[..., 1])


class TestReadErrors:
    def test_missing_file(self, tmp_path):
        with pytest.raises(ImageReadError, match=r"missing\.png: file not found"):
            read_image(tmp_path / "missing.png")

    @pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif", ".webp", ".bmp"])
    def test_truncated_file_is_named_with_what_to_do(self, tmp_path, coffee, suffix):
        path = tmp_path / f"cut{suffix}"
        Image.fromarray(coffee).save(path)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

        with pytest.raises(ImageReadError, match=f"cut\\{suffix}") as caught:
            read_image(path)
        assert caught.value.path == path
        assert "incomplete or damaged" in caught.value.reason
        assert "copy it again" in caught.value.reason

    def test_truncated_16_bit_png(self, tmp_path, astronaut16):
        path = tmp_path / "cut16.png"
        write_image(path, astronaut16 / 65535.0, bit_depth=16)
        path.write_bytes(path.read_bytes()[:200])

        with pytest.raises(ImageReadError, match=r"cut16\.png"):
            read_image(path)

    def test_not_an_image_and_unsupported_format(self, tmp_path, camera):
        (tmp_path / "text.png").write_text("hello, not pixels")
        Image.fromarray(camera).save(tmp_path / "anim.png", format="GIF")

        for name in ("text.png", "anim.png"):
            with pytest.raises(ImageReadError, match=f"{name}: not a PNG, JPEG, WebP, TIFF"):
                read_image(tmp_path / name)
            with pytest.raises(ImageReadError, match=name):
                image_size(tmp_path / name)

    def test_an_empty_file_and_a_damaged_header_are_named_as_such(self, tmp_path, camera):
        (tmp_path / "empty.png").write_bytes(b"")
        Image.fromarray(camera).save(tmp_path / "photo.png")
        data = bytearray((tmp_path / "photo.png").read_bytes())
        data[16:24] = b"\xff" * 8  # the size in the header chunk, now past any limit and its CRC
        (tmp_path / "bad_crc.png").write_bytes(bytes(data))
        Image.fromarray(camera).save(tmp_path / "photo.jpg")
        (tmp_path / "cut.jpg").write_bytes((tmp_path / "photo.jpg").read_bytes()[:4])

        for name, reason in (
            ("empty.png", "empty file (0 bytes)"),
            ("bad_crc.png", "damaged PNG file (its header cannot be read)"),
            ("cut.jpg", "damaged JPEG file (its header cannot be read)"),
        ):
            with pytest.raises(ImageReadError) as caught:
                read_image(tmp_path / name)
            assert caught.value.reason == reason, name

    def test_error_is_a_ganrestore_error_that_says_what_to_do(self, tmp_path):
        from ganrestore.errors import GanrestoreError

        with pytest.raises(GanrestoreError, match="remove it from the folder"):
            read_image(tmp_path / "gone.jpg")


class TestReadMask:
    def test_threshold_on_brightest_channel(self, tmp_path):
        values = np.zeros((2, 3, 3), np.uint8)
        values[0, 0] = 127
        values[0, 1] = 128
        values[1, 0] = (200, 0, 0)  # a red pixel is bright enough
        values[1, 2] = 255
        Image.fromarray(values).save(tmp_path / "m.png")

        mask = read_mask(tmp_path / "m.png")
        assert mask.dtype == np.float32
        np.testing.assert_array_equal(mask, [[0, 1, 0], [1, 0, 1]])

    def test_resized_with_nearest_neighbour(self, tmp_path):
        values = np.zeros((4, 4), np.uint8)
        values[:2, :2] = 255
        Image.fromarray(values).save(tmp_path / "m.bmp")

        mask = read_mask(tmp_path / "m.bmp", size=(8, 6))
        assert mask.shape == (8, 6)
        assert set(np.unique(mask)) == {0.0, 1.0}
        assert mask[:4, :3].all() and not mask[4:].any() and not mask[:, 3:].any()


class TestWriteImage:
    def test_clipped_and_rounded_not_truncated(self, tmp_path):
        pixels = np.array([[[-0.5], [0.7 / 255], [0.4 / 255], [254.6 / 255], [1.5]]])
        write_image(tmp_path / "r.png", pixels)

        values = np.asarray(Image.open(tmp_path / "r.png"))
        np.testing.assert_array_equal(values, [[0, 1, 0, 255, 255]])

    def test_creates_parents_and_leaves_no_temporary(self, tmp_path, coffee):
        target = tmp_path / "a" / "b" / "out.png"
        write_image(target, coffee / 255.0)

        assert sorted(p.name for p in target.parent.iterdir()) == ["out.png"]

    def test_failed_encoding_leaves_existing_target_untouched(self, tmp_path, coffee):
        target = tmp_path / "out.jpg"
        write_image(target, coffee / 255.0)
        before = target.read_bytes()

        with pytest.raises(OSError):  # JPEG cannot be 70000 pixels wide
            write_image(target, np.zeros((1, 70000, 1)))
        assert target.read_bytes() == before
        assert [p.name for p in tmp_path.iterdir()] == ["out.jpg"]

    def test_failed_rename_removes_the_temporary(self, tmp_path, coffee):
        (tmp_path / "taken.png").mkdir()  # a folder where the file should go

        with pytest.raises(OSError):
            write_image(tmp_path / "taken.png", coffee / 255.0)
        assert [p.name for p in tmp_path.iterdir()] == ["taken.png"]

    def test_bad_input_rejected_before_touching_disk(self, tmp_path):
        with pytest.raises(ValueError, match="NaN"):
            write_image(tmp_path / "nan.png", np.full((2, 2, 3), np.nan))
        with pytest.raises(ValueError, match=r"\.png"):
            write_image(tmp_path / "out.xyz", np.zeros((2, 2, 3)))
        with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
            write_image(tmp_path / "out.png", np.zeros((2, 2, 4)))
        assert list(tmp_path.iterdir()) == []

    def test_format_overrides_suffix(self, tmp_path, coffee):
        write_image(tmp_path / "out.data", coffee / 255.0, format="png")

        assert read_image(tmp_path / "out.data").format == "PNG"


def test_tensor_array_round_trip(astronaut):
    array = astronaut / np.float32(255)
    tensor = to_tensor(array)

    assert tensor.shape == (3, 48, 64) and tensor.dtype == torch.float32
    assert torch.equal(tensor[:, 5, 7], torch.from_numpy(array[5, 7]))
    back = to_array(tensor)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, array)
