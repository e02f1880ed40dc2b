"""Declared versions of the recipes whose results cnnpc caches (baselines, fine-tunes, supernets).

A cache key names what made a result: the recipe's parameters (`Recipe`, `FinetuneBudget`) and
the recipe's version. Until now the version was a hash of the source files, so any edit there
(a comment, a refactor) silently threw away every cached baseline and fine-tune. A version is now
declared: bump it when, and only when, the recipe's behaviour changes. A test trains each recipe
on a tiny model and compares the weights with the fingerprint recorded for its version, so a
change of behaviour without a bump fails (tests/oracle/test_recipes.py).

Version 1 keeps the key the source-hash release computed (`first_key`), so every cache that
release wrote is still read. From version 2 on the key is ``NAME-vN``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RecipeVersion:
    """One recipe's declared version and the text its cache keys carry."""

    name: str
    version: int
    first_key: str = ""
    """Version 1's key: the source hash the release before declared versions computed."""

    def __post_init__(self) -> None:
        if self.version < 1 or not self.name.isidentifier():
            raise ValueError(f"a recipe version needs a name and a version >= 1: {self}")

    @property
    def key(self) -> str:
        """What cache keys carry for this version."""
        if self.version == 1 and self.first_key:
            return self.first_key
        return f"{self.name}-v{self.version}"


BASELINE_RECIPE = RecipeVersion("baseline", 1, first_key="889e87637884")
"""Training a baseline from scratch: the architectures, the workloads' data, `fit`."""
FINETUNE_RECIPE = RecipeVersion("finetune", 1, first_key="02327b1c5551")
"""Pruning a configuration and fine-tuning it (quantization-aware), then measuring it."""
