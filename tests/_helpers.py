"""What the test files share: the dtypes under test, one tolerance table,
problem makers, the samplers and every_thread. The NumPy references of the kernels are
in reference.py; the shared fixtures in conftest.py."""

import re
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from sklearn.datasets import make_blobs

from iwkmeans import (
    BadgeSampler,
    ClusteredSampler,
    ClusterMarginSampler,
    CommitteeSampler,
    ConfidenceSampler,
    EntropySampler,
    IWKMeansSampler,
    KCenterGreedySampler,
    KMeansSampler,
    MarginSampler,
    RandomSampler,
    SubmodularSampler,
    TypiClustSampler,
    WKMeansSampler,
)
from iwkmeans._core._kernels import _common
from iwkmeans.experiments.datasets import make_noisy_blobs

DTYPES = (np.float32, np.float64)

# Relative tolerance of a float result computed in another valid order of
# operations than the one it is compared with: the GEMM expansion
# ||x||^2 - 2 <x, c> + ||c||^2 against plain differences, the frame's shift
# and power-of-two scale, sums over other chunks or over CSR rows, another
# library. Also the atol next to it where a value may be near 0 (a center
# coordinate of data of unit spread).
# float32 keeps 24 bits (eps 1.2e-7) and the centers are float64 sums
# rounded once to float32, so equal labels leave a few ulps: the largest
# relative difference the tests meet (measured over test_lloyd, test_sparse,
# test_dask and test_frame, the first two under hypothesis' thorough
# profile) is 1.6e-6, a full fit against scikit-learn's (~13 ulps).
# 1e-4 (~840 ulps) stays 60 times above that for the problems hypothesis
# has not drawn yet. float64: the same reasoning at eps 2.2e-16; the
# largest seen is 1.1e-13, 1e-10 is ~450,000 ulps.
RTOL = {np.float32: 1e-4, np.float64: 1e-10}

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def make_problem(seed, n, d, n_fixed, k, dtype, blobs=False):
    """Data (Gaussian noise, or blobs, on which Lloyd converges in a few
    iterations), integer weights (some zero), ``n_fixed`` fixed centers and
    ``k`` free initial centers taken from distinct samples of positive
    weight."""
    rng = np.random.default_rng(seed)
    if blobs:
        X = make_blobs(n, n_features=d, centers=n_fixed + k, random_state=seed)[0]
        X = X.astype(dtype)
    else:
        X = rng.normal(size=(n, d)).astype(dtype)
    w = rng.integers(0, 4, size=n).astype(dtype)
    w[rng.choice(n, size=k, replace=False)] += 1  # at least k positive
    fixed = rng.normal(size=(n_fixed, d)).astype(dtype)
    init = X[rng.choice(np.flatnonzero(w > 0), size=k, replace=False)]
    return X, w, fixed, init


def two_blobs(dtype=np.float64, offset=0.0, scale=1.0, n=600, seed=0, grid=None):
    """Two unit Gaussian blobs 6 apart, as ``X * scale + offset`` in dtype,
    and the labels (the first n samples, then the next n). With ``grid``,
    the values are first rounded to multiples of it (so that adding an
    offset can be exact)."""
    rng = np.random.default_rng(seed)
    X = np.r_[rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) + [6.0, 0.0]]
    if grid is not None:
        X = np.round(X / grid) * grid
    return (X * scale + offset).astype(dtype), np.repeat([0, 1], n)


def small_noisy_blobs():
    """The experiment tests' data set: 240 samples of 3 classes, two blobs
    per class, some blobs noisy, as (X, y, noisy). Read-only: code under
    test that writes to the user's data fails."""
    X, y, noisy = make_noisy_blobs(240, 3, blobs_per_class=2, random_state=0)
    for array in (X, y, noisy):
        array.setflags(write=False)
    return X, y, noisy


# Sampler factories for the experiment loop: (classifier, batch_size,
# random_state) -> sampler.
def iwkmeans_sampler(c, b, r):
    return IWKMeansSampler(c, b, beta=3, random_state=r, n_threads=1)


def random_sampler(c, b, r):
    return RandomSampler(c, b, random_state=r)


SAMPLERS = [
    RandomSampler,
    ConfidenceSampler,
    MarginSampler,
    EntropySampler,
    KCenterGreedySampler,
    KMeansSampler,
    WKMeansSampler,
    IWKMeansSampler,
    ClusteredSampler,
    SubmodularSampler,
    BadgeSampler,
    CommitteeSampler,
    TypiClustSampler,
    ClusterMarginSampler,
]


def make_pool(seed, n_pool, n_labeled=30, n_features=4):
    """A labeled set with every one of 3 classes in it, and a pool, cut from
    overlapping blobs: (X_labeled, y_labeled, X_pool)."""
    X, y = make_blobs(
        n_samples=n_pool + n_labeled,
        n_features=n_features,
        centers=3,
        cluster_std=3.0,
        random_state=seed,
    )
    # Make sure every class is in the labeled set.
    order = np.argsort(y, kind="stable")
    labeled = np.r_[
        order[:1], order[np.searchsorted(y[order], 1)], order[np.searchsorted(y[order], 2)]
    ]
    rest = np.setdiff1d(np.arange(len(X)), labeled)
    labeled = np.r_[labeled, rest[: n_labeled - 3]]
    pool = rest[n_labeled - 3 :]
    return X[labeled], y[labeled], X[pool]


@contextmanager
def every_thread():
    """The kernels give every chunk of rows a thread of its own, up to
    n_threads, whatever the work and the machine's load: they run small work
    (see MIN_WORK_PER_THREAD and MIN_CHUNKS_PER_THREAD), and any work beside
    busy CPUs or after an idle pause, on fewer threads, where a test that
    results do not depend on the thread count could not fail."""
    previous = _common.work_per_thread(), _common.chunks_per_thread()
    _common.work_per_thread(1)
    _common.chunks_per_thread(1)
    # Not fewer threads because other processes run meanwhile, or because
    # the call follows an idle pause, either.
    aware, idle_rule = _common.load_aware(), _common.after_idle_rule()
    _common.load_aware(False)
    _common.after_idle_rule(False)
    try:
        yield
    finally:
        _common.work_per_thread(previous[0])
        _common.chunks_per_thread(previous[1])
        _common.load_aware(aware)
        _common.after_idle_rule(idle_rule)


@contextmanager
def fused_kernel(enabled):
    """Lloyd passes take the fused kernel where the CPU runs it (enabled) or
    the GEMM paths (not enabled), which CPUs without it always take."""
    previous = _common.fused_kernel()
    _common.fused_kernel(enabled)
    try:
        yield
    finally:
        _common.fused_kernel(previous)


README = Path(__file__).resolve().parents[1] / "README.md"


def run_readme_section(heading):
    """Run the Python blocks of README's section ``heading`` (up to the next
    heading of any level below the title) as written; fails if it has none."""
    text = README.read_text(encoding="utf-8")
    start = text.index(heading + "\n") + len(heading)
    # Up to the next heading (## or deeper; a comment in a block has one #).
    following = re.search(r"\n#{2,6} ", text[start:])
    section = text[start : start + following.start() if following else len(text)]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, f"no Python block under {heading!r}"
    for block in blocks:
        exec(compile(block, f"README.md ({heading})", "exec"), {})
