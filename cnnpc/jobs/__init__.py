"""What each command does, as one library call: the stages put together with their storage,
accuracy source and files, and the text they print. Just below the CLI (which only parses and
prints) and above every stage, so a notebook runs exactly what `cnnpc COMMAND` runs.
"""

from __future__ import annotations

from cnnpc.jobs._accuracy import export_accuracies, exported_text, import_accuracies, imported_text
from cnnpc.jobs._certs import cert_set_document, cert_set_text, make_cert_set
from cnnpc.jobs._compress import Compressed, CompressJob, compress
from cnnpc.jobs._db import SchemaState, schema_state, upgrade_schema
from cnnpc.jobs._deploy import Deployed, DeployJob, deploy, plan_set_text, upload_text
from cnnpc.jobs._infer import InferJob, Inferred, infer
from cnnpc.jobs._plan import (
    describe_links,
    plan,
    plan_text,
    profiles,
    profiles_text,
)
from cnnpc.jobs._search import SearchJob, SearchOutcome, progress_bar, search, search_text
from cnnpc.jobs._serve import ServeJob, open_server
from cnnpc.jobs._sweep import SweepJob, max_measurements, sweep, sweep_text
from cnnpc.jobs._upload import UploadJob, keep_of_search, plan_upload

__all__ = [
    "CompressJob",
    "Compressed",
    "DeployJob",
    "Deployed",
    "InferJob",
    "Inferred",
    "SchemaState",
    "SearchJob",
    "SearchOutcome",
    "ServeJob",
    "SweepJob",
    "UploadJob",
    "cert_set_document",
    "cert_set_text",
    "compress",
    "deploy",
    "describe_links",
    "export_accuracies",
    "exported_text",
    "import_accuracies",
    "imported_text",
    "infer",
    "keep_of_search",
    "make_cert_set",
    "max_measurements",
    "open_server",
    "plan",
    "plan_set_text",
    "plan_text",
    "plan_upload",
    "profiles",
    "profiles_text",
    "progress_bar",
    "schema_state",
    "search",
    "search_text",
    "sweep",
    "sweep_text",
    "upgrade_schema",
    "upload_text",
]
