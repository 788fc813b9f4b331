"""The benchmark's cold-and-busy table and the Lloyd rows' marginal iteration:
structure and behaviour (which calls run when, what the ratios are made of),
never how fast anything is."""

import multiprocessing
import statistics
import time

import numpy as np
import pytest

from iwkmeans import benchmark
from iwkmeans.benchmark import latency, peers, report, timing
from iwkmeans.benchmark import runner as runner_module
from iwkmeans.benchmark.peers import OURS
from iwkmeans.benchmark.runner import _Runner

TWO, ONE = "iwkmeans, n_threads=2", "iwkmeans, n_threads=1"


def _tiny_cases(monkeypatch):
    monkeypatch.setattr(latency, "FIT_SHAPES", ((150, 4, 3),))
    monkeypatch.setattr(latency, "LATENCY_SEEDING_SHAPE", (160, 4, 3))
    monkeypatch.setattr(latency, "SELECTION_CASES", ((300, 4, 3, 12, 1.0), (400, 4, 3, 12, 1.0)))


@pytest.fixture(scope="module")
def tiny_rows():
    """run_latency on tiny shapes, no idling (one run shared by the tests below)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _tiny_cases(monkeypatch)
        return latency.run_latency(
            quick=True, n_threads=2, repeats=3, cold_repeats=2, idle=0, busy_warmup=0
        )


def test_rows_lines_and_columns(tiny_rows):
    # quick: the first selection case only; every row in both dtypes.
    assert [(row["call"].split(" ")[0], row["dtype"]) for row in tiny_rows] == [
        ("full", "float64"),
        ("full", "float32"),
        ("kmeans_plusplus", "float64"),
        ("kmeans_plusplus", "float32"),
        ("select_wkmeans", "float64"),
        ("select_wkmeans", "float32"),
    ]
    for row in tiny_rows:
        assert row["table"] == "latency" and row["threads"] == 2
        assert row["repeats"] == {"warm": 3, "cold": 2, "busy": 3}
        peer = [latency.PEER] if not row["call"].startswith("select") else []
        assert list(row["times_s"]) == [TWO, ONE, *peer]
        for times in row["times_s"].values():
            assert {c: len(times[c]) for c in latency.CONDITIONS} == row["repeats"]
    text = benchmark.format_latency(tiny_rows)
    assert text.startswith("## Cold and busy calls\n")
    head = next(line for line in text.splitlines() if line.startswith("| call"))
    columns = [cell.strip() for cell in head.strip("|").split("|")]
    assert columns == [
        "call",
        "shape",
        "dtype",
        "implementation",
        "warm ms",
        "cold ms",
        "busy ms",
        "cold / warm 1 thread",
        "busy / warm 1 thread",
        "speed-up vs scikit-learn (warm / cold / busy)",
        "other CPUs",
        "busy helper CPU",
    ]
    # A line per implementation of each row (the header and rule lines aside).
    body = [line for line in text.splitlines() if line.startswith("| ")][1:]
    assert len(body) == sum(len(row["times_s"]) for row in tiny_rows) == 16


def _cells(text, call, dtype, name):
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) > 4 and cells[0].startswith(call) and cells[2:4] == [dtype, name]:
            return cells
    raise AssertionError(f"no line for {call}, {dtype}, {name}")


def test_ratios_are_those_of_the_medians_shown(tiny_rows):
    text = benchmark.format_latency(tiny_rows)
    for row in tiny_rows:
        median = {
            name: {c: statistics.median(seconds) * 1e3 for c, seconds in times.items()}
            for name, times in row["times_s"].items()
        }
        assert row["median_ms"] == median
        warm_one = median[ONE]["warm"]
        for name in (TWO, ONE):
            ratios = row["ratios"][name]
            assert ratios["cold / warm 1 thread"] == median[name]["cold"] / warm_one
            assert ratios["busy / warm 1 thread"] == median[name]["busy"] / warm_one
            cells = _cells(text, row["call"], row["dtype"], name)
            assert cells[4:7] == [report._sig(median[name][c]) for c in latency.CONDITIONS]
            assert cells[7] == f"{report._sig(median[name]['cold'] / warm_one)}x"
            assert cells[8] == f"{report._sig(median[name]['busy'] / warm_one)}x"
            if latency.PEER in median:
                peer = median[latency.PEER]
                assert ratios["speed-up"] == {c: peer[c] / median[name][c] for c in peer}
                assert cells[9] == " / ".join(
                    f"{report._sig(peer[c] / median[name][c])}x" for c in latency.CONDITIONS
                )
            else:  # select_wkmeans: scikit-learn has no such task
                assert ratios["speed-up"] is None and cells[9] == "—"
        if latency.PEER in median:
            assert latency.PEER not in row["ratios"]
            assert _cells(text, row["call"], row["dtype"], latency.PEER)[7:10] == ["—"] * 3


def test_one_thread_run_has_one_iwkmeans_line(monkeypatch):
    _tiny_cases(monkeypatch)
    monkeypatch.setattr(latency, "_measure", _fake_measure)
    rows = latency.run_latency(quick=True, n_threads=1, repeats=1, dtypes=[np.float64])
    assert [list(row["times_s"]) for row in rows] == [[ONE, latency.PEER]] * 2 + [[ONE]]
    assert rows[0]["ratios"][ONE]["cold / warm 1 thread"] == 2.0  # its own warm median


def _fake_measure(calls, repeats, cold_repeats, idle, busy_warmup):
    times = {name: {"warm": [0.001], "cold": [0.002], "busy": [0.003]} for name in calls}
    return times, None, 1.0


class _RecordingTime:
    """Stands for the ``time`` module in .latency: sleeps are recorded, not slept."""

    def __init__(self, events):
        self.events = events
        self.perf_counter = time.perf_counter
        self.process_time = time.process_time

    def sleep(self, seconds):
        self.events.append(("sleep", seconds))


def test_conditions_order_idle_and_busy_helper(monkeypatch):
    events, helpers = [], []

    def call(name):
        def run():
            children = multiprocessing.active_children()
            helpers.extend(children)
            events.append(("call", name, len(children)))

        return run

    monkeypatch.setattr(latency, "time", _RecordingTime(events))
    times, _, share = latency._measure(
        {"a": call("a"), "b": call("b")}, repeats=2, cold_repeats=3, idle=1.0, busy_warmup=0.5
    )
    warm = [("call", "a", 0)] * 3 + [("call", "b", 0)] * 3  # an untimed call, then 2 timed
    # Each cold call right after its own idle sleep, the implementations in turn.
    cold = [("sleep", 1.0), ("call", "a", 0), ("sleep", 1.0), ("call", "b", 0)] * 3
    # The busy helper's warm-up, then calls while it (one child process) runs.
    busy = [("sleep", 0.5)] + [("call", "a", 1)] * 3 + [("call", "b", 1)] * 3
    assert events == warm + cold + busy
    assert {name: {c: len(s) for c, s in t.items()} for name, t in times.items()} == {
        name: {"cold": 3, "warm": 2, "busy": 2} for name in "ab"
    }
    # One helper, stopped by the event (exit code 0, not terminated), none left.
    assert len(set(helpers)) == 1
    assert helpers[0].exitcode == 0 and not helpers[0].is_alive()
    assert multiprocessing.active_children() == []
    assert share is not None and share >= 0


def test_busy_helper_is_stopped_when_a_call_fails():
    def fail():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        with latency._Spinner(0) as spinner:
            assert spinner.process.is_alive()
            fail()
    assert spinner.process.exitcode == 0
    assert multiprocessing.active_children() == []


def test_arguments_are_checked():
    for kwargs, name in [
        ({"repeats": 0}, "repeats"),
        ({"cold_repeats": 0}, "cold_repeats"),
        ({"idle": -1}, "idle"),
        ({"busy_warmup": -1}, "busy_warmup"),
    ]:
        with pytest.raises(ValueError, match=f"^{name} must be"):
            latency.run_latency(**kwargs)


def test_cold_repeats_default(monkeypatch):
    seen = []

    def measure(calls, repeats, cold_repeats, idle, busy_warmup):
        seen.append((repeats, cold_repeats, idle, busy_warmup))
        return _fake_measure(calls, repeats, cold_repeats, idle, busy_warmup)

    def cases(quick, n_threads, dtypes):  # one row, no data to build
        yield lambda: latency._Case("call", "shape", "float64", {ONE: lambda: None})

    monkeypatch.setattr(latency, "_cases", cases)
    monkeypatch.setattr(latency, "_measure", measure)
    latency.run_latency(quick=True)
    latency.run_latency()
    latency.run_latency(repeats=2)
    defaults = (latency.IDLE_SECONDS, latency.BUSY_WARMUP_SECONDS)
    assert sorted(set(seen)) == [
        (2, min(2, latency.COLD_REPEATS), *defaults),
        (3, latency.QUICK_COLD_REPEATS, *defaults),
        (5, latency.COLD_REPEATS, *defaults),
    ]


def test_report_renders_both_tables(tiny_rows, monkeypatch):
    # A comparison row from the runner, then the cold-and-busy rows, as run() returns them.
    monkeypatch.setattr(peers, "PEERS", ())
    monkeypatch.setattr(
        runner_module, "_blobs", lambda n, d, k: np.random.default_rng(0).normal(size=(n, d))
    )
    monkeypatch.setattr(timing, "SETTLE_SECONDS", 0)
    runner = _Runner(n_threads=1, repeats=1, log=lambda line: None)
    (row, _) = runner.fit(300, 4, 3)
    assert row["table"] == "comparison"
    text = benchmark.format_report([row, *tiny_rows])
    main, cold = text.split("\n## Cold and busy calls\n")
    assert "| full fit with own k-means++" in main and "| full fit, k-means++" not in main
    assert "| full fit, k-means++" in cold and "- CPU: " in main and "core type" in main
    assert text.endswith("\n")


# ------------------------------------------------- marginal Lloyd iteration


# Timings made up (the fit of max_iter iterations 0.3 s, that of one 0.1 s,
# a batch of matmul products 0.01 s, anything else 0.5 s): the rows' figures
# follow from them.
SECONDS = {OURS: 0.3, runner_module._SHORT_FIT: 0.1, "matmul": 0.01}


def _made_up_timings(monkeypatch, n_iters):
    def interleaved(calls, repeats):
        out = {}
        for name, call in calls.items():
            result = call()
            n_iters[name] = getattr(result, "n_iter_", None)
            out[name] = (SECONDS.get(name, 0.5), result)
        return out

    monkeypatch.setattr(peers, "PEERS", (benchmark.Peer("scikit-learn", peers._sklearn_tasks),))
    monkeypatch.setattr(runner_module, "_time_interleaved", interleaved)
    monkeypatch.setattr(timing, "_time_interleaved", interleaved)
    monkeypatch.setattr(
        runner_module, "_blobs", lambda n, d, k: np.random.default_rng(0).normal(size=(n, d))
    )


def test_marginal_iteration_gflops_and_matmul_share(monkeypatch):
    n_iters = {}
    _made_up_timings(monkeypatch, n_iters)
    runner = _Runner(n_threads=1, repeats=1, log=lambda line: None)
    n, d, k = 2000, 4, 3
    row, _ = runner.lloyd(n, d, k, max_iter=3)
    # Both fits ran: 3 iterations and MARGINAL_SHORT_ITER.
    assert n_iters[OURS] == 3 and n_iters[runner_module._SHORT_FIT] == 1
    ours = row[OURS]
    assert ours["ms"] == pytest.approx(300 / 3)  # the table's time: fit time / n_iter
    assert ours["marginal_ms"] == pytest.approx((300 - 100) / (3 - 1))
    assert row["gflops"] == pytest.approx(2 * n * k * d / 0.1 / 1e9)
    assert row["matmul_share"] == pytest.approx(row["gflops"] / row["matmul_gflops"][1])
    assert set(row["peers"]) == {"scikit-learn"}  # the short fit is no peer
    text = benchmark.format_report([row])
    head = next(line for line in text.splitlines() if line.startswith("| case"))
    columns = [cell.strip() for cell in head.strip("|").split("|")]
    assert columns[-4:] == [
        "iwkmeans ms / marginal it",
        "GF/s",
        "numpy matmul GF/s (1 / all threads)",
        "share of matmul",
    ]
    line = next(line for line in text.splitlines() if line.startswith("| Lloyd"))
    cells = [cell.strip() for cell in line.strip("|").split("|")]
    assert cells[-4:] == [
        "100",
        report._sig(row["gflops"]),
        " / ".join(report._sig(g) for g in row["matmul_gflops"]),
        f"{row['matmul_share'] * 100:.0f}%",
    ]
    assert "marginal" in text.split("\n\n| case")[0]  # the header defines it


def test_fixed_center_rows_have_no_marginal_iteration(monkeypatch):
    n_iters = {}
    _made_up_timings(monkeypatch, n_iters)
    runner = _Runner(n_threads=1, repeats=1, log=lambda line: None)
    n, d, n_fixed, k = 2000, 4, 5, 3
    row, _ = runner.lloyd_fixed(n, d, n_fixed, k, max_iter=3)
    assert runner_module._SHORT_FIT not in n_iters  # no second fit
    assert row[OURS]["marginal_ms"] is None and row["matmul_share"] is None
    # The effective rate: the fixed centers counted in every iteration.
    assert row["gflops"] == pytest.approx(2 * n * (n_fixed + k) * d / (0.3 / 3) / 1e9)
    assert runner_module.FIXED_GFLOPS_NOTE in row["notes"]


def test_marginal_ms_cases():
    notes = []
    assert runner_module._marginal_ms(0.5, 10, 0.05, 1, notes) == pytest.approx(50)
    assert notes == []
    assert runner_module._marginal_ms(0.5, 1, 0.4, 1, notes) is None  # converged at once
    assert runner_module._marginal_ms(0.1, 10, 0.2, 1, notes) is None  # noise
    assert len(notes) == 2 and all("no marginal iteration" in note for note in notes)
