"""The core install works without the ``demo`` extra (matplotlib, tqdm), and
the commands that need it say in one line what to install, before any work.

A missing module is simulated by a ``None`` entry in ``sys.modules``: Python
then raises ModuleNotFoundError for it, as when it is not installed.
"""

import subprocess
import sys
import textwrap

import pytest

from iwkmeans.__main__ import main

DEMO_EXTRA = ("matplotlib", "tqdm")


def _block(monkeypatch, *names):
    for name in names:
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.parametrize("missing", [("tqdm",), ("matplotlib",), DEMO_EXTRA])
def test_demo_without_its_extra_says_what_to_install(missing, monkeypatch, tmp_path, capsys):
    _block(monkeypatch, *missing)
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("iwkmeans demo: error: ")
    assert 'pip install "iwkmeans[demo]"' in err
    for name in DEMO_EXTRA:  # names the missing modules, and only those
        assert (name in err) == (name in missing)
    assert list(tmp_path.iterdir()) == []  # nothing written: no work was done


def test_the_extra_is_checked_before_the_arguments(monkeypatch, tmp_path, capsys):
    # --output's check needs matplotlib (the formats it writes): the missing
    # extra must be reported, not a traceback from that check.
    _block(monkeypatch, "matplotlib")
    assert main(["demo", "--output", str(tmp_path / "curves.svg")]) == 2
    err = capsys.readouterr().err
    assert "iwkmeans[demo]" in err and "--output" not in err


def test_bench_does_not_need_the_extra(monkeypatch):
    _block(monkeypatch, *DEMO_EXTRA)
    from iwkmeans import __main__ as cli

    assert not cli._extra_missing("iwkmeans bench", "bench")


def test_a_broken_install_is_not_reported_as_missing(monkeypatch):
    # tqdm present but failing on one of its own imports: its real error shows.
    from iwkmeans import __main__ as cli

    def broken(name):
        raise ModuleNotFoundError("No module named 'tqdm_dependency'", name="tqdm_dependency")

    monkeypatch.setattr(cli.importlib, "import_module", broken)
    with pytest.raises(ModuleNotFoundError, match="tqdm_dependency"):
        cli._missing_modules(["tqdm"])


def _run_without_extra(code, tmp_path):
    """Run ``code`` in a fresh interpreter in which matplotlib and tqdm cannot
    be imported, from a directory outside the source tree."""
    prelude = f"import sys\nfor name in {DEMO_EXTRA!r}:\n    sys.modules[name] = None\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_core_install_works_and_demo_says_what_to_install(tmp_path):
    # One interpreter for both checks: starting one costs seconds (imports).
    result = _run_without_extra(
        """
        import runpy

        import numpy as np
        from iwkmeans import IncrementalKMeans

        X = np.random.default_rng(0).normal(size=(200, 3))
        km = IncrementalKMeans(3, random_state=0).fit(X, fixed_centers=X[:2])
        assert km.cluster_centers_.shape == (5, 3)
        print("fit ok", flush=True)

        sys.argv = ["iwkmeans", "demo"]  # python -m iwkmeans demo
        runpy.run_module("iwkmeans", run_name="__main__", alter_sys=True)
    """,
        tmp_path,
    )
    assert result.stdout == "fit ok\n", result.stderr
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1
    assert 'pip install "iwkmeans[demo]"' in result.stderr
    assert list(tmp_path.iterdir()) == []
