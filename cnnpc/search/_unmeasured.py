"""A source that cannot measure a configuration: the trial is recorded as unmeasured.

An accuracy table (cnnpc.accuracy) answers only for the configurations it lists; for any
other it raises `Unmeasured`, and the search records the trial with a reason starting with
UNMEASURED instead of fine-tuning it.
"""

from __future__ import annotations

UNMEASURED = "unmeasured"


class Unmeasured(Exception):
    """The source has no accuracy for this configuration and will not fine-tune one."""
