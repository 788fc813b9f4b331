"""The command line and the benchmark report (not the timings themselves)."""
import ctypes
import ctypes.util
import importlib.util
import os
import sys

import numpy as np
import pytest

from iwkmeans import benchmark
from iwkmeans.__main__ import main

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="needs /proc/self/status")


def _normal_blobs(monkeypatch):
    monkeypatch.setattr(benchmark.runner, "_blobs",
                        lambda n, d, k: np.random.default_rng(0).normal(size=(n, d)))


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "bench" in capsys.readouterr().err


def test_bad_option_is_rejected():
    with pytest.raises(SystemExit):
        main(["bench", "--repeats", "0"])


def test_comparison_row_checks_the_answers(monkeypatch):
    # One small Lloyd case through the real measuring code, every peer installed.
    _normal_blobs(monkeypatch)
    runner = benchmark._Runner(n_threads=1, repeats=1, log=lambda line: None)
    rows = list(runner.lloyd(2000, 4, 3, max_iter=3))
    assert [row["dtype"] for row in rows] == ["float32", "float64"]
    for row in rows:
        assert "skipped" not in row["peers"]["scikit-learn"]
        for name, peer in row["peers"].items():
            if "skipped" in peer:
                continue
            assert abs(peer["rel_inertia_diff"]) < 1e-5, name  # same init, same answer
            assert row["iwkmeans"]["n_iter"] == peer["n_iter"] == 3, name
    if importlib.util.find_spec("faiss") is not None:
        assert rows[1]["peers"]["faiss"] == {"skipped": benchmark.FLOAT32_ONLY}
    report = benchmark.format_report(rows)
    assert "| Lloyd, per iteration" in report and "OPENBLAS_CORETYPE" in report
    assert "peak MiB" not in report  # memory not measured


def test_peer_that_fails_to_import_is_skipped(monkeypatch):
    def missing():
        raise ImportError("No module named 'nonexistent_kmeans'")

    monkeypatch.setattr(benchmark.peers, "PEERS", (
        benchmark.Peer("scikit-learn", benchmark._sklearn_tasks, "scikit-learn"),
        benchmark.Peer("nonexistent", missing, "nonexistent-kmeans"),
    ))
    _normal_blobs(monkeypatch)
    runner = benchmark._Runner(n_threads=1, repeats=1, log=lambda line: None)
    (row, _) = runner.fit(300, 4, 3)
    reason = "not available (No module named 'nonexistent_kmeans')"
    assert row["peers"]["nonexistent"] == {"skipped": reason}
    assert "speedup" in row["peers"]["scikit-learn"]
    report = benchmark.format_report([row])
    assert f"nonexistent: {reason}" in report
    assert "nonexistent (not installed)" in report  # the header's peer versions


@linux_only
def test_peak_rss_sees_c_malloc_and_numpy():
    # tracemalloc would miss the malloc; the resident high-water mark does not.
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    size = 64 << 20
    with benchmark._PeakRSS() as peak:
        pointer = libc.malloc(size)
        ctypes.memset(pointer, 1, size)  # resident only once touched
        libc.free(pointer)
    assert peak.method == "VmHWM"
    assert 60 <= peak.mib < 100
    with benchmark._PeakRSS() as peak:
        np.ones(size // 8).sum()
    assert 60 <= peak.mib < 100


@linux_only
def test_peak_memory_is_measured_in_fresh_processes(monkeypatch):
    # The whole path on one tiny case: a child process per implementation,
    # the row's fields and the report's columns.
    monkeypatch.setattr(benchmark.peers, "PEERS", (
        benchmark.Peer("scikit-learn", benchmark._sklearn_tasks, "scikit-learn"),
    ))
    runner = benchmark._Runner(n_threads=1, repeats=1, log=lambda line: None, memory=True)
    rows = list(runner.fit(300, 4, 3))
    for row in rows:
        assert row["memory_method"] == "VmHWM"
        assert not any("not measured" in note for note in row["notes"]), row["notes"]
        for result in (row["iwkmeans"], row["peers"]["scikit-learn"]):
            assert 0 <= result["peak_mib"] < 200
    report = benchmark.format_report(rows)
    assert "iwkmeans peak MiB" in report and "scikit-learn peak MiB" in report
    assert "- peak MiB: peak extra resident memory of one call" in report


def test_memory_failure_keeps_the_timings(monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("the process died (exit code 1)")

    monkeypatch.setattr(benchmark.runner, "_peak_extra_mib", fail)
    monkeypatch.setattr(benchmark.peers, "PEERS", ())
    _normal_blobs(monkeypatch)
    runner = benchmark._Runner(n_threads=1, repeats=1, log=lambda line: None, memory=True)
    (row, _) = runner.fit(300, 4, 3)
    assert row["iwkmeans"]["peak_mib"] is None and row["iwkmeans"]["ms"] > 0
    assert any("peak memory of iwkmeans not measured" in note for note in row["notes"])


def test_sklearnex_fallback_is_noted_quietly(capsys):
    import logging

    class Fitted:
        pass

    def fit(X, message):
        logging.getLogger("sklearnex").info(f"sklearn.cluster.KMeans.fit: {message}")
        return Fitted()

    level = logging.getLogger("sklearnex").level
    watch = benchmark._FallbackWatch()
    accelerated = watch.run(lambda X: fit(X, "running accelerated version on CPU"), None)
    fell_back = watch.run(lambda X: fit(X, "fallback to original Scikit-learn"), None)
    assert not hasattr(accelerated, "bench_note")
    assert fell_back.bench_note == "fell back to stock scikit-learn"
    assert capsys.readouterr().err == ""
    assert logging.getLogger("sklearnex").level == level


def test_lloyd_fixed_starts_faiss_from_the_same_centers(monkeypatch):
    faiss = pytest.importorskip("faiss")
    n, n_fixed, k = 5000, 30, 7
    perm = np.empty(n, dtype=np.int32)
    faiss.rand_perm(faiss.swig_ptr(perm), n, benchmark.FAISS_SEED + 1)
    np.testing.assert_array_equal(benchmark._faiss_free_init_rows(n, n_fixed, k),
                                  perm[n_fixed:n_fixed + k])
    _normal_blobs(monkeypatch)
    runner = benchmark._Runner(n_threads=1, repeats=1, log=lambda line: None)
    row32, row64 = runner.lloyd_fixed(n, 4, n_fixed, k, max_iter=3)
    peer = row32["peers"]["faiss"]
    assert peer["n_iter"] == row32["iwkmeans"]["n_iter"] == 3
    assert abs(peer["rel_inertia_diff"]) < 1e-5
    assert row64["peers"]["faiss"] == {"skipped": benchmark.FLOAT32_ONLY}


# --output of demo and bench: checked before any work, one line of error.

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _no_experiment(monkeypatch):
    """Make the demo's experiment and the benchmark fail if they are reached."""
    from iwkmeans import experiments

    def called(*args, **kwargs):
        raise AssertionError("the work ran before the output path was checked")

    monkeypatch.setattr(experiments, "run_demo", called)
    monkeypatch.setattr(benchmark, "run", called)
    monkeypatch.setattr(benchmark, "run_selection", called)


def _fake_demo(monkeypatch, before_plot=lambda: None):
    """A quick run_demo: one line of table, a real matplotlib plot into ``output``."""
    from matplotlib.figure import Figure

    from iwkmeans import experiments

    def run_demo(n_seeds, batch_size, output, extra_samplers=False):
        before_plot()
        fig = Figure()
        fig.add_subplot().plot([0, 1], [0, 1])
        fig.savefig(output)
        return {}, output

    monkeypatch.setattr(experiments, "run_demo", run_demo)
    monkeypatch.setattr(experiments, "format_summary", lambda summary: "| table |\n")


def _assert_one_line_error(err, command, path):
    assert "Traceback" not in err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith(f"iwkmeans {command}: error: "), err
    assert repr(str(path)) in err, err


def _deny_writes(monkeypatch, denied):
    """os.access says ``denied`` is not writable (a chmod does not stop root)."""
    access = os.access

    def fake_access(path, mode, *args, **kwargs):
        if mode & os.W_OK and os.path.abspath(path) == os.path.abspath(denied):
            return False
        return access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", fake_access)


# (case id, how to prepare tmp_path, --output relative to tmp_path or None for
#  "", the path the message names relative to tmp_path)
BAD_OUTPUTS = [
    ("empty path", None, None, None),
    ("existing directory", "mkdir out", "out", "out"),
    ("trailing separator", None, "new" + os.sep, "new" + os.sep),
    ("missing parent directory", None, "missing/curves.png", "missing/curves.png"),
    ("parent is a file", "touch file", "file/curves.png", "file/curves.png"),
    ("read-only parent directory", "deny-dir ro", "ro/curves.png", "ro/curves.png"),
    ("read-only existing file", "deny-file curves.png", "curves.png", "curves.png"),
]
PLOT_ONLY = [
    ("unknown suffix", None, "curves.xyz", "curves.xyz"),
    ("pgf needs LaTeX", None, "curves.pgf", "curves.pgf"),
    ("name ending in a dot", None, "curves.", "curves."),
    ("suffix-less name whose .png is a directory", "mkdir curves.png", "curves",
     "curves.png"),
]


def _prepare(tmp_path, monkeypatch, setup, output, named):
    if setup:
        action, name = setup.split()
        target = tmp_path / name
        if action == "mkdir":
            target.mkdir()
        elif action == "touch":
            target.write_text("")
        elif action == "deny-dir":
            target.mkdir()
            _deny_writes(monkeypatch, target)
        elif action == "deny-file":
            target.write_bytes(b"old")
            _deny_writes(monkeypatch, target)
    if output is None:
        return "", ""
    # Strings, not Paths: a Path would drop a trailing separator.
    return os.path.join(tmp_path, output), os.path.join(tmp_path, named)


OUTPUT_CASES = (
    [pytest.param("demo", *case, id=f"demo, {case[0]}") for case in BAD_OUTPUTS + PLOT_ONLY]
    + [pytest.param("bench", *case, id=f"bench, {case[0]}") for case in BAD_OUTPUTS]
)


@pytest.mark.parametrize("command, case, setup, output, named", OUTPUT_CASES)
def test_bad_output_fails_fast(command, case, setup, output, named, tmp_path,
                               monkeypatch, capsys):
    _no_experiment(monkeypatch)
    output, named = _prepare(tmp_path, monkeypatch, setup, output, named)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert main([command, "--output", output]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    _assert_one_line_error(err, command, named)
    assert "argument --output" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == files  # nothing written


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into read-only directories")
def test_demo_output_in_a_chmod_read_only_directory(tmp_path, monkeypatch, capsys):
    _no_experiment(monkeypatch)
    directory = tmp_path / "ro"
    directory.mkdir()
    directory.chmod(0o555)
    try:
        assert main(["demo", "--output", str(directory / "curves.png")]) == 2
    finally:
        directory.chmod(0o755)
    _assert_one_line_error(capsys.readouterr().err, "demo", directory / "curves.png")


def test_demo_output_without_suffix_gets_png_and_prints_that_file(tmp_path,
                                                                 monkeypatch, capsys):
    _fake_demo(monkeypatch)
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--output", "curves"]) == 0
    out, err = capsys.readouterr()
    printed = out.splitlines()[-1].removeprefix("Learning curves: ")
    assert printed == str(tmp_path / "curves.png")
    assert os.listdir(tmp_path) == ["curves.png"]
    assert (tmp_path / "curves.png").read_bytes()[:8] == PNG_SIGNATURE
    assert err == ""


@pytest.mark.parametrize("name, signature", [("curves.svg", b"<?xml"),
                                             ("curves.PDF", b"%PDF"),
                                             ("curves.v2.png", PNG_SIGNATURE)])
def test_demo_output_format_follows_the_suffix(name, signature, tmp_path, monkeypatch,
                                               capsys):
    _fake_demo(monkeypatch)
    path = tmp_path / name
    assert main(["demo", "--output", str(path)]) == 0
    assert capsys.readouterr().out.endswith(f"Learning curves: {path}\n")
    assert os.listdir(tmp_path) == [name]
    assert path.read_bytes().startswith(signature)


def test_demo_overwrites_an_existing_file(tmp_path, monkeypatch, capsys):
    _fake_demo(monkeypatch)
    path = tmp_path / "curves.png"
    path.write_bytes(b"old")
    assert main(["demo", "--output", str(path)]) == 0
    assert path.read_bytes()[:8] == PNG_SIGNATURE


def test_demo_output_removed_during_the_run_is_one_line(tmp_path, monkeypatch, capsys):
    # The check passed, then the directory went away: exit 1, the table kept.
    directory = tmp_path / "out"
    directory.mkdir()
    _fake_demo(monkeypatch, before_plot=directory.rmdir)
    path = directory / "curves.png"
    assert main(["demo", "--output", str(path)]) == 1
    out, err = capsys.readouterr()
    assert "| table |" in out and "Learning curves" not in out
    _assert_one_line_error(err, "demo", path)
    assert "No such file or directory" in err


def _fake_bench(monkeypatch, before_report=lambda: None):
    def run(**kwargs):
        before_report()
        return []

    monkeypatch.setattr(benchmark, "run", run)
    monkeypatch.setattr(benchmark, "run_selection", lambda **kwargs: [])
    monkeypatch.setattr(benchmark, "format_report", lambda rows: "# report\n")
    monkeypatch.setattr(benchmark, "format_selection", lambda rows: "selection\n")


def test_bench_output_prints_the_file_written(tmp_path, monkeypatch, capsys):
    _fake_bench(monkeypatch)
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "--output", "report"]) == 0  # no suffix rule for a report
    out, err = capsys.readouterr()
    assert out == "# report\n\nselection\n"
    assert err.splitlines()[-1] == f"Report written to {tmp_path / 'report'}"
    assert (tmp_path / "report").read_text(encoding="utf-8") == out


def test_bench_output_removed_during_the_run_is_one_line(tmp_path, monkeypatch, capsys):
    directory = tmp_path / "out"
    directory.mkdir()
    _fake_bench(monkeypatch, before_report=directory.rmdir)
    path = directory / "report.md"
    assert main(["bench", "--output", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == "# report\n\nselection\n"  # the report is still printed
    _assert_one_line_error(err, "bench", path)


def test_bad_output_from_the_command_line(tmp_path):
    # The real CLI in a subprocess: exit status 2, one line, and no run (fast).
    import subprocess
    import time

    path = tmp_path / "missing" / "curves"
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "iwkmeans", "demo", "--output",
                             str(path)], capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    assert result.returncode == 2
    assert result.stdout == ""
    _assert_one_line_error(result.stderr, "demo", f"{path}.png")
    assert elapsed < 30


def test_output_rules_are_in_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for rule in ("a name without a suffix gets .png appended",
                 "An empty path, an existing directory, an unknown suffix",
                 "reported before the experiment runs", "Exit status"):
        assert rule in help_text
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    assert "reported before the benchmark runs" in " ".join(capsys.readouterr().out.split())
