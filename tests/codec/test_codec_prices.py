"""What the planner prices under a codec is what the codec sends; the pricing records' checks;
the codec imports on the runtime-only install."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from no_workstation import REFUSE, REPO

from cnnpc.codec import Codec, CodecChoice, CodecMeasure, encode
from cnnpc.errors import InputError
from cnnpc.planner import planner_for
from cnnpc.records import LinkSpec, TensorSpec


@pytest.mark.parametrize("bits", range(1, 9))
def test_the_bytes_priced_are_the_bytes_sent(bits):
    """Every split of mobilenet, end->edge at `bits`: the planner's bytes against the length of
    the encoded payload (within the last byte's padding) and the plan record's coded bytes."""
    planner = planner_for("mobilenet", "MI8", bandwidth_mbps=10, codecs=CodecChoice((bits,)))
    n = planner.profile.n_segments
    rng = np.random.default_rng(bits)
    for k, tensor in enumerate(planner.profile.candidates, start=1):
        plan = planner.plan(k, n)
        t = planner.profile.boundaries[k]
        shape = (1, t.height, t.width, t.channels)
        ints = rng.integers(-128, 128, size=shape, dtype=np.int8)
        sent = len(encode(ints, 0.1, 0, Codec(bits)).payload)
        priced = plan.breakdown.uplink_bytes
        assert 0 <= sent - priced < 1, tensor.name
        link = LinkSpec("end", "edge", tensor.name, TensorSpec(shape, "int8", 0.1, 0), 10.0, 1e6,
                        Codec(bits))  # fmt: skip
        assert link.coded_bytes == sent == math.ceil(priced)


def test_pricing_records_refuse_bad_values():
    with pytest.raises(InputError, match="repeated"):
        CodecChoice((4, 4))
    with pytest.raises(InputError, match="at least one"):
        CodecChoice(())
    with pytest.raises(InputError, match=r"1\.\.8"):
        CodecChoice((9,))
    with pytest.raises(InputError, match="unknown entropy"):
        CodecChoice((4,), "lz4")
    with pytest.raises(InputError, match="one measure per candidate"):
        CodecChoice((4,), measures=(CodecMeasure("b", 4), CodecMeasure("b", 4, ratio=2.0)))
    for bad in ({"ratio": 0.0}, {"ratio": float("nan")}, {"encode_ms": -1.0}, {"decode_ms": 1e400}):
        with pytest.raises(InputError):
            CodecMeasure("b", 4, **bad)


def test_ratio_applies_with_a_coder_only():
    measured = (CodecMeasure("b", 4, ratio=2.0, encode_ms=1.0, decode_ms=0.5),)
    plain, coded = CodecChoice((4,), "none", measured), CodecChoice((4,), "zstd", measured)
    assert plain.factor("b", Codec(4)) == 0.5 and coded.factor("b", Codec(4, "zstd")) == 0.25
    assert coded.factor("other", Codec(4, "zstd")) == 0.5
    assert plain.codec_ms("b", Codec(4)) == 1.5 and plain.codec_ms("other", Codec(4)) == 0.0
    assert CodecChoice((8, 2, 4)).codecs == (Codec(8), Codec(4), Codec(2))  # widest first


def test_the_codec_runs_on_the_runtime_only_install():
    """No TensorFlow and no zstandard: the codec imports, codes without a coder, and asks for
    zstd in one line."""
    code = (
        REFUSE
        + """
sys.modules["zstandard"] = None
import numpy as np
from cnnpc.codec import Codec, decode, encode
from cnnpc.errors import InputError
ints = np.arange(-10, 11, dtype=np.int8).reshape(1, 3, 7)
back = decode(encode(ints, 0.5, 0, Codec(8)), ints.shape, 0.5, 0)
assert (back == ints).all()
try:
    encode(ints, 0.5, 0, Codec(4, "zstd"))
except InputError as exc:
    print(exc)
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"tensorflow", "scipy", "optuna"})
assert not loaded, loaded
"""
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith('pip install "cnnpc[codec]"')


def test_the_ratio_follows_the_kept_fraction_between_measures():
    """Measured at a quarter and whole, the ratio is interpolated between them and held
    outside; one measure serves every fraction; without a coder it is 1."""
    quarter, whole = CodecMeasure("b", 4, ratio=4.0, kept=0.25), CodecMeasure("b", 4, ratio=8.0)
    choice = CodecChoice((4,), "zstd", measures=(whole, quarter))
    codec = Codec(4, "zstd")
    assert choice.ratio("b", codec, 0.625) == pytest.approx(6.0)
    assert choice.ratio("b", codec, 0.125) == 4.0 and choice.ratio("b", codec) == 8.0
    assert choice.factor("b", codec, 0.25) == pytest.approx(4 / 8 / 4.0)
    single = CodecChoice((4,), "zstd", measures=(quarter,))
    assert single.ratio("b", codec, 1.0) == single.ratio("b", codec, 0.1) == 4.0
    assert choice.ratio("b", Codec(4), 0.25) == 1.0
    timed = CodecChoice(
        (4,),
        "zstd",
        measures=(
            CodecMeasure("b", 4, encode_ms=2.0, elements=1000),
            CodecMeasure("b", 4, encode_ms=1.0, elements=250, kept=0.25),
        ),
    )  # the time of the nearest fraction measured, scaled to the elements priced
    assert timed.codec_ms("b", codec, 500, kept=0.5) == pytest.approx(2.0)
    assert timed.codec_ms("b", codec, 500, kept=0.3) == pytest.approx(2.0)
    assert timed.codec_ms("b", codec, 500, kept=0.8) == pytest.approx(1.0)
    with pytest.raises(InputError, match="kept fraction"):
        CodecMeasure("b", 4, kept=0.0)
    with pytest.raises(InputError, match="one measure per candidate, bit width and kept"):
        CodecChoice((4,), "zstd", measures=(quarter, quarter))


def test_the_planner_prices_a_pruned_split_tensor_at_its_own_ratio():
    """conv1 kept at a quarter is priced with the ratio measured at a quarter, whole with the
    whole tensor's."""
    from cnnpc.planner import Planner
    from cnnpc.records import KeepConfig

    base = planner_for("mobilenet", "MI8", bandwidth_mbps=10)
    measures = (
        CodecMeasure("conv1", 2, ratio=8.0),
        CodecMeasure("conv1", 2, ratio=4.0, kept=0.25),
    )
    choice = CodecChoice((8,), "zstd", measures)
    coded = Planner(base.profile, base.links, base.conventions, base.end_memory_mb, choice)
    space = base.profile.space
    for fraction, ratio in ((0.25, 4.0), (1.0, 8.0)):
        int8 = base.plan(1, 1, KeepConfig.from_fractions(space, {"conv1": fraction}))
        keep = KeepConfig.from_fractions(space, {"conv1": fraction, "conv1@bits": 2})
        plan = coded.plan(1, 1, keep)
        assert plan.breakdown.uplink_bytes == pytest.approx(
            int8.breakdown.uplink_bytes * 2 / 8 / ratio
        )
