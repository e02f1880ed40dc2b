"""The split tensor's codec: affine quantization to 1..8 bits (one scale and zero point per
tensor), dense bit packing, optional zstd, and what the planners need to price it.

numpy only (no TensorFlow): the runtime-only install imports it. zstd needs the optional
`zstandard` package (`pip install "cnnpc[codec]"`). The default codec (8 bits, no coder) is the
int8 tensor exactly as plans sent it before codecs existed.
"""

from __future__ import annotations

from cnnpc.codec._codec import (
    CODEC_INSTALL,
    DEFAULT_CODEC,
    ENTROPY_CODERS,
    MAX_BITS,
    MIN_BITS,
    Codec,
    PayloadError,
    parse_bits,
    parse_entropy,
)
from cnnpc.codec._entropy import check_coder, compress, decompress
from cnnpc.codec._pack import Codes, pack, packed_size, unpack
from cnnpc.codec._price import DEFAULT_CHOICE, CodecChoice, CodecMeasure
from cnnpc.codec._quant import Quantized, quantize, requantize, to_int8
from cnnpc.codec._splits import (
    SplitBits,
    format_split_bits,
    parse_split_bits,
    split_bits,
    split_bits_texts,
)
from cnnpc.codec._timing import measure_codec, synthetic_measures
from cnnpc.codec._wire import Encoded, coded_bytes, decode, encode

__all__ = [
    "CODEC_INSTALL",
    "DEFAULT_CHOICE",
    "DEFAULT_CODEC",
    "ENTROPY_CODERS",
    "MAX_BITS",
    "MIN_BITS",
    "Codec",
    "CodecChoice",
    "CodecMeasure",
    "Codes",
    "Encoded",
    "PayloadError",
    "Quantized",
    "SplitBits",
    "check_coder",
    "coded_bytes",
    "compress",
    "decode",
    "decompress",
    "encode",
    "format_split_bits",
    "measure_codec",
    "pack",
    "packed_size",
    "parse_bits",
    "parse_entropy",
    "parse_split_bits",
    "quantize",
    "requantize",
    "split_bits",
    "split_bits_texts",
    "synthetic_measures",
    "to_int8",
    "unpack",
]
