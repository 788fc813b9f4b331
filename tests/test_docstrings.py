"""The public API's docstrings pass numpydoc's validation (numpydoc.validate),
with the checks chosen in pyproject.toml's [tool.numpydoc_validation]: one
test per public class, method, property and function. CI runs this file
before the tests.

The public API: the names in ``__all__`` of the public packages, and the
public classes and functions of the documented public modules that have no
``__all__``; for each class, its public methods and properties written in
iwkmeans (inherited ones included: those of a shared base class are
validated once, under the first class that has them), not those that
scikit-learn's base classes and mixins provide (get_params, fit_predict,
set_output, the metadata-routing ``set_*_request``, ...)."""

import importlib
import inspect
import pathlib
import re

import numpydoc.validate
import pytest

try:
    import tomllib
except ImportError:  # Python 3.10: numpydoc and pytest depend on tomli there
    import tomli as tomllib

PYPROJECT = pathlib.Path(__file__).resolve().parent.parent / "pyproject.toml"

# The public packages (their ``__all__``) and the documented modules without
# ``__all__`` (their public classes and functions), with the extra each needs.
MODULES = {
    "iwkmeans": None,
    "iwkmeans.cluster": None,
    "iwkmeans.active": None,
    "iwkmeans.dask": "dask",
    "iwkmeans.experiments": None,
    "iwkmeans.experiments.metrics": None,
    "iwkmeans.experiments.monitor": None,
    "iwkmeans.experiments.stopping": None,
    "iwkmeans.experiments.feasibility": None,
    "iwkmeans.experiments.bias": None,
    "iwkmeans.experiments.ranking": None,
    "iwkmeans.experiments.cache": None,
    "iwkmeans.experiments.datasets": None,
    "iwkmeans.benchmark": None,
    "iwkmeans.active.integrations.skactiveml": "skactiveml",
    "iwkmeans.active.integrations.smalltext": "small_text",
}


def config():
    """The checks to enforce and their per-check overrides, read as
    numpydoc's own hook reads them: ``checks`` (``"all"`` followed by codes
    means every check but those) and ``override_<CODE>``, regular
    expressions that excuse a docstring they match from that check."""
    with open(PYPROJECT, "rb") as file:
        section = tomllib.load(file)["tool"]["numpydoc_validation"]
    checks = numpydoc.validate.get_validation_checks(set(section["checks"]))
    overrides = {
        key.split("_", 1)[1].upper(): re.compile("|".join(patterns))
        for key, patterns in section.items()
        if key.startswith("override_") and patterns
    }
    return checks, overrides


def own(attribute):
    """The function behind a class attribute if it is a public method or
    property written in iwkmeans, else None."""
    function = attribute.fget if isinstance(attribute, property) else attribute
    function = getattr(function, "__func__", function)  # class and static methods
    if inspect.isfunction(function) and function.__module__.startswith("iwkmeans"):
        return function
    return None


def public_names(module_name):
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and (inspect.isclass(value) or inspect.isfunction(value))
            and value.__module__ == module_name
        ]
    # Data (``__version__``, ``PEERS``) has no docstring of its own to check.
    return [
        name
        for name in names
        if inspect.isclass(getattr(module, name)) or inspect.isfunction(getattr(module, name))
    ]


def api():
    """(dotted name, extra) of every object to validate, each object once
    (under the first name found for it)."""
    seen, found = set(), []

    def add(name, obj, extra):
        if id(obj) not in seen:
            seen.add(id(obj))
            found.append((name, extra))

    for module_name, extra in MODULES.items():
        if extra is not None:
            try:
                importlib.import_module(extra)
            except ImportError:  # validated where the extra is installed (CI)
                found.append((module_name, extra))
                continue
        module = importlib.import_module(module_name)
        for name in public_names(module_name):
            obj = getattr(module, name)
            add(f"{module_name}.{name}", obj, extra)
            if not inspect.isclass(obj):
                continue
            for attribute_name in sorted(dir(obj)):
                if attribute_name.startswith("_"):
                    continue
                # The attribute as defined (not as bound), from the class that defines it.
                owner = next(cls for cls in obj.__mro__ if attribute_name in vars(cls))
                attribute = vars(owner)[attribute_name]
                function = own(attribute)
                if function is not None:
                    # Keyed by the function: ``score = staticmethod(margin_score)``
                    # is margin_score, validated once.
                    add(f"{module_name}.{name}.{attribute_name}", function, extra)
    return found


CHECKS, OVERRIDES = config()
API = api()


@pytest.mark.parametrize(("name", "extra"), API, ids=[name for name, _ in API])
def test_docstring(name, extra):
    if extra is not None:
        pytest.importorskip(extra)
    result = numpydoc.validate.validate(name)
    findings = [
        (code, message)
        for code, message in result["errors"]
        if code in CHECKS
        and not (code in OVERRIDES and OVERRIDES[code].search(result["docstring"] or ""))
    ]
    assert not findings, f"{name} ({result['file']}:{result['file_line']}):\n" + "\n".join(
        f"  {code}: {message}" for code, message in findings
    )


def test_the_api_is_covered():
    # A listing that found nothing would make the tests above pass on
    # nothing: the samplers and their methods are in it.
    names = {name for name, _ in API}
    assert {
        "iwkmeans.IncrementalKMeans",
        "iwkmeans.IncrementalKMeans.fit",
        "iwkmeans.IWKMeansSampler",
        "iwkmeans.WKMeansSampler.select_samples",
        "iwkmeans.kmeans_plusplus",
    } <= names
    assert len(API) > 60
    # The checks the public API must pass whatever else is configured.
    assert {"GL08", "PR01", "PR02", "RT01", "YD01"} <= CHECKS
