"""Images without TensorFlow: decode a file to RGB bytes and resize bilinearly, in numpy.

Every image cnnpc resizes goes through `resize_bilinear` (the digits workload, `cnnpc infer`'s
files, the deployment search's probe images; only a training folder, `--data DIR`, is read by
Keras' directory loader, on the workstation), and every file `cnnpc infer` reads through
`read_images`, so the runtime-only install (no TensorFlow) feeds a plan the pixels the workstation
does. `resize_bilinear` is TensorFlow's `tf.image.resize(..., method="bilinear")` (half-pixel
centres, no antialiasing) written out in float32 in the same order of operations as its CPU kernel
(tensorflow/core/kernels/image/resize_bilinear_op.cc: `compute_interpolation_weights`, then
`compute_lerp`), so the result is bit for bit TensorFlow's (tests/workloads/test_images.py).

Files are decoded with Pillow and converted as `tf.io.decode_image(..., channels=3)` does (see
`_rgb`). PNG (8 and 16 bit, grey, alpha, palette), 24/32-bit BMP, GIF and WebP give TensorFlow's
pixels exactly (a WebP with alpha or animation, which TensorFlow refuses at 3 channels, gives its
first frame without alpha). Two formats differ, on purpose: JPEG is decoded with libjpeg's accurate
integer IDCT (Pillow offers no other), which equals TensorFlow's `dct_method="INTEGER_ACCURATE"`
exactly but not `decode_image`'s default INTEGER_FAST (up to 5 levels in 255 apart); an 8-bit
palette BMP gets its palette's colours, where TensorFlow's BMP decoder returns the palette indices
as grey.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from cnnpc.errors import InputError

if TYPE_CHECKING:
    from PIL.Image import Image as PilImage

IMAGE_FORMATS = ("PNG", "BMP", "JPEG", "GIF", "WEBP")
"""What `tf.io.decode_image` reads, by content (not by suffix), and so what cnnpc reads."""


_Weights = tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float32]]


def _interpolation(in_size: int, out_size: int) -> _Weights:
    """Per output index: the lower and upper source index and the weight of the upper one."""
    scale = np.float32(in_size) / np.float32(out_size)
    centre = (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    floor = np.floor(centre)
    lower = np.maximum(floor.astype(np.intp), 0)
    upper = np.minimum(np.ceil(centre).astype(np.intp), in_size - 1)
    return lower, upper, (centre - floor).astype(np.float32)


_CHUNK = 1 << 22
"""Output values computed at once (16 MiB per float32 temporary): bounds a batch's memory."""


def resize_bilinear(
    images: npt.NDArray[np.floating] | npt.NDArray[np.integer], height: int, width: int
) -> npt.NDArray[np.float32]:
    """`images` (..., H, W, C) at `height` x `width`, as float32: TensorFlow's bilinear resize."""
    pixels = np.asarray(images).astype(np.float32, copy=False)
    if pixels.ndim < 3:
        raise ValueError(f"expected (..., height, width, channels), got shape {pixels.shape}")
    rows = _interpolation(pixels.shape[-3], height)
    columns = _interpolation(pixels.shape[-2], width)
    flat = pixels.reshape(-1, *pixels.shape[-3:])
    out = np.empty((len(flat), height, width, pixels.shape[-1]), dtype=np.float32)
    step = max(1, _CHUNK // out[0].size) if out.size else 1
    for start in range(0, len(flat), step):
        out[start : start + step] = _lerp(flat[start : start + step], rows, columns)
    return out.reshape(*pixels.shape[:-3], height, width, pixels.shape[-1])


def _lerp(
    pixels: npt.NDArray[np.float32], rows: _Weights, columns: _Weights
) -> npt.NDArray[np.float32]:
    """TensorFlow's `compute_lerp`: along the row, then between the two rows, in float32."""
    y_lower, y_upper, y_lerp = rows
    x_lower, x_upper, x_lerp = columns
    top, bottom = pixels[:, y_lower], pixels[:, y_upper]
    x_weight = x_lerp[:, np.newaxis]
    top_left, top_right = top[:, :, x_lower], top[:, :, x_upper]
    bottom_left, bottom_right = bottom[:, :, x_lower], bottom[:, :, x_upper]
    upper_row = top_left + (top_right - top_left) * x_weight
    lower_row = bottom_left + (bottom_right - bottom_left) * x_weight
    out: npt.NDArray[np.float32] = upper_row + (lower_row - upper_row) * y_lerp[:, None, None]
    return out


def decode_image(path: Path) -> npt.NDArray[np.uint8]:
    """The file's first frame as (H, W, 3) uint8 RGB, as `tf.io.decode_image(channels=3)` gives."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path, formats=IMAGE_FORMATS) as image:
            image.seek(0)
            pixels = _rgb(image)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, EOFError):
        raise InputError(f"{path}: cannot read it as an image") from None
    except Image.DecompressionBombError as exc:  # over twice Pillow's pixel bound (89 M)
        raise InputError(f"{path}: cannot read it as an image: {exc}") from None
    return pixels


def _rgb(image: PilImage) -> npt.NDArray[np.uint8]:
    """TensorFlow's conversions: grey repeated, alpha dropped (not composited), 16-bit samples
    cut to their high byte (libpng's strip_16), a GIF's transparent pixels black."""
    if image.format == "GIF":  # TF's GIF decoder leaves transparent pixels 0
        rgba = np.asarray(image.convert("RGBA"), dtype=np.uint8)
        pixels = np.where(rgba[..., 3:] == 0, np.uint8(0), rgba[..., :3])
    elif image.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit grey PNG
        pixels = (np.asarray(image).astype(np.uint32) >> 8).astype(np.uint8)
    elif image.mode in ("RGB", "L"):
        pixels = np.asarray(image, dtype=np.uint8)
    elif image.mode in ("RGBA", "LA"):
        pixels = np.asarray(image, dtype=np.uint8)[..., :-1]
    else:  # palette, 1-bit, CMYK
        pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)
    if pixels.ndim == 2:
        pixels = pixels[..., np.newaxis]
    if pixels.shape[-1] == 1:
        pixels = np.repeat(pixels, 3, axis=-1)
    return np.ascontiguousarray(pixels)


def read_images(paths: Sequence[Path], size: int) -> npt.NDArray[np.float32]:
    """Image files as RGB in [0, 1] at `size` x `size` (what a deployed plan's input takes)."""
    images = []
    for path in paths:
        scaled = decode_image(Path(path)).astype(np.float32) / np.float32(255.0)
        images.append(np.clip(resize_bilinear(scaled, size, size), 0.0, 1.0))
    return np.stack(images).astype(np.float32)
