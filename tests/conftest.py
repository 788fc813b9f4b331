"""Hypothesis profiles and the fixtures that several test files share
(the helpers they share are in _helpers.py)."""

import os

import pytest
from hypothesis import HealthCheck, settings

# Kernels are fast but a fit per example adds up; keep the suite under a minute.
settings.register_profile(
    "default",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("thorough", max_examples=400, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def noisy_blobs():
    """The experiment tests' data set, read-only (see small_noisy_blobs)."""
    # Imported here: conftest then loads without the package, so that a
    # broken import fails the test files that need it, not the collection.
    from _helpers import small_noisy_blobs

    return small_noisy_blobs()


@pytest.fixture
def sync():
    """Dask's single-threaded scheduler, even while a cluster is up."""
    dask = pytest.importorskip("dask")
    with dask.config.set(scheduler="sync"):
        yield
