"""`cnnpc._images` gives TensorFlow's pixels without TensorFlow: the bilinear resize bit for bit
(random images, the digits, up and down, non-square, 1/3/4 channels), the decoder's uint8 pixels
for PNG, BMP, GIF and WebP, JPEG as TF's accurate IDCT, and `read_images` the model input the old
TensorFlow path gave, after quantisation too."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from cnnpc._images import decode_image, read_images, resize_bilinear
from cnnpc._keras import tf
from cnnpc.errors import InputError
from cnnpc.records import TensorSpec
from cnnpc.runtime import quantize

REPO = Path(__file__).resolve().parents[2]
SIZES = [
    ((8, 8), (32, 32)),
    ((8, 8), (224, 224)),
    ((8, 8), (9, 9)),
    ((8, 8), (5, 5)),
    ((32, 32), (7, 7)),
    ((37, 53), (224, 224)),
    ((224, 224), (32, 32)),
    ((100, 80), (33, 47)),
    ((3, 3), (17, 3)),
    ((1, 1), (5, 5)),
    ((64, 64), (64, 64)),
    ((199, 301), (96, 96)),
]


def _tf_resize(x, height, width):
    return tf.image.resize(x, (height, width), method="bilinear").numpy()


@pytest.mark.parametrize(("source", "target"), SIZES)
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_resize_is_tensorflows_bit_for_bit(source, target, channels):
    rng = np.random.default_rng(sum(source) * 7 + sum(target) + channels)
    unit = rng.random((2, *source, channels), dtype=np.float32)
    raw = rng.integers(0, 256, (2, *source, channels)).astype(np.uint8)
    for x in (unit, raw, unit[0]):
        ours, theirs = resize_bilinear(x, *target), _tf_resize(x, *target)
        assert ours.dtype == theirs.dtype == np.float32
        assert ours.shape == theirs.shape
        assert ours.tobytes() == theirs.tobytes(), float(np.abs(ours - theirs).max())


def test_resize_of_the_digits_is_tensorflows_bit_for_bit():
    images = (load_digits().images.astype(np.float32) / 16.0)[..., np.newaxis]
    for size in (8, 16, 32, 64, 96, 224):
        assert (
            resize_bilinear(images, size, size).tobytes()
            == _tf_resize(images, size, size).tobytes()
        )


def _smooth(rng, height, width, channels):
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack(
        [x * 255 // (width - 1), y * 255 // (height - 1), (x + y) * 3 % 256, x * y % 256]
    )
    noise = rng.integers(0, 40, (height, width, channels))
    return np.clip(np.moveaxis(base[:channels], 0, -1) + noise, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """One file per format and colour mode, written by Pillow (and TF for 16-bit RGB PNG)."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(1)
    rgb, rgba, grey = (
        _smooth(rng, 37, 53, 3),
        _smooth(rng, 37, 53, 4),
        _smooth(rng, 37, 53, 1)[..., 0],
    )
    made = {
        "rgb.png": (Image.fromarray(rgb), {}),
        "rgba.png": (Image.fromarray(rgba), {}),
        "grey.png": (Image.fromarray(grey), {}),
        "grey_alpha.png": (Image.fromarray(np.stack([grey, grey[::-1]], -1), "LA"), {}),
        "palette.png": (Image.fromarray(rgb).quantize(64), {}),
        "palette_trns.png": (Image.fromarray(rgb).quantize(16), {"transparency": 3}),
        "rgb_trns.png": (Image.fromarray(rgb), {"transparency": (10, 20, 30)}),
        "one_bit.png": (Image.fromarray(grey > 128), {}),
        "grey16.png": (Image.fromarray(grey.astype(np.uint16) * 257 + 99), {}),
        "rgb.bmp": (Image.fromarray(rgb), {}),
        "rgba.bmp": (Image.fromarray(rgba), {}),
        "grey.bmp": (Image.fromarray(grey), {}),
        "first_frame.gif": (Image.fromarray(rgb).quantize(64), {}),
        "transparent.gif": (Image.fromarray(rgb).quantize(32), {"transparency": 2}),
    }
    paths = {}
    for name, (image, options) in made.items():
        image.save(root / name, **options)
        paths[name] = root / name
    for channels in (3, 4):  # 16-bit colour: TF writes it, Pillow cannot
        wide = rng.integers(0, 65536, (19, 23, channels)).astype(np.uint16)
        paths[f"rgb16_{channels}.png"] = root / f"rgb16_{channels}.png"
        paths[f"rgb16_{channels}.png"].write_bytes(tf.io.encode_png(wide).numpy())
    for subsampling in (0, 1, 2):
        for quality in (50, 95):
            name = f"q{quality}_ss{subsampling}.jpg"
            Image.fromarray(rgb).save(root / name, quality=quality, subsampling=subsampling)
            paths[name] = root / name
    Image.fromarray(rgb).save(root / "lossless.webp", lossless=True)
    Image.fromarray(rgb).save(root / "lossy.webp", quality=80)
    paths |= {"lossless.webp": root / "lossless.webp", "lossy.webp": root / "lossy.webp"}
    Image.fromarray(rgb).save(root / "progressive.jpg", quality=80, progressive=True)
    Image.fromarray(grey).save(root / "grey.jpg", quality=80)
    paths |= {"progressive.jpg": root / "progressive.jpg", "grey.jpg": root / "grey.jpg"}
    frames = [Image.fromarray(rgb).quantize(32), Image.fromarray(rgb[::-1]).quantize(32)]
    frames[0].save(root / "animated.gif", save_all=True, append_images=frames[1:])
    paths["animated.gif"] = root / "animated.gif"
    return paths


def _tf_decode(path, **jpeg):
    raw = tf.io.read_file(str(path))
    if jpeg:
        return tf.io.decode_jpeg(raw, channels=3, **jpeg).numpy()
    return tf.io.decode_image(raw, channels=3, expand_animations=False).numpy()


def test_png_bmp_gif_and_webp_decode_to_tensorflows_pixels(files):
    exact = [name for name in files if not name.endswith(".jpg")]
    assert len(exact) == 19
    for name in exact:
        ours, theirs = decode_image(files[name]), _tf_decode(files[name])
        assert ours.dtype == theirs.dtype == np.uint8 and ours.shape == theirs.shape, name
        assert ours.tobytes() == theirs.tobytes(), name


def test_jpeg_is_tensorflows_accurate_idct_not_its_fast_default(files):
    """Pillow's libjpeg-turbo has only the accurate IDCT; decode_image uses INTEGER_FAST."""
    jpegs = [name for name in files if name.endswith(".jpg")]
    assert len(jpegs) == 8
    for name in jpegs:
        ours = decode_image(files[name])
        assert ours.tobytes() == _tf_decode(files[name], dct_method="INTEGER_ACCURATE").tobytes()
        fast = _tf_decode(files[name]).astype(int)
        assert 0 < np.abs(ours.astype(int) - fast).max() <= 5, name


def test_a_file_that_is_no_image_is_refused_by_name(tmp_path):
    for name, content in (("text.png", b"not an image"), ("cut.png", b"\x89PNG\r\n\x1a\n")):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(InputError, match=f"{name}: cannot read it as an image"):
            read_images([tmp_path / name], 32)
    with pytest.raises(InputError, match="cannot read it as an image"):
        read_images([tmp_path / "missing.png"], 32)
    size = struct.pack(">IIBBBBB", 20_000, 20_000, 8, 2, 0, 0, 0)  # 400 M pixels: refused unread
    chunks = [(b"IHDR", size), (b"IDAT", zlib.compress(bytes(64))), (b"IEND", b"")]
    (tmp_path / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"".join(map(_chunk, chunks)))
    with pytest.raises(InputError, match=r"bomb\.png: cannot read it as an image: Image size"):
        read_images([tmp_path / "bomb.png"], 32)


def _chunk(kind_data):
    kind, data = kind_data
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _old_read_images(paths, size):
    """`read_images` as it was, in TensorFlow: the reference."""
    images = []
    for path in paths:
        image = tf.io.decode_image(tf.io.read_file(str(path)), channels=3, expand_animations=False)
        resized = tf.image.resize(tf.cast(image, tf.float32) / 255.0, (size, size))
        images.append(np.clip(resized.numpy(), 0.0, 1.0))
    return np.stack(images).astype(np.float32)


def test_read_images_is_the_tensorflow_input_and_quantises_alike(files, tmp_path):
    """Digits written as PNG and the exact formats, at sizes up and down: the float input is
    TF's bit for bit, so the int8 tensor an end part takes is too."""
    digits = load_digits().images[:20]
    paths = []
    for i, image in enumerate(digits):
        paths.append(tmp_path / f"digit{i}.png")
        Image.fromarray((image * 255 / 16).astype(np.uint8)).save(paths[-1])
    paths += [files[n] for n in files if not n.endswith(".jpg")]
    spec = TensorSpec((1, 32, 32, 3), "int8", 1 / 255, -128)
    for size in (7, 32, 64, 224):
        ours, theirs = read_images(paths, size), _old_read_images(paths, size)
        assert ours.dtype == np.float32 and ours.tobytes() == theirs.tobytes(), size
        if size == 32:
            assert quantize(ours, spec).tobytes() == quantize(theirs, spec).tobytes()


def test_reading_images_imports_no_tensorflow(files):
    code = (
        "import sys\nfrom pathlib import Path\nfrom cnnpc._images import read_images\n"
        "x = read_images([Path(p) for p in sys.argv[1:]], 32)\n"
        "print(x.shape, sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'sklearn'}))"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    argv = [sys.executable, "-c", code, str(files["rgb.png"]), str(files["q50_ss2.jpg"])]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.stdout.strip() == "(2, 32, 32, 3) []", done.stderr[-2000:]
