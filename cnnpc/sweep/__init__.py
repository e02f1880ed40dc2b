"""`cnnpc sweep`: the best plan over a grid of bandwidths (and devices), when to re-partition."""

from __future__ import annotations

from cnnpc.records import DEFAULT_MAX_FINETUNES
from cnnpc.sweep._analysis import Regret, Threshold, crossover
from cnnpc.sweep._grid import parse_bandwidths, parse_devices
from cnnpc.sweep._plot import plot_sweep
from cnnpc.sweep._points import BestAt, SweepPoint, Unverified
from cnnpc.sweep._pricing import ConfigPricing, Priced
from cnnpc.sweep._settings import SweepSettings
from cnnpc.sweep._sweep import SweepResult, run_sweep
from cnnpc.sweep._xlsx import write_sweep_xlsx

__all__ = [
    "DEFAULT_MAX_FINETUNES",
    "BestAt",
    "ConfigPricing",
    "Priced",
    "Regret",
    "SweepPoint",
    "SweepResult",
    "SweepSettings",
    "Threshold",
    "Unverified",
    "crossover",
    "parse_bandwidths",
    "parse_devices",
    "plot_sweep",
    "run_sweep",
    "write_sweep_xlsx",
]
