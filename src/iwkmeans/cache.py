"""A resumable, replayable cache of active-learning runs.

:func:`iwkmeans.experiments.run_experiment` given ``cache=folder`` stores
every step of a run as it goes, in a folder meant to be read by people as
well as programs::

    folder/
        log.sqlite                 tables runs, log, iterations (below)
        IWKMeans_seed0/            one folder per run: "<name>_seed<seed>"
            settings.json          what the run was asked to do
            initial.npy  test.npy  the initial labeled rows, the test rows
            iter_0000/             one folder per step
                selected.npy       the batch selected at this step (rows of X)
                predictions.npy    the step's test predictions
                random_state.json  the sampler's random state after the step
            iter_0001/ ...

``log.sqlite`` holds ``runs(run, settings)``, ``log(run, iteration, name,
value)`` with the step's logged scalars (accuracy, contradiction, ...), and
``iterations(run, iteration)``: a step is trusted only once its row there is
committed. A step is written to a temporary folder, renamed into place, and
only then are its scalars and its ``iterations`` row committed in one
transaction; a run killed at any point leaves at worst an untrusted folder
that the next run overwrites.

An interrupted run resumes where it stopped (:func:`run_experiment` with the
same cache and settings), and :func:`replay` recomputes any metric from the
stored selections without calling the sampler.
"""
import hashlib
import json
import os
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.base import clone

from ._validation import check_data

LOG_FILE = "log.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (run TEXT PRIMARY KEY, settings TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log (
    run TEXT NOT NULL, iteration INTEGER NOT NULL, name TEXT NOT NULL, value REAL,
    PRIMARY KEY (run, iteration, name));
CREATE TABLE IF NOT EXISTS iterations (
    run TEXT NOT NULL, iteration INTEGER NOT NULL, PRIMARY KEY (run, iteration));
"""


def run_key(name, seed, swap_split):
    """The folder name of a run: ``<name>_seed<seed>``, plus ``_swapped`` for
    the second half of a 2-fold protocol. Characters other than letters,
    digits, ``.``, ``-`` and ``_`` become ``_``."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in str(name))
    return f"{safe}_seed{seed}" + ("_swapped" if swap_split else "")


def describe(obj):
    """A text description of a sampler or classifier that is the same from
    one Python session to the next: its class and parameters, nested
    estimators described alike. A random state object is described by its
    type only: the run's seed is a setting of its own."""
    if hasattr(obj, "get_params"):
        params = obj.get_params(deep=False)
        inner = ", ".join(f"{k}={describe(v)}" for k, v in sorted(params.items()))
        return f"{type(obj).__qualname__}({inner})"
    if isinstance(obj, (np.random.RandomState, np.random.Generator)):
        return type(obj).__name__
    if isinstance(obj, np.generic):  # np.int64(5) is the run of 5
        return repr(obj.item())
    if callable(obj) and hasattr(obj, "__qualname__"):
        return f"{getattr(obj, '__module__', '')}.{obj.__qualname__}"
    if type(obj).__repr__ is object.__repr__:  # the default repr holds an address
        return type(obj).__qualname__
    return repr(obj)


def fingerprint(array):
    """SHA-256 of an array's dtype, shape and values (None stays None)."""
    if array is None:
        return None
    array = np.asarray(array)
    digest = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    if array.dtype.kind == "O":  # tobytes would hash pointers
        digest.update(repr(array.tolist()).encode())
    else:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _check_folder(cache):
    if not isinstance(cache, (str, os.PathLike)):
        raise TypeError(
            f"cache must be a folder path (str or os.PathLike); got "
            f"{type(cache).__name__}."
        )
    return Path(cache)


def _connect(folder):
    connection = sqlite3.connect(folder / LOG_FILE)
    connection.executescript(_SCHEMA)
    return closing(connection)


def _save_file(path, write):
    """Write a file under a temporary name, then rename it into place."""
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as file:
        write(file)
    os.replace(temporary, path)


def _write_json(file, value):
    file.write(json.dumps(value, indent=1, sort_keys=True).encode())


def _iteration_folder(run_folder, iteration):
    return run_folder / f"iter_{iteration:04d}"


class RunStore:
    """The stored steps of one run in a cache folder (used by
    :func:`~iwkmeans.experiments.run_experiment` and :func:`replay`)."""

    def __init__(self, cache, key):
        self.folder = _check_folder(cache)
        self.key = key
        self.run_folder = self.folder / key

    def stored_settings(self):
        """The settings the run was made with, or None if it is not stored."""
        if not (self.folder / LOG_FILE).is_file():
            return None
        with _connect(self.folder) as connection:
            row = connection.execute(
                "SELECT settings FROM runs WHERE run = ?", (self.key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def open(self, settings, initial, test):
        """Start the run, or check that the stored one is the same run.

        A stored run made with other settings or another split raises a
        ValueError naming the differences; a new run gets its settings,
        initial and test rows written.
        """
        # What JSON gives back, so that a fresh run compares equal to its stored self.
        settings = json.loads(json.dumps(settings))
        stored = self.stored_settings()
        if stored is None:
            self.run_folder.mkdir(parents=True, exist_ok=True)
            _save_file(self.run_folder / "settings.json",
                       lambda file: _write_json(file, settings))
            _save_file(self.run_folder / "initial.npy", lambda file: np.save(file, initial))
            _save_file(self.run_folder / "test.npy", lambda file: np.save(file, test))
            with _connect(self.folder) as connection, connection:
                connection.execute("INSERT INTO runs VALUES (?, ?)",
                                   (self.key, json.dumps(settings, sort_keys=True)))
            return
        differences = [
            f"{name}: stored {stored.get(name)!r}, now {settings.get(name)!r}"
            for name in sorted(stored.keys() | settings.keys())
            if stored.get(name) != settings.get(name)
        ]
        if differences:
            raise ValueError(
                f"The cache {self.folder} holds run {self.key!r} with other settings "
                f"({'; '.join(differences)}). Use another cache folder, or delete "
                f"{self.run_folder} to start this run afresh."
            )
        if not (np.array_equal(self.initial(), initial)
                and np.array_equal(self.test(), test)):
            raise ValueError(
                f"The cache {self.folder} holds run {self.key!r} with the same "
                f"settings but another train/test split (a different scikit-learn "
                f"version?). Delete {self.run_folder} to start this run afresh."
            )

    def initial(self):
        """The rows of the initial labeled set."""
        return np.load(self.run_folder / "initial.npy")

    def test(self):
        """The rows of the test set."""
        return np.load(self.run_folder / "test.npy")

    def n_stored(self):
        """How many steps, from the first, are stored and trusted."""
        with _connect(self.folder) as connection:
            committed = {i for (i,) in connection.execute(
                "SELECT iteration FROM iterations WHERE run = ?", (self.key,))}
        # Steps are written in order; trust the unbroken prefix whose folders exist.
        n = 0
        while n in committed and _iteration_folder(self.run_folder, n).is_dir():
            n += 1
        return n

    def load(self, iteration):
        """The logged scalars (name -> float) and the selected rows (None at
        the last step) of a stored step."""
        with _connect(self.folder) as connection:
            values = dict(connection.execute(
                "SELECT name, value FROM log WHERE run = ? AND iteration = ?",
                (self.key, iteration)))
        path = _iteration_folder(self.run_folder, iteration) / "selected.npy"
        return values, (np.load(path) if self.has_batch(iteration) else None)

    def has_batch(self, iteration):
        """Whether a stored step selected a batch (every step but a run's last)."""
        return (_iteration_folder(self.run_folder, iteration) / "selected.npy").exists()

    def load_predictions(self, iteration):
        """The test predictions of a stored step."""
        path = _iteration_folder(self.run_folder, iteration) / "predictions.npy"
        # Labels of object dtype are pickled; the cache is the user's own folder.
        return np.load(path, allow_pickle=True)

    def load_random_state(self, iteration):
        """The sampler's random state after a stored step, for
        ``RandomState.set_state``."""
        path = _iteration_folder(self.run_folder, iteration) / "random_state.json"
        state = json.loads(path.read_text())
        state["state"]["key"] = np.array(state["state"]["key"], dtype=np.uint32)
        return state

    def save(self, iteration, values, selected, predictions, random_state):
        """Store one step: its scalars (name -> float; NaN ones are left
        out), the selected rows (None at the last step), its test
        predictions and the sampler's ``numpy.random.RandomState``."""
        # A step stored before (the last step of a shorter run, now redone)
        # stops being trusted before its folder changes.
        with _connect(self.folder) as connection, connection:
            connection.execute("DELETE FROM iterations WHERE run = ? AND iteration >= ?",
                               (self.key, iteration))
        self._write_folder(iteration, selected, predictions, random_state)
        self._commit(iteration, values)

    def _write_folder(self, iteration, selected, predictions, random_state):
        final = _iteration_folder(self.run_folder, iteration)
        temporary = final.with_name(f".{final.name}.tmp")
        shutil.rmtree(temporary, ignore_errors=True)  # left by a killed run
        temporary.mkdir()
        if selected is not None:
            np.save(temporary / "selected.npy", selected)
        np.save(temporary / "predictions.npy", predictions)
        state = random_state.get_state(legacy=False)
        state["state"]["key"] = state["state"]["key"].tolist()
        (temporary / "random_state.json").write_text(json.dumps(state))
        # An untrusted folder of the same step, left by a killed run, gives way.
        shutil.rmtree(final, ignore_errors=True)
        os.rename(temporary, final)

    def _commit(self, iteration, values):
        """Log the step's scalars and mark it trusted, in one transaction."""
        rows = [(self.key, iteration, name, float(value))
                for name, value in values.items() if np.isfinite(value)]
        with _connect(self.folder) as connection, connection:
            connection.execute("DELETE FROM log WHERE run = ? AND iteration = ?",
                               (self.key, iteration))
            connection.executemany("INSERT INTO log VALUES (?, ?, ?, ?)", rows)
            connection.execute("INSERT OR REPLACE INTO iterations VALUES (?, ?)",
                               (self.key, iteration))


def read_log(cache):
    """Every logged scalar of a cache, as a tidy table.

    Parameters
    ----------
    cache : str or os.PathLike
        A cache folder written by
        :func:`~iwkmeans.experiments.run_experiment`.

    Returns
    -------
    rows : list of dict
        ``run``, ``iteration``, ``name``, ``value``, for the trusted steps
        only, ordered by run, iteration and name.
    """
    folder = _check_folder(cache)
    if not (folder / LOG_FILE).is_file():
        raise ValueError(f"cache must be a cache folder; {folder} has no {LOG_FILE}.")
    with _connect(folder) as connection:
        rows = connection.execute(
            "SELECT log.run, log.iteration, log.name, log.value FROM log JOIN iterations "
            "ON log.run = iterations.run AND log.iteration = iterations.iteration "
            "ORDER BY log.run, log.iteration, log.name").fetchall()
    return [dict(zip(("run", "iteration", "name", "value"), row)) for row in rows]


@dataclass(frozen=True)
class ReplayedStep:
    """One stored step of a run, as :func:`replay` gives it.

    Attributes
    ----------
    iteration : int
        The step, from 0.
    labeled : ndarray of int
        Rows of X labeled at this step (the initial set, then the batches in
        order).
    batch : ndarray of int or None
        Rows of X selected at this step; None at the last step of the run.
    test : ndarray of int
        Rows of X in the test set.
    model : classifier or None
        The run's classifier refitted on ``labeled`` (the model the run had
        at this step), when :func:`replay` was given the classifier.
    """

    iteration: int
    labeled: np.ndarray
    batch: np.ndarray | None
    test: np.ndarray
    model: object = None


def replay(cache, run, X, y, *, classifier=None):
    """Replay the stored steps of a run without calling its sampler.

    Each step's labeled set is rebuilt from the stored selections, and with
    ``classifier`` the step's model is refitted (seeded as the run seeded
    it, hence the same model), so that any metric can be computed
    afterwards, e.g. the noisy-sample ratio of each batch::

        [noisy_sample_ratio(s.batch, noisy) for s in replay(cache, run, X, y)
         if s.batch is not None]

    Parameters
    ----------
    cache : str or os.PathLike
        The cache folder.
    run : str
        The run's folder name (see :func:`read_log`), e.g.
        ``"IWKMeans_seed0"``.
    X, y : arrays
        The data of the run; checked against the run's fingerprint.
    classifier : scikit-learn classifier, default=None
        The run's classifier (as given to ``run_experiment``); checked
        against the stored settings. None: ``model`` is None at every step.

    Returns
    -------
    steps : iterator of ReplayedStep
        The stored steps in order; the arguments are checked at once, the
        models fitted as the steps are drawn.
    """
    from .experiments import _seeded  # experiments imports this module

    store = RunStore(cache, run)
    settings = store.stored_settings()
    if settings is None:
        raise ValueError(f"run {run!r} is not stored in the cache {store.folder}.")
    X = check_data(X, name="X")
    y = np.asarray(y)
    for name, array in (("X", X), ("y", y)):
        if fingerprint(array) != settings["data"][name]:
            raise ValueError(
                f"{name} is not the data run {run!r} was made with (its "
                f"fingerprint differs)."
            )
    model = None
    if classifier is not None:
        model = _seeded(classifier, settings["random_state"])
        if describe(model) != settings["classifier"]:
            raise ValueError(
                f"classifier must be the run's classifier, "
                f"{settings['classifier']}; got {describe(model)}."
            )
    return _replay_steps(store, X, y, model)


def _replay_steps(store, X, y, model):
    labeled, test = store.initial(), store.test()
    for iteration in range(store.n_stored()):
        _, batch = store.load(iteration)
        fitted = None if model is None else clone(model).fit(X[labeled], y[labeled])
        yield ReplayedStep(iteration, labeled, batch, test, fitted)
        if batch is None:
            break
        labeled = np.concatenate([labeled, batch])
