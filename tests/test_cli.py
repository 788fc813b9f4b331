"""The command line and the benchmark report (not the timings themselves)."""
import numpy as np
import pytest

from iwkmeans import benchmark
from iwkmeans.__main__ import main


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "bench" in capsys.readouterr().err


def test_bad_option_is_rejected():
    with pytest.raises(SystemExit):
        main(["bench", "--repeats", "0"])


def test_comparison_row_checks_the_answers(monkeypatch):
    # One small Lloyd case through the real measuring code.
    monkeypatch.setattr(benchmark, "_blobs",
                        lambda n, d, k: np.random.default_rng(0).normal(size=(n, d)))
    runner = benchmark._Runner(n_threads=1, repeats=1, log=lambda line: None)
    rows = list(runner.lloyd(2000, 4, 3, max_iter=3))
    assert [row["dtype"] for row in rows] == ["float32", "float64"]
    for row in rows:
        peer = row["peers"]["scikit-learn"]
        assert peer["rel_inertia_diff"] < 1e-5  # same init, same answer
        assert row["iwkmeans"]["n_iter"] == peer["n_iter"] == 3
    report = benchmark.format_report(rows)
    assert "| Lloyd, per iteration" in report and "OPENBLAS_CORETYPE" in report
