"""Length-prefixed binary frames over TCP, and the tensors and results they carry.

A frame is a 20-byte header, network byte order::

    magic "CNPC" | version u8 | type u8 | plan u16 | request id u64 | payload length u32

then the payload (`plan`: which plan of a plan set a request runs; 0: the server's only plan).
A reader checks the header before it reads the payload, so a bad magic,
version or type, or a length above the receiver's limit, is refused without allocating it, and
the whole frame must arrive before a deadline (a stalled or trickling sender is dropped).

Payloads: INFER holds a tensor; RESULT a JSON object of timings (u16 length + UTF-8) and a
tensor; ERROR a UTF-8 message. A tensor is dtype u8 | ndim u8 | ndim x u32 dims | raw bytes.
For an edge that receives its parts while it serves: UPLOAD carries a chunk of one part
(`plan`: the segment; payload: offset u64 | bytes), HOLDINGS asks what the edge holds and
STATUS answers (a JSON object: segments installed, bytes held of each part in flight).
"""

from __future__ import annotations

import json
import math
import socket
import struct
import time
from dataclasses import dataclass

import numpy as np

from cnnpc.errors import CnnpcError
from cnnpc.runtime._rpc import Tensor
from cnnpc.runtime._shaper import TokenBucket, send_shaped

MAGIC = b"CNPC"
VERSION = 1
HEADER = struct.Struct("!4sBBHQI")
INFER, RESULT, ERROR = 1, 2, 3
UPLOAD, HOLDINGS, STATUS = 4, 5, 6
TYPES = (INFER, RESULT, ERROR, UPLOAD, HOLDINGS, STATUS)
CHUNK = struct.Struct("!Q")
MAX_DIMS = 8
DTYPE_CODES: dict[int, np.dtype[np.int8 | np.uint8 | np.float32]] = {
    1: np.dtype(np.int8),
    2: np.dtype(np.uint8),
    3: np.dtype("<f4"),
}
CODE_OF = {dtype.name: code for code, dtype in DTYPE_CODES.items()}
MAX_ERROR_TEXT = 1024
MAX_TIMINGS = 32
"""A result's timings: a handful of named components, never an unbounded map."""


class FrameError(CnnpcError):
    """A peer sent something that is not a valid frame (the connection cannot continue)."""


class PayloadError(CnnpcError):
    """A well-framed payload is wrong (the connection may continue after an ERROR reply)."""


class PeerClosed(CnnpcError):
    """The peer closed the connection (cleanly between frames, or mid-frame)."""


@dataclass(frozen=True)
class Frame:
    type: int
    request_id: int
    payload: bytes
    plan: int = 0


def encode_header(frame_type: int, request_id: int, length: int, plan: int = 0) -> bytes:
    return HEADER.pack(MAGIC, VERSION, frame_type, plan, request_id, length)


def send_frame(
    sock: socket.socket,
    frame_type: int,
    request_id: int,
    payload: bytes,
    bucket: TokenBucket | None = None,
    plan: int = 0,
) -> None:
    """Send one frame, shaped by `bucket` if given (header and payload both pay)."""
    header = encode_header(frame_type, request_id, len(payload), plan)
    send_shaped(sock, header + payload, bucket)


def _recv_exactly(sock: socket.socket, n: int, deadline: float | None, started: bool) -> bytes:
    buffer = bytearray(n)
    view = memoryview(buffer)
    got = 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise FrameError("timed out in the middle of a frame")
            sock.settimeout(left)
        try:
            count = sock.recv_into(view[got:], n - got)
        except TimeoutError:
            raise FrameError("timed out in the middle of a frame") from None
        if count == 0:
            raise PeerClosed("closed in the middle of a frame" if started or got else "closed")
        got += count
    return bytes(buffer)


def read_frame(
    sock: socket.socket,
    max_payload: int,
    frame_timeout: float | None,
    idle_timeout: float | None = None,
) -> Frame:
    """Read one frame: wait up to `idle_timeout` for it to start, `frame_timeout` to finish it.

    Raises PeerClosed, FrameError (bad header, oversize, too slow) or TimeoutError (idle).
    """
    sock.settimeout(idle_timeout)
    first = sock.recv(1)
    if not first:
        raise PeerClosed("closed")
    deadline = None if frame_timeout is None else time.monotonic() + frame_timeout
    header = first + _recv_exactly(sock, HEADER.size - 1, deadline, started=True)
    magic, version, frame_type, plan, request_id, length = HEADER.unpack(header)
    if magic != MAGIC:
        raise FrameError(f"bad magic {magic!r}: not a cnnpc frame")
    if version != VERSION:
        raise FrameError(f"unsupported frame version {version} (this peer speaks {VERSION})")
    if frame_type not in TYPES:
        raise FrameError(f"unknown frame type {frame_type}")
    if length > max_payload:
        raise FrameError(f"frame of {length} bytes is over this peer's limit of {max_payload}")
    payload = _recv_exactly(sock, length, deadline, started=True) if length else b""
    return Frame(frame_type, request_id, payload, plan)


def encode_tensor(array: Tensor) -> bytes:
    code = CODE_OF.get(np.dtype(array.dtype).name)
    if code is None or array.ndim > MAX_DIMS:
        raise PayloadError(f"cannot send a {array.dtype} tensor of {array.ndim} dimensions")
    head = struct.pack(f"!BB{array.ndim}I", code, array.ndim, *array.shape)
    data: bytes = np.ascontiguousarray(array, dtype=DTYPE_CODES[code]).tobytes()
    return head + data


def decode_tensor(payload: bytes, offset: int = 0) -> Tensor:
    """The tensor at `offset` of `payload`; it must fill the payload exactly."""
    if len(payload) < offset + 2:
        raise PayloadError("tensor header is truncated")
    code, ndim = payload[offset], payload[offset + 1]
    dtype = DTYPE_CODES.get(code)
    if dtype is None:
        raise PayloadError(f"unknown tensor dtype code {code}")
    if ndim > MAX_DIMS:
        raise PayloadError(f"a tensor of {ndim} dimensions (at most {MAX_DIMS})")
    start = offset + 2 + 4 * ndim
    if len(payload) < start:
        raise PayloadError("tensor shape is truncated")
    shape = struct.unpack_from(f"!{ndim}I", payload, offset + 2)
    expected = math.prod(shape) * dtype.itemsize
    if len(payload) - start != expected:
        raise PayloadError(
            f"tensor {shape} of {dtype.name} needs {expected} bytes, got {len(payload) - start}"
        )
    flat: Tensor = np.frombuffer(payload, dtype=dtype, count=math.prod(shape), offset=start)
    return flat.reshape(shape)


def encode_result(timings: dict[str, float], array: Tensor) -> bytes:
    meta = json.dumps(timings, allow_nan=False).encode()
    return struct.pack("!H", len(meta)) + meta + encode_tensor(array)


def decode_result(payload: bytes) -> tuple[dict[str, float], Tensor]:
    if len(payload) < 2:
        raise PayloadError("result is truncated")
    (size,) = struct.unpack_from("!H", payload)
    try:
        meta = json.loads(payload[2 : 2 + size].decode())
    except (UnicodeDecodeError, ValueError):
        raise PayloadError("result timings are not JSON") from None
    if not isinstance(meta, dict) or len(meta) > MAX_TIMINGS:
        raise PayloadError(f"result timings must be an object of at most {MAX_TIMINGS} numbers")
    for key, value in meta.items():  # names and numbers reach the user's table and JSON
        if not (key.isidentifier() and key.isascii() and len(key) <= 40):
            raise PayloadError("a result timing's name is not a short identifier")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PayloadError("result timings must be numbers")
        if not math.isfinite(value):
            raise PayloadError("result timings must be finite")
    return {str(k): float(v) for k, v in meta.items()}, decode_tensor(payload, 2 + size)


def error_payload(message: str) -> bytes:
    return message.encode("utf-8", "replace")[:MAX_ERROR_TEXT]


def encode_chunk(offset: int, data: bytes | memoryview) -> bytes:
    """An UPLOAD payload: `data` belongs at byte `offset` of its part."""
    return CHUNK.pack(offset) + bytes(data)


def decode_chunk(payload: bytes) -> tuple[int, memoryview]:
    if len(payload) < CHUNK.size:
        raise PayloadError("upload chunk is truncated (no offset)")
    (offset,) = CHUNK.unpack_from(payload)
    return int(offset), memoryview(payload)[CHUNK.size :]


def encode_status(installed: list[int], partial: dict[int, int]) -> bytes:
    body = {"installed": sorted(installed), "partial": {str(k): v for k, v in partial.items()}}
    return json.dumps(body).encode()


def decode_status(payload: bytes) -> tuple[frozenset[int], dict[int, int]]:
    """(segments installed, bytes held of each part in flight) of a STATUS payload."""
    try:
        body = json.loads(payload.decode())
        installed = frozenset(int(k) for k in body["installed"])
        partial = {int(k): int(v) for k, v in body["partial"].items()}
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
        raise PayloadError("status is not the JSON object of an upload edge") from None
    return installed, partial
