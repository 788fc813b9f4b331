"""README's runnable sections: their Python blocks run as written (the
adapters' sections run in test_skactiveml.py and test_smalltext.py, where
their libraries are imported or the tests skipped)."""

import pytest

from _helpers import run_readme_section

# Sections whose code is complete (the others show fragments of a loop).
RUNNABLE = [
    "### Cold start",
    "### One call: `query`",
    "### Query by committee",
    "### TypiClust and Cluster-Margin on the package's K-Means",
    "### Stopping criteria",
    "### Will active learning help? The feasibility check",
    "### Is the labeled set biased? The reuse check",
    "### IWKMeans variants",
    "### Any metric: `scoring`",
    "### Ranking methods: Friedman and Nemenyi",
]


@pytest.mark.parametrize("heading", RUNNABLE)
def test_section_runs(heading, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the sections that draw write their pictures here
    run_readme_section(heading)
