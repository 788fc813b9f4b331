"""make_noisy_blobs: any number of features, blobs counted in all or per
class, the published settings (tests of the original 2-D behaviour are in
test_experiments.py)."""

import hashlib
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans

from iwkmeans.experiments import datasets
from iwkmeans.experiments.datasets import make_noisy_blobs


def digest(arrays):
    """SHA-256 of the arrays' bytes in a fixed byte order."""
    sha = hashlib.sha256()
    for array in arrays:
        sha.update(np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes())
    return sha.hexdigest()[:16]


# Digests of (X, y, noisy) captured from make_noisy_blobs before n_features,
# n_blobs and noisy_blobs_fraction existed: its 2-D output must not change.
BEFORE = [
    (dict(random_state=0), "9535ce2476d3f3db"),
    (  # the demo's data set
        dict(n_samples=2000, n_classes=10, noise_fraction=0.5, blobs_per_class=5, random_state=0),
        "3d751c8a4968779c",
    ),
    (dict(n_samples=240, n_classes=3, blobs_per_class=2, random_state=0), "4eefa3f58c6d4d16"),
    (
        dict(n_samples=1000, n_classes=4, noise_fraction=0.3, blobs_per_class=3, random_state=7),
        "85943bf9be65bed8",
    ),
    (
        dict(n_samples=50, n_classes=2, noise_fraction=0.0, blobs_per_class=1, random_state=3),
        "1aa8bd250fce476a",
    ),
]


@pytest.mark.parametrize("kwargs, expected", BEFORE)
def test_two_dimensional_output_unchanged_bit_for_bit(kwargs, expected):
    assert digest(make_noisy_blobs(**kwargs)) == expected


def blob_structure(X, y, noisy, n_blobs):
    """Cluster the samples into their blobs (they are far apart) and return,
    per blob, its size, whether it is noisy and its labels."""
    labels = KMeans(n_blobs, n_init=3, random_state=0).fit_predict(X)
    blobs = []
    for b in range(n_blobs):
        members = labels == b
        # A blob is entirely clean or entirely noisy.
        assert np.all(noisy[members]) or not np.any(noisy[members])
        blobs.append((int(members.sum()), bool(noisy[members][0]), set(y[members].tolist())))
    return blobs


def test_published_high_dimensional_setting():
    X, y, noisy = make_noisy_blobs(
        3000,
        10,
        n_features=40,
        n_blobs=90,
        noisy_blobs_fraction=1 / 3,
        noise_fraction=1 / 3,
        random_state=0,
    )
    assert X.shape == (3000, 40) and X.dtype == np.float64
    assert y.dtype == np.int64 and noisy.dtype == bool
    assert noisy.sum() == 1000
    # 60 clean blobs, 6 per class, holding 2000 samples: 200 per class.
    np.testing.assert_array_equal(np.bincount(y[~noisy]), np.full(10, 200))
    assert set(np.unique(y[noisy])) <= set(range(10))


def test_high_dimensional_blobs_counts_and_purity():
    # 12 blobs of 50 samples in 40 features, 4 of them noisy.
    X, y, noisy = make_noisy_blobs(
        600,
        3,
        n_features=40,
        n_blobs=12,
        noisy_blobs_fraction=1 / 3,
        noise_fraction=1 / 3,
        random_state=1,
    )
    blobs = blob_structure(X, y, noisy, 12)
    assert sorted(size for size, _, _ in blobs) == [50] * 12
    assert sum(is_noisy for _, is_noisy, _ in blobs) == 4
    for _, is_noisy, labels in blobs:
        assert len(labels) <= 2 if is_noisy else len(labels) == 1
    # The 8 clean blobs go to the 3 classes in turn: 3, 3 and 2 blobs.
    clean_classes = sorted(next(iter(labels)) for _, n, labels in blobs if not n)
    assert clean_classes == [0, 0, 0, 1, 1, 1, 2, 2]


def test_two_class_toy():
    X, y, noisy = make_noisy_blobs(
        300, 2, n_blobs=6, noisy_blobs_fraction=1 / 3, noise_fraction=1 / 3, random_state=0
    )
    assert X.shape == (300, 2) and noisy.sum() == 100
    blobs = blob_structure(X, y, noisy, 6)
    assert sorted(size for size, _, _ in blobs) == [50] * 6
    assert sum(is_noisy for _, is_noisy, _ in blobs) == 2
    # With two classes, every noisy blob mixes both (100 samples: each
    # label drawn at random, so both occur).
    for _, is_noisy, labels in blobs:
        assert labels == {0, 1} if is_noisy else len(labels) == 1


def test_blobs_are_at_least_six_apart():
    # One clean blob per class, so the class means estimate the centers; the
    # grid guarantees CELL - 2 * JITTER = 6 between centers in any number of
    # features.
    for n_features in (1, 3, 25):
        X, y, _ = make_noisy_blobs(
            1200, 12, n_features=n_features, n_blobs=12, noisy_blobs_fraction=0.0,
            noise_fraction=0.0, random_state=n_features,
        )  # fmt: skip
        means = np.array([X[y == c].mean(axis=0) for c in range(12)])
        gaps = np.linalg.norm(means[:, None] - means[None], axis=-1)[np.triu_indices(12, 1)]
        # 100 samples a blob: each mean is within ~0.1 * sqrt(d) of its center.
        assert gaps.min() > 6 - 0.5 * np.sqrt(n_features)


def test_blob_cells_drawn_per_coordinate_are_distinct(monkeypatch):
    # Force the per-coordinate draw on a grid where duplicates are certain
    # (50 cells out of 100): they must be redrawn until all are distinct.
    monkeypatch.setattr(datasets, "MAX_PERMUTED_CELLS", 0)
    cells = datasets._blob_cells(np.random.RandomState(0), 50, 2)
    assert cells.shape == (50, 2)
    assert np.unique(cells, axis=0).shape[0] == 50
    assert cells.min() >= 0 and cells.max() < 10


@pytest.mark.parametrize(("n_cells", "n_features", "side"), [(4, 2, 2), (5, 2, 3), (9, 2, 3),
                                                              (180, 40, 2), (8, 3, 2), (9, 3, 3),
                                                              (7, 1, 7)])  # fmt: skip
def test_grid_side_is_the_smallest_that_holds_the_cells(n_cells, n_features, side):
    assert datasets._grid_side(n_cells, n_features) == side


def test_determinism():
    kwargs = dict(n_features=7, n_blobs=15, noisy_blobs_fraction=0.4)
    first = make_noisy_blobs(400, 3, random_state=5, **kwargs)
    again = make_noisy_blobs(400, 3, random_state=np.random.RandomState(5), **kwargs)
    for array, same in zip(first, again):
        np.testing.assert_array_equal(array, same)
    other = make_noisy_blobs(400, 3, random_state=6, **kwargs)
    assert not np.array_equal(first[0], other[0])


def test_n_blobs_defaults_to_half_noisy():
    _, _, noisy = make_noisy_blobs(400, 2, n_blobs=8, noise_fraction=0.25, random_state=0)
    assert noisy.sum() == 100  # spread over round(0.5 * 8) = 4 noisy blobs


def test_no_noisy_blob_needs_no_noise():
    X, y, noisy = make_noisy_blobs(
        100, 2, n_blobs=4, noisy_blobs_fraction=0.0, noise_fraction=0.0, random_state=0
    )
    assert not noisy.any() and X.shape == (100, 2)


@given(
    n_features=st.integers(1, 6),
    n_classes=st.integers(2, 4),
    n_extra_blobs=st.integers(0, 8),
    noisy_blobs_fraction=st.floats(0.05, 0.9),
    noise_fraction=st.floats(0.0, 0.9),
    seed=st.integers(0, 2**31 - 1),
)
@settings(max_examples=40, deadline=None)
def test_counts_always_hold(
    n_features, n_classes, n_extra_blobs, noisy_blobs_fraction, noise_fraction, seed
):
    n_samples = 120
    n_blobs = 2 * n_classes + n_extra_blobs
    n_noisy_blobs = round(noisy_blobs_fraction * n_blobs)
    if n_blobs - n_noisy_blobs < n_classes or (n_noisy_blobs == 0 and noise_fraction > 0):
        return  # refused with a ValueError (tested below)
    X, y, noisy = make_noisy_blobs(
        n_samples,
        n_classes,
        n_features=n_features,
        n_blobs=n_blobs,
        noisy_blobs_fraction=noisy_blobs_fraction,
        noise_fraction=noise_fraction,
        random_state=seed,
    )
    assert X.shape == (n_samples, n_features) and np.isfinite(X).all()
    assert noisy.sum() == round(noise_fraction * n_samples)
    np.testing.assert_array_equal(np.unique(y[~noisy]), np.arange(n_classes))
    assert y.min() >= 0 and y.max() < n_classes


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (
            dict(n_blobs=6, blobs_per_class=2),
            ValueError,
            "Give either blobs_per_class (clean blobs per class) or n_blobs",
        ),
        (dict(noisy_blobs_fraction=0.2), ValueError, "noisy_blobs_fraction goes with n_blobs"),
        (
            dict(n_classes=4, n_blobs=6),
            ValueError,
            "n_blobs=6 with noisy_blobs_fraction=0.5 leaves 3 clean blob(s) for 4 classes",
        ),
        (
            dict(n_classes=2, n_blobs=4, noisy_blobs_fraction=0.1),
            ValueError,
            "makes no noisy blob for the 500 noisy samples",
        ),
        (dict(n_blobs=6, noisy_blobs_fraction=1.0), ValueError, "noisy_blobs_fraction == 1.0"),
        (dict(n_blobs=6, noisy_blobs_fraction=-0.1), ValueError, "noisy_blobs_fraction == -0.1"),
        (dict(n_blobs=0), ValueError, "n_blobs == 0, must be >= 1"),
        (dict(n_blobs=6.0), TypeError, "n_blobs must be an instance of int"),
        (dict(n_features=0), ValueError, "n_features == 0, must be >= 1"),
        (dict(n_features=True), TypeError, "n_features must be an integer, not a bool"),
        (
            dict(n_samples=5, n_classes=2, n_blobs=14, noise_fraction=0.0),
            ValueError,
            "n_samples=5 leaves 5 clean samples for 7 clean blobs",
        ),
    ],
)
def test_validation(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        make_noisy_blobs(**kwargs)
