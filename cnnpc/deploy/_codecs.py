"""The codecs a deployment's links carry: chosen by the planner's price over a `CodecChoice`, with
the entropy coder's ratio measured on the deployed parts themselves.

Why measure here: zstd's ratio depends on the tensors, and the exact tensors a link carries are
only known once the parts are converted. So the parts are run (LiteRT, as the runtime runs them)
on up to RATIO_IMAGES validation images; each split tensor is coded at every width of the
choice; the ratio (packed bytes / coded bytes, summed over the images) prices the choice and is
recorded in plan.json (`LinkSpec.entropy_ratio`), where validate reads the bytes it predicts.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from cnnpc._litert import load_interpreter
from cnnpc.codec import Codec, CodecChoice, CodecMeasure, coded_bytes, decode, encode
from cnnpc.deploy._setcodecs import LINK_OF
from cnnpc.planner import Plan, Planner
from cnnpc.records import KeepConfig, LinkSpec, PartSpec, TensorSpec, split_config

RATIO_IMAGES = 128
"""Calibration images the coder's ratio is measured on: on the test plan, 32 predict the test
images' bytes within 3 %, 128 within 0.5 % (each image costs one run of the parts)."""


def _quantize(x: npt.NDArray[np.float32], spec: TensorSpec) -> npt.NDArray[np.generic]:
    """`x` as `spec`'s tensor (what the runtime's client and servers do at a part's edge)."""
    if spec.dtype == "float32":
        return x.astype(np.float32)
    info = np.iinfo(np.dtype(spec.dtype))
    q = np.round(x / spec.scale) + spec.zero_point
    out: npt.NDArray[np.generic] = np.clip(q, info.min, info.max).astype(spec.dtype)
    return out


def _real(q: npt.NDArray[np.generic], spec: TensorSpec) -> npt.NDArray[np.float32]:
    if spec.dtype == "float32":
        return q.astype(np.float32)
    return ((q.astype(np.float32) - spec.zero_point) * spec.scale).astype(np.float32)


def split_tensors(
    parts: Sequence[PartSpec], files: Mapping[str, bytes], images: npt.NDArray[np.float32]
) -> dict[str, list[npt.NDArray[np.generic]]]:
    """Each part's outputs (by tier) on the first RATIO_IMAGES `images`: the tensors its
    outgoing link carries."""
    loaded = [load_interpreter(files[p.file]) for p in parts]
    out: dict[str, list[npt.NDArray[np.generic]]] = {p.tier: [] for p in parts}
    for image in images[:RATIO_IMAGES]:
        x = image[np.newaxis].astype(np.float32)
        for part, interpreter in zip(parts, loaded, strict=True):
            interpreter.set_tensor(
                interpreter.get_input_details()[0]["index"], _quantize(x, part.input)
            )
            interpreter.invoke()
            q = np.array(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))
            out[part.tier].append(q)
            x = _real(q, part.output)
    return out


def entropy_measures(
    links: Sequence[LinkSpec],
    tensors: Mapping[str, Sequence[npt.NDArray[np.generic]]],
    choice: CodecChoice,
    *,
    timed: bool = False,
) -> tuple[CodecMeasure, ...]:
    """The coder's ratio at every width of `choice` for each split tensor `links` carry (none
    without a coder: the planner then prices bits / 8 alone); `timed`: also each codec's encode
    and decode ms on this host (the median over up to TIMED_IMAGES tensors; int8 as it is: 0)."""
    if choice.entropy == "none" and not timed:
        return ()
    measures = []
    for link in links:
        sent = tensors.get(link.source, [])
        if link.spec.dtype != "int8" or not sent:
            continue
        count = int(np.prod(link.spec.shape))
        for bits in choice.bits:
            codec = Codec(bits, choice.entropy)
            coded = [encode(q, link.spec.scale, link.spec.zero_point, codec) for q in sent]
            ratio = coded_bytes(count, codec) * len(sent) / sum(len(c.payload) for c in coded)
            encode_ms, decode_ms = (
                _codec_ms(sent, link.spec, codec) if timed and not codec.is_default else (0, 0)
            )
            measures.append(
                CodecMeasure(link.tensor, bits, ratio, encode_ms, decode_ms, elements=count)
            )
    return tuple(measures)


TIMED_IMAGES = 32


def _codec_ms(
    sent: Sequence[npt.NDArray[np.generic]], spec: TensorSpec, codec: Codec
) -> tuple[float, float]:
    """Median encode and decode ms of `codec` on `sent` (as the runtime codes them)."""
    encode_ms, decode_ms = [], []
    for q in sent[:TIMED_IMAGES]:
        start = time.perf_counter()
        coded = encode(q, spec.scale, spec.zero_point, codec)
        middle = time.perf_counter()
        decode(coded, spec.shape, spec.scale, spec.zero_point)
        encode_ms.append((middle - start) * 1e3)
        decode_ms.append((time.perf_counter() - middle) * 1e3)
    return float(np.median(encode_ms)), float(np.median(decode_ms))


def with_codecs(
    planner: Planner,
    layout: tuple[int, int],
    keep: Mapping[str, float],
    links: Sequence[LinkSpec],
    tensors: Mapping[str, Sequence[npt.NDArray[np.generic]]],
    choice: CodecChoice,
    *,
    timed: bool = False,
) -> tuple[Plan, list[LinkSpec]]:
    """The plan at `layout` priced with the codecs `choice` allows (each link's codec the
    cheapest, the coder's ratio measured on `tensors`), and `links` carrying them.

    A configuration `keep` that gives a split tensor its own width (``NAME@bits``, a search's
    plan fine-tuned through it) sends that tensor at that width, as the search priced it.
    `timed`: the codecs' encode and decode time on this host is priced too (as a search
    with --bits/--entropy priced it)."""
    widths = set(split_config(keep)[1].values())
    measured = dataclasses.replace(choice, bits=tuple(sorted(widths | set(choice.bits))))
    measures = entropy_measures(links, tensors, measured, timed=timed)
    priced = dataclasses.replace(choice, measures=measures)
    coding = Planner(
        planner.profile, planner.links, planner.conventions, planner.end_memory_mb, priced
    )
    plan = coding.plan(*layout, KeepConfig.from_fractions(planner.profile.space, keep))
    chosen = {c.link: c.codec for c in plan.codecs or ()}
    ratios = {(m.candidate, m.bits): m.ratio for m in measures}
    out = []
    for link in links:
        codec = chosen.get(LINK_OF[link.source], link.codec)
        ratio = ratios.get((link.tensor, codec.bits)) if codec.entropy != "none" else None
        out.append(dataclasses.replace(link, codec=codec, entropy_ratio=ratio))
    return plan, out
