"""Layer-granularity partitioning (DADS-style): the model's layer DAG, per-layer costs, min cuts.

Importing this package does not import TensorFlow; ``cnnpc.layergraph.generate`` (which writes
the shipped layers.csv files from the Keras models) does.
"""

from __future__ import annotations

from cnnpc.layergraph._costs import LayerCosts, apportion, layer_costs
from cnnpc.layergraph._graph import LayerGraph
from cnnpc.layergraph._planner import (
    LINKS,
    Crossing,
    LayerPlan,
    LayerPlanner,
    layer_plan_report,
    layer_planner_for,
)

__all__ = [
    "LINKS",
    "Crossing",
    "LayerCosts",
    "LayerGraph",
    "LayerPlan",
    "LayerPlanner",
    "apportion",
    "layer_costs",
    "layer_plan_report",
    "layer_planner_for",
]
