"""The optional lossless coder over packed bytes: zstd through the `zstandard` package.

zstandard is an optional extra (`cnnpc[codec]`): asking for it where it is not installed is one
line saying how to install it. Decoding is bounded by the size the shape and bit width give, so
a hostile payload cannot make the receiver allocate more.
"""

from __future__ import annotations

from types import ModuleType

from cnnpc.codec._codec import CODEC_INSTALL, ENTROPY_CODERS, PayloadError
from cnnpc.errors import InputError

ZSTD_LEVEL = 3
"""zstd's default level: fast enough to run per inference on a phone."""


def _zstd() -> ModuleType:
    try:
        import zstandard
    except ModuleNotFoundError:
        raise InputError(
            f"the zstd entropy coder needs the zstandard package: {CODEC_INSTALL}"
        ) from None
    return zstandard


def check_coder(entropy: str) -> None:
    """Refuse, in one line, a coder that is unknown or not installed here."""
    if entropy not in ENTROPY_CODERS:
        raise InputError(f"unknown entropy coder {entropy!r} (valid: {', '.join(ENTROPY_CODERS)})")
    if entropy == "zstd":
        _zstd()


def compress(packed: bytes, entropy: str) -> bytes:
    """`packed` coded by `entropy` ("none": unchanged)."""
    check_coder(entropy)
    if entropy == "none":
        return packed
    return bytes(_zstd().ZstdCompressor(level=ZSTD_LEVEL).compress(packed))


def decompress(coded: bytes, entropy: str, size: int) -> bytes:
    """The packed bytes of `coded`, which must be exactly `size` long (else PayloadError)."""
    check_coder(entropy)
    packed = coded if entropy == "none" else _unzstd(coded, size)
    if len(packed) != size:
        raise PayloadError(f"the payload decodes to {len(packed)} bytes, expected {size}")
    return packed


def _unzstd(coded: bytes, size: int) -> bytes:
    """One zstd frame that declares `size` bytes and holds nothing after it: a frame that
    declares more is refused before anything is allocated."""
    zstd = _zstd()
    try:
        declared = zstd.get_frame_parameters(coded).content_size
        if declared != size:
            raise PayloadError(f"the zstd payload declares {declared} bytes, expected {size}")
        reader = zstd.ZstdDecompressor().decompressobj()
        packed = bytes(reader.decompress(coded))
    except zstd.ZstdError as exc:
        raise PayloadError(f"not a zstd payload of {size} bytes: {exc}") from None
    if not reader.eof or reader.unused_data:
        raise PayloadError("the zstd payload is cut short or has bytes after its frame")
    return packed
