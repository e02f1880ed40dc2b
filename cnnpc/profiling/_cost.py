"""HostCostModel: predicted run time of each segment of a pruned model on this machine.

Widths that were timed by ``cnnpc profile`` are answered from the measurements; other widths by
the per-tier regressor, fitted when the profile is loaded (no pickles). Features of a pruned
segment need the pruned Keras model, so those calls import TensorFlow; they are cached.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from cnnpc.errors import InputError, ProfileError
from cnnpc.profiles import TIERS
from cnnpc.profiling._regressor import SegmentRegressor, feature_matrix, fit_tiers
from cnnpc.profiling._store import (
    HOST_DEVICE,
    MEASUREMENTS_SUFFIX,
    Measurement,
    find_user_folder,
    read_measurements,
    read_meta,
)
from cnnpc.records import KeepConfig
from cnnpc.spaces import SearchSpace, load_space

_Key = tuple[int, str, int | None, int | None]


class HostCostModel:
    """Per-segment ms of `model` on this machine for any channel widths at the candidates."""

    def __init__(self, model: str, folder: Path, device: str = HOST_DEVICE) -> None:
        self.model = model
        self.folder = folder
        self.space: SearchSpace = load_space(model)
        meta = read_meta(folder)
        size = meta.get("image_size")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ProfileError(f"{folder}/meta.yaml: image_size: must be a positive integer")
        self.image_size: int = size
        self.measurements: list[Measurement] = read_measurements(
            folder / f"{device}{MEASUREMENTS_SUFFIX}.csv"
        )
        n_segments = len(self.space.candidates) + 1
        bad = [m.segment for m in self.measurements if m.segment >= n_segments]
        if bad:
            raise ProfileError(
                f"{folder}: segment {bad[0]} measured, but {model} has {n_segments} segments"
            )
        regressor = meta.get("regressor")
        chosen = regressor.get("chosen", {}) if isinstance(regressor, Mapping) else {}
        self.chosen: dict[str, str] = {t: str(chosen.get(t, "anchored")) for t in TIERS}
        self.regressors: dict[str, SegmentRegressor] = fit_tiers(self.measurements, self.chosen)
        self.formats: dict[str, str] = {m.tier: m.format for m in self.measurements}
        self._measured: dict[_Key, float] = {
            self._key(m.segment, m.tier, m.in_channels, m.out_channels): m.median_ms
            for m in self.measurements
        }
        self._features: dict[tuple[str, tuple[int, ...]], list[dict[str, float]]] = {}

    @property
    def n_segments(self) -> int:
        return len(self.space.candidates) + 1

    def _key(self, segment: int, tier: str, in_ch: int, out_ch: int) -> _Key:
        # The model's input and its output (classes) never change width.
        last = self.n_segments - 1
        return (segment, tier, None if segment == 0 else in_ch, None if segment == last else out_ch)

    def widths(self, channels: Mapping[str, int]) -> tuple[int, ...]:
        """Kept channels of every candidate (missing names: unpruned), validated (prunability and
        ties: `KeepConfig`)."""
        for name in channels:
            self.space.index(name)
        out = []
        for cand in self.space.candidates:
            count = channels.get(cand.name, cand.channels)
            if isinstance(count, bool) or not isinstance(count, int):
                raise InputError(f"{cand.name}: channel count must be an integer, got {count!r}")
            if not 1 <= count <= cand.channels:
                raise InputError(
                    f"{cand.name}: keeps {count} channels, must be in 1..{cand.channels}"
                )
            out.append(count)
        pruned = zip(self.space.candidates, out, strict=True)
        KeepConfig.from_channels(self.space, {c.name: w for c, w in pruned if w < c.channels})
        return tuple(out)

    def segment_ms(self, tier: str, channels: Mapping[str, int]) -> list[float]:
        """Predicted ms of each segment on `tier` with `channels` kept at the candidates."""
        if tier not in TIERS:
            raise InputError(f"unknown tier {tier!r} (valid: {', '.join(TIERS)})")
        widths = self.widths(channels)
        times: list[float | None] = []
        for k in range(self.n_segments):
            in_ch = widths[k - 1] if k > 0 else 0
            out_ch = widths[k] if k < len(widths) else 0
            times.append(self._measured.get(self._key(k, tier, in_ch, out_ch)))
        if any(t is None for t in times):
            features = self.features(self.formats.get(tier, "int8"), widths)
            regressor = self.regressors[tier]
            predicted = regressor.predict(feature_matrix(features), range(len(times))).tolist()
            times = [p if t is None else t for t, p in zip(times, predicted, strict=True)]
        return [float(t) for t in times if t is not None]

    def features(self, fmt: str, widths: tuple[int, ...]) -> list[dict[str, float]]:
        """FLOPs, params and bytes of each segment of the model pruned to `widths` (cached)."""
        key = (fmt, widths)
        if key not in self._features:
            from cnnpc.profiling._measure import pruned_segments, segment_shape

            fractions = {
                c.name: w / c.channels
                for c, w in zip(self.space.candidates, widths, strict=True)
                if w < c.channels
            }
            segments = pruned_segments(self.model, self.space, self.image_size, fractions)
            shapes = [segment_shape(s, fmt) for s in segments]
            self._features[key] = [
                {
                    "flops": s.flops,
                    "params": s.params,
                    "in_bytes": s.in_bytes,
                    "out_bytes": s.out_bytes,
                }
                for s in shapes
            ]
        return self._features[key]


def host_cost_model(model: str, *, profile_dir: str | Path | None = None) -> HostCostModel:
    """The host cost model of `model` from ``cnnpc profile``'s output.

    `profile_dir` is the model's profile folder or a root holding ``<model>/``; by default the
    user profile roots ($CNNPC_PROFILES, then ./results/profiles) are searched.
    """
    load_space(model)
    folder = find_user_folder(model, HOST_DEVICE, profile_dir)
    if folder is None:
        raise ProfileError(
            f"no host profile for {model}: run 'cnnpc profile --model {model} --device host'"
        )
    return HostCostModel(model, folder)
