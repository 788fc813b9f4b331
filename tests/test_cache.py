"""The experiment cache: a killed run resumes to the uninterrupted result, a
half-written step is never trusted, settings mismatches are refused, metrics
replayed from the stored selections equal the live ones, and a damaged file
or a locked log is named (and what it held recomputed when it can be)."""

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.tree import DecisionTreeClassifier

from iwkmeans import IWKMeansSampler
from iwkmeans.experiments import cache as cache_module
from iwkmeans.experiments import compare_samplers, run_experiment
from iwkmeans.experiments.cache import (
    LOG_FILE,
    CacheLockedError,
    CacheWarning,
    CorruptCacheError,
    RunStore,
    read_log,
    replay,
)
from iwkmeans.experiments.datasets import make_noisy_blobs
from iwkmeans.experiments.metrics import exploration, noisy_sample_ratio

from _helpers import iwkmeans_sampler as iwkmeans
from _helpers import random_sampler as random_

N_BATCHES = 6


class Killed(Exception):
    """Stands for the process being killed."""


def dying(factory, n_calls):
    """The sampler of ``factory``, killed at its ``n_calls + 1``-th selection."""

    def make(c, b, r):
        sampler = factory(c, b, r)
        select, calls = sampler.select_samples, []

        def select_samples(X_pool):
            calls.append(None)
            if len(calls) > n_calls:
                raise Killed
            return select(X_pool)

        sampler.select_samples = select_samples  # same class and parameters
        return sampler

    return make


def commit_dying_at(iteration_to_die):
    """RunStore._commit, except that it dies before committing that step."""
    commit = RunStore._commit

    def dying_commit(self, iteration, *args):
        if iteration == iteration_to_die:
            raise Killed
        commit(self, iteration, *args)

    return dying_commit


@pytest.fixture(scope="module")
def blobs(noisy_blobs):
    return noisy_blobs


OPTIONS = dict(initial_size=6, batch_size=5, n_batches=N_BATCHES, random_state=0)


def run(blobs, factory=iwkmeans, **options):
    X, y, noisy = blobs
    settings = dict(OPTIONS, classifier=DecisionTreeClassifier(max_depth=4), noisy=noisy)
    settings.update(options)
    return run_experiment(X, y, factory, **settings)


def assert_same_rows(rows, expected):
    assert len(rows) == len(expected)
    for row, same in zip(rows, expected):
        assert row.keys() == same.keys()
        for key, value in same.items():
            assert row[key] == value or (np.isnan(row[key]) and np.isnan(value)), key


def assert_same_result(result, expected):
    assert result.keys() == expected.keys()
    for key in expected:
        assert result[key].dtype == expected[key].dtype, key
        np.testing.assert_array_equal(result[key], expected[key], err_msg=key)


@pytest.fixture(scope="module", params=[iwkmeans, random_], ids=["IWKMeans", "Random"])
def uninterrupted(request, blobs):
    return request.param, run(blobs, request.param)


def test_a_cached_run_equals_an_uncached_one(blobs, uninterrupted, tmp_path):
    factory, expected = uninterrupted
    assert_same_result(run(blobs, factory, cache=tmp_path), expected)
    # Read back whole: the sampler is never called.
    assert_same_result(run(blobs, dying(factory, 0), cache=tmp_path), expected)


def test_a_run_killed_after_3_of_6_batches_resumes(blobs, uninterrupted, tmp_path):
    factory, expected = uninterrupted
    with pytest.raises(Killed):
        run(blobs, dying(factory, 3), cache=tmp_path)
    key = f"{type(factory(None, 1, None)).__name__}_seed0"
    assert RunStore(tmp_path, key).n_stored() == 3
    assert sorted({row["iteration"] for row in read_log(tmp_path)}) == [0, 1, 2]
    # The resumed run calls the sampler only for the 3 batches left.
    assert_same_result(run(blobs, dying(factory, 3), cache=tmp_path), expected)


@settings(max_examples=8)
@given(st.integers(0, N_BATCHES), st.integers(0, 100))
def test_a_run_killed_at_any_batch_resumes(tmp_path_factory, kill_at, seed):
    data = make_noisy_blobs(150, 3, blobs_per_class=2, random_state=seed)
    options = dict(random_state=seed)
    expected = run(data, random_, **options)
    folder = tmp_path_factory.mktemp("cache")
    if kill_at < N_BATCHES:
        with pytest.raises(Killed):
            run(data, dying(random_, kill_at), cache=folder, **options)
    assert_same_result(run(data, random_, cache=folder, **options), expected)


def test_a_really_killed_process_resumes(blobs, uninterrupted, tmp_path):
    """SIGKILL during the 4th selection, in a child process."""
    factory, expected = uninterrupted
    name = "IWKMeans" if factory is iwkmeans else "Random"
    script = textwrap.dedent(f"""
        import os, signal
        from sklearn.tree import DecisionTreeClassifier
        from iwkmeans.experiments import run_experiment
        from _helpers import iwkmeans_sampler, random_sampler, small_noisy_blobs

        X, y, noisy = small_noisy_blobs()  # the parent's data and samplers
        calls = []

        def make(c, b, r):
            if {name!r} == "IWKMeans":
                sampler = iwkmeans_sampler(c, b, r)
            else:
                sampler = random_sampler(c, b, r)
            select = sampler.select_samples

            def select_samples(X_pool):
                calls.append(None)
                if len(calls) > 3:
                    os.kill(os.getpid(), signal.SIGKILL)
                return select(X_pool)

            sampler.select_samples = select_samples
            return sampler

        run_experiment(X, y, make, initial_size=6, batch_size=5, n_batches=6,
                       random_state=0, classifier=DecisionTreeClassifier(max_depth=4),
                       noisy=noisy, cache={str(tmp_path)!r})
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    child = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert sorted({row["iteration"] for row in read_log(tmp_path)}) == [0, 1, 2]
    assert_same_result(run(blobs, dying(factory, 3), cache=tmp_path), expected)


def test_a_step_killed_before_its_commit_is_not_trusted(blobs, tmp_path, monkeypatch):
    expected = run(blobs)
    monkeypatch.setattr(RunStore, "_commit", commit_dying_at(3))
    with pytest.raises(Killed):
        run(blobs, cache=tmp_path)
    monkeypatch.undo()
    run_folder = tmp_path / "IWKMeansSampler_seed0"
    assert (run_folder / "iter_0003" / "selected.npy").exists()  # written, untrusted
    assert RunStore(tmp_path, "IWKMeansSampler_seed0").n_stored() == 3
    # Debris of other kills: a half-written temporary folder, a stray later step.
    (run_folder / ".iter_0004.tmp").mkdir()
    (run_folder / ".iter_0004.tmp" / "selected.npy").write_bytes(b"half")
    (run_folder / "iter_0005").mkdir()
    np.save(run_folder / "iter_0005" / "selected.npy", np.arange(5))
    assert_same_result(run(blobs, dying(iwkmeans, 3), cache=tmp_path), expected)
    assert not (run_folder / ".iter_0004.tmp").exists()


def test_a_longer_run_extends_a_stored_one(blobs, uninterrupted, tmp_path):
    factory, expected = uninterrupted
    run(blobs, factory, cache=tmp_path, n_batches=2)
    # Its last step selected nothing: it is redone, the two before are read back.
    assert_same_result(run(blobs, dying(factory, N_BATCHES - 2), cache=tmp_path), expected)
    # A shorter run is read back from the longer one.
    assert_same_result(
        run(blobs, dying(factory, 0), cache=tmp_path, n_batches=3), run(blobs, factory, n_batches=3)
    )


def test_an_extension_killed_while_redoing_the_last_step(blobs, tmp_path, monkeypatch):
    expected = run(blobs)
    run(blobs, cache=tmp_path, n_batches=2)
    monkeypatch.setattr(RunStore, "_commit", commit_dying_at(2))
    with pytest.raises(Killed):  # step 2's new folder is in place, not committed
        run(blobs, cache=tmp_path)
    monkeypatch.undo()
    assert RunStore(tmp_path, "IWKMeansSampler_seed0").n_stored() == 2
    assert_same_result(run(blobs, cache=tmp_path), expected)


@pytest.mark.parametrize(
    "options, difference",
    [
        (dict(batch_size=4), "batch_size: stored 5, now 4"),
        (
            dict(
                factory=lambda c, b, r: IWKMeansSampler(c, b, beta=2, random_state=r, n_threads=1)
            ),
            "sampler: stored \"IWKMeansSampler(algorithm='lloyd', batch_size=5, beta=3,",
        ),
        (dict(classifier=DecisionTreeClassifier(max_depth=5)), "classifier: stored"),
        (dict(noisy=None), "data: stored"),
        (dict(test_size=0.4), "test_size: stored 0.5, now 0.4"),
    ],
)
def test_a_run_with_other_settings_is_refused(blobs, tmp_path, options, difference):
    run(blobs, cache=tmp_path, n_batches=1)
    factory = options.pop("factory", iwkmeans)
    with pytest.raises(ValueError, match=re.escape(difference)) as error:
        run(blobs, factory, cache=tmp_path, n_batches=1, **options)
    assert "holds run 'IWKMeansSampler_seed0' with other settings" in str(error.value)


def test_deleting_a_run_folder_starts_the_run_afresh(blobs, tmp_path):
    run(blobs, cache=tmp_path, n_batches=1)
    shutil.rmtree(tmp_path / "IWKMeansSampler_seed0")  # as the refusal says
    assert read_log(tmp_path) == []
    result = run(blobs, cache=tmp_path, n_batches=1, batch_size=4)
    assert_same_result(result, run(blobs, n_batches=1, batch_size=4))
    assert {row["iteration"] for row in read_log(tmp_path)} == {0, 1}


def test_numpy_scalar_settings_are_the_same_run(blobs, tmp_path):
    expected = run(blobs, cache=tmp_path, n_batches=2)
    again = run(
        blobs,
        dying(iwkmeans, 0),
        cache=tmp_path,
        n_batches=np.int64(2),
        batch_size=np.int64(5),
        random_state=np.int64(0),
        test_size=np.float64(0.5),
    )
    assert_same_result(again, expected)


def test_other_data_is_refused(blobs, tmp_path):
    X, y, noisy = blobs
    run(blobs, cache=tmp_path, n_batches=1)
    with pytest.raises(ValueError, match="data: stored"):
        run((X + 1.0, y, noisy), cache=tmp_path, n_batches=1)


def test_runs_are_stored_apart(blobs, tmp_path):
    run(blobs, cache=tmp_path, n_batches=1)
    run(blobs, cache=tmp_path, n_batches=1, random_state=1)
    run(blobs, cache=tmp_path, n_batches=1, swap_split=True)
    run(blobs, cache=tmp_path, n_batches=1, run_name="IWKMeans beta=3")
    assert {row["run"] for row in read_log(tmp_path)} == {
        "IWKMeansSampler_seed0",
        "IWKMeansSampler_seed1",
        "IWKMeansSampler_seed0_swapped",
        "IWKMeans_beta_3_seed0",
    }


def test_the_folder_is_readable(blobs, tmp_path):
    result = run(blobs, cache=tmp_path)
    run_folder = tmp_path / "IWKMeansSampler_seed0"
    np.testing.assert_array_equal(np.load(run_folder / "initial.npy"), result["initial"])
    np.testing.assert_array_equal(np.load(run_folder / "test.npy"), result["test"])
    for step in range(N_BATCHES):
        np.testing.assert_array_equal(
            np.load(run_folder / f"iter_{step:04d}" / "selected.npy"), result["selected"][step]
        )
    assert not (run_folder / f"iter_{N_BATCHES:04d}" / "selected.npy").exists()
    stored = json.loads((run_folder / "settings.json").read_text())
    assert stored["batch_size"] == 5 and stored["random_state"] == 0
    # The SQLite log holds every finite per-step value of the result.
    logged = {(row["iteration"], row["name"]): row["value"] for row in read_log(tmp_path)}
    expected = {
        (step, key): result[key][step]
        for key in (
            "n_labeled",
            "accuracy",
            "contradiction",
            "exploration",
            "agreement",
            "easiness",
            "noisy_ratio",
        )
        for step in range(N_BATCHES + 1)
        if np.isfinite(result[key][step])
    }
    assert logged == expected
    assert (tmp_path / LOG_FILE).is_file()


def test_replayed_metrics_equal_the_live_ones(blobs, uninterrupted, tmp_path):
    X, y, noisy = blobs
    factory, live = uninterrupted
    run(blobs, factory, cache=tmp_path)
    key = f"{type(factory(None, 1, None)).__name__}_seed0"
    steps = list(replay(tmp_path, key, X, y, classifier=DecisionTreeClassifier(max_depth=4)))
    assert [s.iteration for s in steps] == list(range(N_BATCHES + 1))
    assert steps[-1].batch is None
    accuracy = [np.mean(s.model.predict(X[s.test]) == y[s.test]) for s in steps]
    np.testing.assert_array_equal(accuracy, live["accuracy"])
    noisy_ratio = [noisy_sample_ratio(s.batch, noisy) for s in steps[:-1]]
    np.testing.assert_array_equal(noisy_ratio, live["noisy_ratio"][:-1])
    explored = [exploration(X[s.test], X[s.labeled]) for s in steps]
    np.testing.assert_array_equal(explored, live["exploration"])
    # Without a classifier, no model is fitted.
    assert all(s.model is None for s in replay(tmp_path, key, X, y))


def test_replay_with_another_classifier(blobs, tmp_path):
    # The reuse check: the labeled sets the run chose, another model fitted
    # on each, seeded with the run's seed.
    X, y, _ = blobs
    run(blobs, cache=tmp_path, n_batches=2)
    key = "IWKMeansSampler_seed0"
    other = DecisionTreeClassifier(max_depth=2)
    steps = list(replay(tmp_path, key, X, y, classifier=other))
    own = list(replay(tmp_path, key, X, y))
    assert len(steps) == len(own) == 3
    for step, reference in zip(steps, own):
        np.testing.assert_array_equal(step.labeled, reference.labeled)
        expected = DecisionTreeClassifier(max_depth=2, random_state=0).fit(
            X[step.labeled], y[step.labeled]
        )
        assert step.model.get_params() == expected.get_params()
        np.testing.assert_array_equal(step.model.predict(X), expected.predict(X))


def test_replay_refuses_other_data(blobs, tmp_path):
    X, y, _ = blobs
    run(blobs, cache=tmp_path, n_batches=1)
    key = "IWKMeansSampler_seed0"
    with pytest.raises(ValueError, match="X is not the data run 'IWKMeansSampler_seed0'"):
        replay(tmp_path, key, X * 2, y)
    with pytest.raises(ValueError, match="y is not the data run"):
        replay(tmp_path, key, X, y[::-1])
    with pytest.raises(ValueError, match="run 'nope' is not stored in the cache"):
        replay(tmp_path, "nope", X, y)


def test_cache_validation(blobs, tmp_path):
    with pytest.raises(TypeError, match="cache must be a folder path"):
        run(blobs, cache=3)
    with pytest.raises(ValueError, match=f"has no {LOG_FILE}"):
        read_log(tmp_path)


def test_compare_samplers_resumes_from_the_cache(blobs, tmp_path):
    X, y, noisy = blobs
    options = dict(
        seeds=[3, 4],
        both_halves=True,
        progress=False,
        initial_size=6,
        batch_size=5,
        n_batches=2,
        noisy=noisy,
        classifier=DecisionTreeClassifier(max_depth=4),
    )
    samplers = {"Random": random_, "IWKMeans": iwkmeans}
    expected = compare_samplers(X, y, samplers, **options)
    with pytest.raises(Killed):  # dies during the second run
        compare_samplers(
            X, y, {"Random": random_, "IWKMeans": dying(iwkmeans, 1)}, cache=tmp_path, **options
        )
    assert {row["run"] for row in read_log(tmp_path)} == {"Random_seed3", "IWKMeans_seed3"}
    resumed = compare_samplers(X, y, samplers, cache=tmp_path, **options)
    assert_same_rows(resumed, expected)
    read_back = compare_samplers(
        X, y, {name: dying(f, 0) for name, f in samplers.items()}, cache=tmp_path, **options
    )
    assert_same_rows(read_back, expected)


# Damaged cache files. Each test stores a whole run, damages one file, and
# checks that the file is named and that the run resumed from the damaged
# step (the sampler is called only for the batches after it) equals the
# uninterrupted run.

KEY = "IWKMeansSampler_seed0"


@pytest.fixture(scope="module")
def expected(blobs):
    return run(blobs)


def resumes_from(blobs, expected, cache, step, named):
    """Run again: a CacheWarning names ``named`` and the run is recomputed
    from ``step`` on (None: nothing is); the result is the uninterrupted one.
    Then the repaired cache is read back whole, without a warning."""
    n_selections = 0 if step is None else N_BATCHES - step
    calls = []

    def counted(c, b, r):
        sampler = dying(iwkmeans, n_selections)(c, b, r)
        select = sampler.select_samples
        sampler.select_samples = lambda X_pool: calls.append(None) or select(X_pool)
        return sampler

    with pytest.warns(CacheWarning, match=re.escape(str(named))):
        assert_same_result(run(blobs, counted, cache=cache), expected)
    assert len(calls) == n_selections
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        assert_same_result(run(blobs, dying(iwkmeans, 0), cache=cache), expected)


def test_a_truncated_npy_is_recomputed(blobs, expected, tmp_path):
    run(blobs, cache=tmp_path)
    path = tmp_path / KEY / "iter_0003" / "selected.npy"
    path.write_bytes(path.read_bytes()[:100])
    resumes_from(blobs, expected, tmp_path, 3, path)


def test_a_garbage_npy_is_recomputed(blobs, expected, tmp_path):
    run(blobs, cache=tmp_path)
    path = tmp_path / KEY / "iter_0002" / "predictions.npy"
    path.write_bytes(np.random.default_rng(0).bytes(path.stat().st_size))
    resumes_from(blobs, expected, tmp_path, 2, path)


@pytest.mark.parametrize("name, step", [("iter_0004/selected.npy", 4), ("initial.npy", 0)])
def test_an_altered_but_valid_npy_is_recomputed(blobs, expected, tmp_path, name, step):
    result = run(blobs, cache=tmp_path)
    path = tmp_path / KEY / name
    # Other rows of the pool / the initial rows in another order: valid arrays.
    np.save(path, result["selected"][5] if step else result["initial"][::-1])
    resumes_from(blobs, expected, tmp_path, step, path)


@pytest.mark.parametrize("name", ["iter_0001/random_state.json", "settings.json"])
def test_a_garbage_json_is_recomputed_or_restored(blobs, expected, tmp_path, name):
    run(blobs, cache=tmp_path)
    path = tmp_path / KEY / name
    written = path.read_bytes()
    path.write_bytes(b'{"garbage": ')
    # settings.json is only read by people: it is rewritten from the log.
    resumes_from(blobs, expected, tmp_path, 1 if name.startswith("iter") else None, path)
    assert path.read_bytes() == written


@pytest.mark.parametrize(
    "name, step", [("iter_0002/random_state.json", 2), ("iter_0003", 3), ("test.npy", 0)]
)
def test_a_missing_file_is_recomputed(blobs, expected, tmp_path, name, step):
    run(blobs, cache=tmp_path)
    path = tmp_path / KEY / name
    shutil.rmtree(path) if path.is_dir() else path.unlink()
    resumes_from(blobs, expected, tmp_path, step, path)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_garbage_log_is_refused_by_name(blobs, expected, tmp_path, damage):
    X, y, _ = blobs
    cache = tmp_path / "cache"
    run(blobs, cache=cache)
    log = cache / LOG_FILE
    data = log.read_bytes()
    log.write_bytes(
        np.random.default_rng(0).bytes(len(data)) if damage == "garbage" else data[: len(data) // 2]
    )
    message = (
        re.escape(f"The cache log {log} is damaged")
        + ".*"
        + re.escape(f"delete (or move away) the folder {cache}")
    )
    for attempt in (
        lambda: run(blobs, cache=cache),
        lambda: read_log(cache),
        lambda: replay(cache, KEY, X, y),
    ):
        with pytest.raises(CorruptCacheError, match=message) as error:
            attempt()
        assert isinstance(error.value, ValueError)
        assert not isinstance(error.value, sqlite3.Error)
    shutil.rmtree(cache)  # as the message says
    assert_same_result(run(blobs, cache=cache), expected)


def test_an_emptied_log_recomputes_the_runs(blobs, expected, tmp_path):
    run(blobs, cache=tmp_path)
    (tmp_path / LOG_FILE).write_bytes(b"")
    resumes_from(blobs, expected, tmp_path, 0, tmp_path / LOG_FILE)


LOCK_HOLDER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN " + sys.argv[2])
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.mark.parametrize("mode", ["IMMEDIATE", "EXCLUSIVE"])
def test_a_locked_log_waits_then_names_it(blobs, expected, tmp_path, monkeypatch, mode):
    """Another process holds a write transaction on the log: IMMEDIATE lets
    the run read (it fails at its first write), EXCLUSIVE does not."""
    with pytest.raises(Killed):
        run(blobs, dying(iwkmeans, 3), cache=tmp_path)
    log = tmp_path / LOG_FILE
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(log), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        monkeypatch.setattr(cache_module, "LOCK_TIMEOUT", 0.2)
        start = time.perf_counter()
        with pytest.raises(
            CacheLockedError,
            match=re.escape(f"The cache log {log} is locked by another process (waited 0.2 s)"),
        ) as error:
            run(blobs, dying(iwkmeans, 3), cache=tmp_path)
        assert 0.2 <= time.perf_counter() - start < 5
        assert isinstance(error.value, TimeoutError)
    finally:
        holder.communicate("")  # the holder exits, its lock goes
    assert_same_result(run(blobs, dying(iwkmeans, 3), cache=tmp_path), expected)


def test_replay_names_a_damaged_file(blobs, expected, tmp_path):
    X, y, _ = blobs
    run(blobs, cache=tmp_path)
    path = tmp_path / KEY / "iter_0002" / "selected.npy"
    np.save(path, expected["selected"][3])
    with pytest.raises(
        CorruptCacheError, match=re.escape(str(path)) + ".*Run run_experiment again with this cache"
    ):
        replay(tmp_path, KEY, X, y)
    resumes_from(blobs, expected, tmp_path, 2, path)  # which repairs the run
    steps = list(replay(tmp_path, KEY, X, y))
    np.testing.assert_array_equal([s.batch for s in steps[:-1]], expected["selected"])


def test_a_cache_without_checksums_is_read_unverified(blobs, expected, tmp_path):
    """A cache stored before checksums: the same files, no files table."""
    run(blobs, cache=tmp_path)
    with sqlite3.connect(tmp_path / LOG_FILE) as connection:
        connection.execute("DROP TABLE files")
    with pytest.warns(CacheWarning, match="stored by an older iwkmeans, without checksums"):
        assert_same_result(run(blobs, dying(iwkmeans, 0), cache=tmp_path), expected)
    # Unreadable files are still found; the steps recomputed get checksums.
    path = tmp_path / KEY / "iter_0004" / "predictions.npy"
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.warns(CacheWarning) as caught:
        assert_same_result(run(blobs, dying(iwkmeans, 2), cache=tmp_path), expected)
    assert any(str(path) in str(w.message) for w in caught)
    store = RunStore(tmp_path, KEY)
    with pytest.warns(CacheWarning, match="without checksums"):
        assert_same_result(run(blobs, dying(iwkmeans, 0), cache=tmp_path), expected)
    np.save(path, np.zeros(3))  # altered but valid: verified now
    with pytest.warns(CacheWarning, match=re.escape(str(path))):
        assert store.n_stored() == 4
