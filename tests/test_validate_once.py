"""Arguments are checked once, at the public entry point: the samplers,
HierarchicalKMeans and the selection functions call the trusted fit
(iwkmeans._core.lloyd_fit) on arrays that are already validated."""

import os
import sys

import numpy as np
import pytest
import sklearn.utils.validation
from sklearn.linear_model import LogisticRegression

import iwkmeans._validation
from iwkmeans import HierarchicalKMeans, IncrementalKMeans, IWKMeansSampler
from iwkmeans._core import _distances

CHECKERS = {
    os.path.abspath(iwkmeans._validation.__file__),
    os.path.abspath(sklearn.utils.validation.__file__),
}


def checks_of(array, call):
    """Names of the checking functions (iwkmeans._validation, and
    scikit-learn's validation module) entered from outside them with
    ``array`` itself among their arguments, while ``call()`` runs."""
    seen = []

    def profile(frame, event, arg):
        if event != "call" or os.path.abspath(frame.f_code.co_filename) not in CHECKERS:
            return
        caller = frame.f_back
        if caller is not None and os.path.abspath(caller.f_code.co_filename) in CHECKERS:
            return  # a check calling another: one check
        if any(value is array for value in frame.f_locals.values()):
            seen.append(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        call()
    finally:
        sys.setprofile(None)
    return seen


def blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = np.r_[rng.normal(size=(n, 4)), rng.normal(size=(n, 4)) + 5.0]
    return X, np.repeat([0, 1], n)


def test_the_probe_sees_checks():
    X, _ = blobs()
    # IncrementalKMeans.fit checks X at its door: the probe sees it.
    assert checks_of(X, lambda: IncrementalKMeans(2, random_state=0).fit(X))


def test_iwkmeans_sampler_checks_the_labeled_set_once_per_selection():
    X, y = blobs()
    sampler = IWKMeansSampler(LogisticRegression(), 5, random_state=0)
    sampler.fit(X[::40], y[::40])
    labeled = sampler.X_labeled_
    checks = checks_of(labeled, lambda: sampler.select_samples(X))
    assert checks == ["check_fixed_centers"]


def test_hierarchical_kmeans_checks_x_once_for_all_levels():
    X, _ = blobs()
    model = HierarchicalKMeans((2, 3, 4), random_state=0)
    checks = checks_of(X, lambda: model.fit(X))
    # The screen for masked arrays and text, then scikit-learn's validation:
    # once each, whatever the number of levels.
    assert sorted(checks) == ["screen_input", "validate_data"]
    assert model.cluster_centers_.shape == (9, 4)


class _CountingCore:
    """The compiled module, with its mean_variance calls counted."""

    def __init__(self, core):
        self._core = core
        self.variance_passes = 0

    def __getattr__(self, name):
        return getattr(self._core, name)

    def mean_variance(self, *args):
        self.variance_passes += 1
        return self._core.mean_variance(*args)


@pytest.mark.parametrize("tol, passes", [(0.0, 0), (1e-4, 1)])
def test_the_variance_pass_runs_only_for_a_positive_tol(monkeypatch, tol, passes):
    counting = _CountingCore(_distances._common)
    monkeypatch.setattr(_distances, "_common", counting)
    X, _ = blobs()
    IncrementalKMeans(2, tol=tol, random_state=0).fit(X)
    assert counting.variance_passes == passes
