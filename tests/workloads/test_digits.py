"""The embedded digits workload: fixed stratified splits of real images, resized."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from cnnpc.errors import InputError
from cnnpc.workloads import SPLITS, digits, load_workload


@pytest.fixture(scope="module")
def work():
    return digits(24)


def test_split_sizes_shapes_and_pixel_range(work):
    assert [len(work.split(s)) for s in SPLITS] == [1078, 359, 360]
    assert work.classes == tuple("0123456789")
    for name in SPLITS:
        split = work.split(name)
        assert split.x.shape == (len(split), 24, 24, 3)
        assert split.x.dtype == np.float32
        assert split.x.min() >= 0.0 and split.x.max() <= 1.0
        np.testing.assert_array_equal(split.x[..., 0], split.x[..., 2])  # grey in RGB


def test_splits_are_stratified(work):
    for name in SPLITS:
        counts = np.bincount(work.split(name).y, minlength=10)
        share = counts / counts.sum()
        assert np.all(np.abs(share - 0.1) < 0.012), (name, counts)


def test_split_is_fixed_and_fingerprint_tracks_the_data(work):
    again = digits(24)
    np.testing.assert_array_equal(again.test.y, work.test.y)
    assert again.fingerprint == work.fingerprint
    assert digits(24, split_seed=1).fingerprint != work.fingerprint
    assert digits(16).fingerprint != work.fingerprint


def test_resized_images_still_show_the_digits(work):
    """A linear model on the resized pixels reads them well: the data survived resizing."""
    flat = {s: work.split(s).x[..., 0].reshape(len(work.split(s)), -1) for s in ("train", "test")}
    clf = LogisticRegression(max_iter=300).fit(flat["train"], work.train.y)
    assert clf.score(flat["test"], work.test.y) > 0.9


def test_bad_workload_requests():
    with pytest.raises(InputError, match="unknown workload 'mnist'"):
        load_workload("mnist", 32)
    with pytest.raises(InputError, match="at least 8 pixels"):
        digits(4)
    with pytest.raises(InputError, match="unknown split 'dev'"):
        digits(8).split("dev")
