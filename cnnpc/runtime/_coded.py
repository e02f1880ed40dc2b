"""A split tensor at the tiers' boundaries, coded as its link's codec says (issue 22).

The sender codes the int8 tensor its part emits with `cnnpc.codec` (requantized to the link's
bits, packed densely, then its entropy coder), the receiver decodes it back to the int8 tensor in
the link's quantization: exactly the bytes the planners price (`LinkSpec.coded_bytes`, over the
coder's ratio). A default (int8) link sends the raw tensor with no codec field, byte for byte as
before codecs existed. A payload that does not decode to its shape and width is a BadTensor
(INVALID_ARGUMENT): one request refused, the server keeps serving.
"""

from __future__ import annotations

import time

import numpy as np

from cnnpc.codec import DEFAULT_CODEC, Codec, Encoded, decode, encode
from cnnpc.errors import InputError
from cnnpc.records import TensorSpec
from cnnpc.runtime._rpc import BadTensor, Tensor, from_message, to_message
from cnnpc.runtime.proto import cnnpc_tier_pb2 as pb

ENTROPY_CODES: dict[str, pb.Entropy.ValueType] = {"none": pb.ENTROPY_NONE, "zstd": pb.ZSTD}
ENTROPY_NAMES = {code: name for name, code in ENTROPY_CODES.items()}


def message_codec(message: pb.Tensor) -> Codec:
    """The codec a Tensor message says its data is in (DEFAULT_CODEC: none, the raw bytes)."""
    if not message.HasField("codec"):
        return DEFAULT_CODEC
    name = ENTROPY_NAMES.get(message.codec.entropy)
    if name is None:
        raise BadTensor(f"unknown entropy coder code {message.codec.entropy}")
    try:
        return Codec(int(message.codec.bits), name)
    except InputError as exc:
        raise BadTensor(f"unknown codec: {exc}") from None


def send(
    x: Tensor, spec: TensorSpec | None, codec: Codec = DEFAULT_CODEC
) -> tuple[pb.Tensor, float]:
    """`x` (quantized as `spec`) as the message a link with `codec` carries, and the encode ms
    (0 for the default codec, which sends the raw tensor)."""
    if codec.is_default:
        return to_message(x, spec), 0.0
    if spec is None:
        raise BadTensor(f"a tensor coded as {codec.label} needs its quantization")
    start = time.perf_counter()
    try:
        coded = encode(x, spec.scale, spec.zero_point, codec)
    except InputError as exc:
        raise BadTensor(f"cannot code the tensor as {codec.label}: {exc}") from None
    ms = (time.perf_counter() - start) * 1e3
    message = pb.Tensor(
        dtype=pb.INT8,
        shape=list(x.shape),
        data=coded.payload,
        scale=coded.scale,
        zero_point=coded.zero_point,
        codec=pb.Codec(bits=codec.bits, entropy=ENTROPY_CODES[codec.entropy]),
    )
    return message, ms


def check_coded(message: pb.Tensor, spec: TensorSpec, codec: Codec, what: str = "") -> None:
    """Refuse a message that is not `spec`'s tensor coded as `codec` (its header only: the
    payload is checked where it is decoded)."""
    taker = what or "this tier"
    got = message_codec(message)
    if got != codec:
        raise BadTensor(f"{taker} takes its tensor as {codec.label}, got {got.label}")
    shape = tuple(int(d) for d in message.shape)
    if message.dtype != pb.INT8 or shape != spec.shape:
        raise BadTensor(
            f"{taker} takes int8{list(spec.shape)} coded as {codec.label}, got "
            f"{pb.DType.Name(message.dtype) if message.dtype in pb.DType.values() else '?'}"
            f"{list(shape)}"
        )


def receive(
    message: pb.Tensor, spec: TensorSpec, codec: Codec = DEFAULT_CODEC, what: str = ""
) -> tuple[Tensor, float]:
    """The tensor of `message` as `spec` quantizes it, checked against the link's `codec`, and
    the decode ms (0 for the default codec)."""
    if codec.is_default and not message.HasField("codec"):
        return from_message(message, spec, what), 0.0
    check_coded(message, spec, codec, what)
    scale, zero = float(message.scale), int(message.zero_point)
    if (scale, zero) == (float(np.float32(spec.scale)), spec.zero_point):
        scale = spec.scale  # the link's own quantization, sent as a float32
    start = time.perf_counter()
    try:
        coded = Encoded(message.data, codec, scale, zero)
        x = decode(coded, spec.shape, spec.scale, spec.zero_point)
    except InputError as exc:  # a PayloadError among them
        raise BadTensor(f"{what or 'this tier'}: {exc}") from None
    return x, (time.perf_counter() - start) * 1e3
