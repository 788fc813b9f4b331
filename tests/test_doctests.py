"""The examples in the docstrings run, as doctests, against the installed
package (so README's test command checks them too)."""

import doctest
import importlib
import pkgutil

import pytest

import iwkmeans

OPTIONS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
# Modules that need an optional extra are skipped when it is missing.
EXTRAS = {
    "iwkmeans.dask": "dask",
    "iwkmeans.experiments": "matplotlib",
    "iwkmeans.active.integrations.skactiveml": "skactiveml",
    "iwkmeans.active.integrations.smalltext": "small_text",
}

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(iwkmeans.__path__, "iwkmeans.")
    if not info.name.endswith("__main__")
) + ["iwkmeans"]


def examples(name):
    for prefix, extra in EXTRAS.items():
        if name.startswith(prefix):
            pytest.importorskip(extra)
    module = importlib.import_module(name)
    # Only the module's own objects: re-exported names are found in theirs.
    return [test for test in doctest.DocTestFinder().find(module, name) if test.examples]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    for test in examples(name):
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


def test_there_are_examples_to_run():
    # The estimators' docstrings carry examples: a finder that found none
    # would make the test above pass on nothing.
    assert (
        sum(
            len(examples(name))
            for name in ("iwkmeans.cluster._incremental", "iwkmeans.dask._estimator")
        )
        >= 2
    )
