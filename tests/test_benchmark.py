"""The benchmark's internals: the runner's rows, the peers, peak memory and
the report (not the timings themselves)."""

import ctypes
import ctypes.util
import importlib.util
import sys

import numpy as np
import pytest

from iwkmeans import benchmark
from iwkmeans.benchmark import cases, memory, peers, timing
from iwkmeans.benchmark import runner as runner_module
from iwkmeans.benchmark.runner import _Runner

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="needs /proc/self/status"
)


@pytest.fixture(autouse=True)
def _no_settling_pause(monkeypatch):
    # These tests check what the runner computes and reports, never a time:
    # the pause before each timed call (0.2 s, against other processes'
    # spinning threads) would only make them slow.
    monkeypatch.setattr(timing, "SETTLE_SECONDS", 0)


def _normal_blobs(monkeypatch):
    monkeypatch.setattr(
        runner_module, "_blobs", lambda n, d, k: np.random.default_rng(0).normal(size=(n, d))
    )


def test_comparison_row_checks_the_answers(monkeypatch):
    # One small Lloyd case through the real measuring code, every peer installed.
    _normal_blobs(monkeypatch)
    runner = _Runner(n_threads=1, repeats=1, log=lambda line: None)
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
        assert rows[1]["peers"]["faiss"] == {"skipped": peers.FLOAT32_ONLY}
    report = benchmark.format_report(rows)
    assert "| Lloyd, per iteration" in report and "OPENBLAS_CORETYPE" in report
    assert "peak MiB" not in report  # memory not measured


def test_slow_rows_time_fewer_calls_and_say_so(monkeypatch):
    # Rows at SLOW_ROW_SAMPLES and beyond take SLOW_ROW_REPEATS timed calls
    # (lowered here so that a small case counts as slow), with a note.
    from iwkmeans.benchmark import runner as runner_module

    monkeypatch.setattr(runner_module, "SLOW_ROW_SAMPLES", 2000)
    monkeypatch.setattr(runner_module, "SLOW_ROW_REPEATS", 2)
    _normal_blobs(monkeypatch)
    slow = _Runner(n_threads=1, repeats=3, log=lambda line: None)
    row = next(slow.lloyd(2000, 4, 3, max_iter=2))
    assert row["repeats"] == 2
    assert "median of 2 timings: one call takes seconds" in row["notes"]
    row = next(slow.lloyd(1999, 4, 3, max_iter=2))
    assert row["repeats"] == 3
    assert not any("median of" in note for note in row["notes"])


def test_peer_that_fails_to_import_is_skipped(monkeypatch):
    def missing():
        raise ImportError("No module named 'nonexistent_kmeans'")

    monkeypatch.setattr(
        peers,
        "PEERS",
        (
            benchmark.Peer("scikit-learn", peers._sklearn_tasks, "scikit-learn"),
            benchmark.Peer("nonexistent", missing, "nonexistent-kmeans"),
        ),
    )
    _normal_blobs(monkeypatch)
    runner = _Runner(n_threads=1, repeats=1, log=lambda line: None)
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
    with memory._PeakRSS() as peak:
        pointer = libc.malloc(size)
        ctypes.memset(pointer, 1, size)  # resident only once touched
        libc.free(pointer)
    assert peak.method == "VmHWM"
    assert 60 <= peak.mib < 100
    with memory._PeakRSS() as peak:
        np.ones(size // 8).sum()
    assert 60 <= peak.mib < 100


@linux_only
def test_peak_memory_is_measured_in_fresh_processes(monkeypatch):
    # The whole path on one tiny case: a child process per implementation,
    # the row's fields and the report's columns.
    monkeypatch.setattr(
        peers, "PEERS", (benchmark.Peer("scikit-learn", peers._sklearn_tasks, "scikit-learn"),)
    )
    runner = _Runner(n_threads=1, repeats=1, log=lambda line: None, memory=True)
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

    monkeypatch.setattr(runner_module, "_peak_extra_mib", fail)
    monkeypatch.setattr(peers, "PEERS", ())
    _normal_blobs(monkeypatch)
    runner = _Runner(n_threads=1, repeats=1, log=lambda line: None, memory=True)
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
    watch = peers._FallbackWatch()
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
    faiss.rand_perm(faiss.swig_ptr(perm), n, cases.FAISS_SEED + 1)
    np.testing.assert_array_equal(
        cases._faiss_free_init_rows(n, n_fixed, k), perm[n_fixed : n_fixed + k]
    )
    _normal_blobs(monkeypatch)
    runner = _Runner(n_threads=1, repeats=1, log=lambda line: None)
    row32, row64 = runner.lloyd_fixed(n, 4, n_fixed, k, max_iter=3)
    peer = row32["peers"]["faiss"]
    assert peer["n_iter"] == row32["iwkmeans"]["n_iter"] == 3
    assert abs(peer["rel_inertia_diff"]) < 1e-5
    assert row64["peers"]["faiss"] == {"skipped": peers.FLOAT32_ONLY}


def test_latency_script_quick(tmp_path, monkeypatch, capsys):
    # bench/latency.py end to end: the package's cold-and-busy rows (tiny
    # shapes, no idling), its machine header, the worker-thread case and the
    # JSON; the timings themselves are not checked.
    import importlib
    import json
    from pathlib import Path

    from iwkmeans.benchmark import latency as package_latency

    monkeypatch.setattr(package_latency, "FIT_SHAPES", ((150, 4, 3),))
    monkeypatch.setattr(package_latency, "LATENCY_SEEDING_SHAPE", (160, 4, 3))
    monkeypatch.setattr(package_latency, "SELECTION_CASES", ((300, 4, 3, 12, 1.0),))
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "bench"))
    latency = importlib.import_module("latency")
    # bench/threads.py's imports from it: the package's machinery, not a copy.
    assert latency.Spinner is package_latency._Spinner
    assert latency._back_to_back is package_latency._back_to_back
    path = tmp_path / "latency.json"
    args = ["--quick", "--repeats", "1", "--dtypes", "float64", "--idle", "0", "--busy-warmup", "0"]
    args += ["--thread-case", "default", "--json", str(path)]
    assert latency.main(args) == 0
    data = json.loads(path.read_text())
    calls = [r["call"].split(" ")[0] for r in data["rows"]]
    assert calls == ["full", "kmeans_plusplus", "select_wkmeans"]
    for r in data["rows"]:
        assert r["repeats"] == {"warm": 1, "cold": 1, "busy": 1}
        for conditions in r["times_s"].values():
            assert sorted(conditions) == ["busy", "cold", "warm"]
    assert "scikit-learn" in data["rows"][0]["times_s"]
    case = data["thread_case"]
    assert case["default"]["note"] is None
    variants = {run["variant"] for run in case["default"]["runs"]}
    assert variants == set(latency.THREAD_VARIANTS)
    out = capsys.readouterr().out
    assert "| call " in out and "| implementation " in out and "- CPU: " in out
    assert "- thread pools: " in out and "Fit from a worker thread" in out
