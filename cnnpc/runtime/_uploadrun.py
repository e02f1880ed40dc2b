"""Queries issued while the model uploads: the measurement `upload-plan` predicts.

`run_during_upload` starts the client's upload and issues one query per image, the k-th at
k / `query_rate` s after the upload started (back to back without a rate; a query that is late
starts at once), each with the best layout the edge's confirmed parts allow at that moment.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from cnnpc.runtime._part import Image
from cnnpc.runtime._upload import IncrementalClient, UploadEvent, UploadResult


@dataclass(frozen=True)
class UploadRun:
    results: tuple[UploadResult, ...]
    issued_s: tuple[float, ...]
    """When each query was issued, in s from the upload's start."""
    events: tuple[UploadEvent, ...]
    uploaded_s: float | None
    """When the edge confirmed the last part (None: the upload had not finished)."""
    error: str | None

    @property
    def fallbacks(self) -> int:
        return sum(r.fallback for r in self.results)

    def mean_ms(self) -> float:
        return float(np.mean([r.result.timings["total_ms"] for r in self.results]))

    def predicted_mean_ms(self) -> float:
        """The mean of what the chooser predicted for each query's layout."""
        return float(np.mean([r.predicted_ms for r in self.results]))

    def as_dict(self) -> dict[str, Any]:
        by_layout = Counter(r.a for r in self.results)
        return {
            "queries": len(self.results),
            "mean_ms": self.mean_ms() if self.results else None,
            "predicted_mean_ms": self.predicted_mean_ms() if self.results else None,
            "fallbacks": self.fallbacks,
            "queries_per_split": {str(a): c for a, c in sorted(by_layout.items())},
            "uploaded_s": self.uploaded_s,
            "error": self.error,
            "events": [e.__dict__ for e in self.events],
        }


def run_during_upload(
    client: IncrementalClient,
    images: Sequence[Image] | npt.NDArray[np.float32],
    *,
    query_rate: float | None = None,
    wait_upload: float = 0.0,
) -> UploadRun:
    """Upload and query at once (module doc); then wait up to `wait_upload` s for the upload."""
    uploader = client.uploader
    uploader.start()
    start = time.perf_counter()
    results, issued = [], []
    for k, image in enumerate(images):
        if query_rate is not None:
            delay = start + k / query_rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        issued.append(time.perf_counter() - start)
        results.append(client.infer(image))
    uploader.wait(wait_upload)
    installed = [e.time_s for e in uploader.events if e.kind == "installed"]
    finished = (
        uploader.done and uploader.error is None and len(uploader.held) == len(set(uploader.order))
    )
    return UploadRun(
        results=tuple(results),
        issued_s=tuple(issued),
        events=tuple(uploader.events),
        uploaded_s=max(installed) if finished and installed else None,
        error=uploader.error,
    )
