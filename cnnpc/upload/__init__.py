"""`cnnpc upload-plan`: incremental offloading (IONN) — which parts of a model to upload first."""

from __future__ import annotations

from cnnpc.records import UploadLayout as Layout
from cnnpc.records import UploadStep
from cnnpc.upload._compare import Comparison, compare
from cnnpc.upload._order import LayoutChooser, UploadOrder, upload_order
from cnnpc.upload._params import count_segment_params, load_params, params_csv
from cnnpc.upload._plan import UploadReport, upload_plan
from cnnpc.upload._plot import plot_upload
from cnnpc.upload._text import upload_plan_text

__all__ = [
    "Comparison",
    "Layout",
    "LayoutChooser",
    "UploadOrder",
    "UploadReport",
    "UploadStep",
    "compare",
    "count_segment_params",
    "load_params",
    "params_csv",
    "plot_upload",
    "upload_order",
    "upload_plan",
    "upload_plan_text",
]
