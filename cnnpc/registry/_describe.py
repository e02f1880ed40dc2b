"""What `cnnpc models show` reports about a model: entry, devices, candidates (no TensorFlow)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from cnnpc.catalog import ModelEntry, model_entry
from cnnpc.profiles import list_profiles, model_tensors, user_profiles
from cnnpc.spaces import load_space


@dataclass(frozen=True)
class CandidateReport:
    name: str
    layer: str
    shape: str
    channels: int
    prunable: bool
    reason: str
    tied_with: tuple[str, ...]
    parts: tuple[int, ...]


@dataclass(frozen=True)
class ModelReport:
    entry: ModelEntry
    devices: tuple[str, ...]
    candidates: tuple[CandidateReport, ...]

    @property
    def prunable(self) -> int:
        return sum(1 for c in self.candidates if c.prunable)

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self.entry),
            "devices": list(self.devices),
            "candidates": [asdict(c) for c in self.candidates],
            "prunable": self.prunable,
        }


def devices_of(name: str) -> tuple[str, ...]:
    """End devices with a profile for model `name`: its own folder's, then user profiles'."""
    own = list_profiles().get(name, [])
    return (*own, *(d for d in user_profiles().get(name, []) if d not in own))


def describe(name: str) -> ModelReport:
    """The registry entry of `name` with its candidates, their tensors and why any is unprunable."""
    entry = model_entry(name)
    space = load_space(name)
    tensors = {t.name: t for t in model_tensors(name)}
    cands = []
    for cand in space.candidates:
        t = tensors.get(cand.name)
        cands.append(
            CandidateReport(
                name=cand.name,
                layer=cand.layers[-1] if cand.layers else "",
                shape=f"{t.height}x{t.width}x{t.channels}" if t is not None else "",
                channels=cand.channels,
                prunable=cand.prunable,
                reason=cand.reason,
                tied_with=tuple(n for n in space.group_of(cand.name) if n != cand.name),
                parts=cand.parts,
            )
        )
    return ModelReport(entry=entry, devices=devices_of(name), candidates=tuple(cands))
