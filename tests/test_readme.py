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
]


@pytest.mark.parametrize("heading", RUNNABLE)
def test_section_runs(heading):
    run_readme_section(heading)
