"""A resumable, replayable cache of active-learning runs.

:func:`iwkmeans.experiments.run_experiment` given ``cache=folder`` stores
every step of a run as it goes, in a folder meant to be read by people as
well as programs::

    folder/
        log.sqlite                 tables runs, log, iterations, files (below)
        IWKMeans_seed0/            one folder per run: "<name>_seed<seed>"
            settings.json          what the run was asked to do
            initial.npy  test.npy  the initial labeled rows, the test rows
            iter_0000/             one folder per step
                selected.npy       the batch selected at this step (rows of X)
                predictions.npy    the step's test predictions
                random_state.json  the sampler's random state after the step
            iter_0001/ ...

``log.sqlite`` holds ``runs(run, settings)``, ``log(run, iteration, name,
value)`` with the step's logged scalars (accuracy, contradiction, ...),
``iterations(run, iteration)``: a step is trusted only once its row there is
committed, and ``files(run, iteration, name, size, sha256)``: the size and
SHA-256 of every file written, ``iteration`` -1 for the run's own three
files. A step is written to a temporary folder, renamed into place, and only
then are its scalars, its checksums and its ``iterations`` row committed in
one transaction; a run killed at any point leaves at worst an untrusted
folder that the next run overwrites.

Every stored file is verified against its checksum before it is used, so a
truncated, garbage, altered or missing file (a disk error, a copy cut short,
a power cut before the data reached the disk, a stray edit) is never
trusted:

- a damaged file of a step: that step and the ones after it (they depend on
  it) are recomputed, with a :class:`CacheWarning` naming the file;
- a damaged ``initial.npy`` or ``test.npy``: the whole run is recomputed
  (:class:`CacheWarning`);
- a damaged ``settings.json`` (only ever read by people): it is rewritten
  from the settings recorded in the log (:class:`CacheWarning`);
- :func:`replay`, which cannot recompute, raises a :class:`CorruptCacheError`
  naming the file instead;
- a damaged ``log.sqlite`` (the record of what is trusted) raises a
  :class:`CorruptCacheError` naming it: delete the cache folder to start
  afresh;
- a ``log.sqlite`` locked by another process is waited for up to
  :data:`LOCK_TIMEOUT` seconds, then a :class:`CacheLockedError` naming it
  is raised.

A run stored by an older iwkmeans has no checksums: it is read without
verification, with a :class:`CacheWarning` at each use (a truncated or
garbage file is still detected and recomputed, an altered but readable one is
not); the steps it adds are verified. Delete the run's folder to recompute
it all with checksums.

An interrupted run resumes where it stopped (:func:`run_experiment` with the
same cache and settings), and :func:`replay` recomputes any metric from the
stored selections without calling the sampler. Deleting a run's folder
starts that run afresh (the log forgets it).
"""

import hashlib
import io
import json
import os
import shutil
import sqlite3
import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.base import clone

from .._validation import check_data

LOG_FILE = "log.sqlite"

LOCK_TIMEOUT = 10.0
"""Seconds to wait for another process to release ``log.sqlite`` (SQLite's
busy timeout) before raising :class:`CacheLockedError`. Other runs hold it
for milliseconds at a time."""

RUN_FILES = -1  # the iteration of a run's own files in the files table

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (run TEXT PRIMARY KEY, settings TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log (
    run TEXT NOT NULL, iteration INTEGER NOT NULL, name TEXT NOT NULL, value REAL,
    PRIMARY KEY (run, iteration, name));
CREATE TABLE IF NOT EXISTS iterations (
    run TEXT NOT NULL, iteration INTEGER NOT NULL, PRIMARY KEY (run, iteration));
CREATE TABLE IF NOT EXISTS files (
    run TEXT NOT NULL, iteration INTEGER NOT NULL, name TEXT NOT NULL,
    size INTEGER NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY (run, iteration, name));
"""


class CacheError(Exception):
    """A cache file cannot be used. The message names the file and what to
    do. Raised as is for the log's other failures (a read-only folder, a full
    disk, ...).
    """


class CorruptCacheError(CacheError, ValueError):
    """A cache file is damaged and the cache cannot recompute what it held:
    ``log.sqlite`` itself, or a stored file read by :func:`replay`.
    """


class CacheLockedError(CacheError, TimeoutError):
    """``log.sqlite`` stayed locked by another process for
    :data:`LOCK_TIMEOUT` seconds.
    """


class CacheWarning(UserWarning):
    """A damaged cache file was set aside and what it held recomputed or
    restored, or a run is read without verification (stored before
    checksums). The message names the file.
    """


class _Damaged(Exception):
    """A stored file that cannot be trusted: its path and why."""

    def __init__(self, path, reason):
        super().__init__(f"{path}: {reason}")
        self.path = path


def run_key(name, seed, swap_split):
    """The folder name of a run: ``<name>_seed<seed>``, plus ``_swapped`` for
    the second half of a 2-fold protocol. Characters other than letters,
    digits, ``.``, ``-`` and ``_`` become ``_``.

    Parameters
    ----------
    name : str
        The run's name (converted with ``str``).
    seed : int
        The run's seed.
    swap_split : bool
        Whether the run swaps the train and test parts.

    Returns
    -------
    key : str
        The folder name.
    """
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in str(name))
    return f"{safe}_seed{seed}" + ("_swapped" if swap_split else "")


def describe(obj):
    """A text description of a sampler or classifier that is the same from
    one Python session to the next: its class and parameters, nested
    estimators described alike. A random state object is described by its
    type only: the run's seed is a setting of its own.

    Parameters
    ----------
    obj : object
        A sampler, a classifier, or one of their parameters.

    Returns
    -------
    description : str
        The description, free of memory addresses.
    """
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
    """SHA-256 of an array's dtype, shape and values (None stays None).

    Parameters
    ----------
    array : array-like, sparse matrix or None
        The array; an object array is hashed through the ``repr`` of its
        values, a sparse matrix through its format and its arrays (without
        a dense copy).

    Returns
    -------
    digest : str or None
        The SHA-256 as 64 hexadecimal digits; None for None.
    """
    if array is None:
        return None
    if sparse.issparse(array):
        digest = hashlib.sha256(f"{array.format}{array.dtype.str}{array.shape}".encode())
        for part in (array.indptr, array.indices, array.data):
            digest.update(np.ascontiguousarray(part).tobytes())
        return digest.hexdigest()
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
            f"cache must be a folder path (str or os.PathLike); got {type(cache).__name__}."
        )
    return Path(cache)


def _log_error(path, error):
    """The CacheError that tells what an sqlite3 error on the log means."""
    code = getattr(error, "sqlite_errorname", "")  # Python >= 3.11
    message = str(error)
    if code in ("SQLITE_BUSY", "SQLITE_LOCKED") or "is locked" in message:
        return CacheLockedError(
            f"The cache log {path} is locked by another process (waited "
            f"{LOCK_TIMEOUT:g} s): another run, or a program that has it open, is "
            f"writing to it. Run again once it has finished or been closed."
        )
    if (
        code in ("SQLITE_NOTADB", "SQLITE_CORRUPT")
        or "not a database" in message
        or "malformed" in message
    ):
        return CorruptCacheError(
            f"The cache log {path} is damaged ({message}). It records which stored "
            f"steps are trusted, so nothing in the cache can be: delete (or move "
            f"away) the folder {path.parent} and run again to recompute its runs."
        )
    return CacheError(f"The cache log {path} cannot be used: {message}.")


@contextmanager
def _connect(folder, *, write=False):
    """A connection to the log (one transaction with ``write``); its sqlite3
    errors become CacheErrors naming the file."""
    path = folder / LOG_FILE
    try:
        connection = sqlite3.connect(path, timeout=LOCK_TIMEOUT)
    except sqlite3.Error as error:
        raise _log_error(path, error) from error
    try:
        connection.executescript(_SCHEMA)
        if write:
            with connection:
                yield connection
        else:
            yield connection
    except sqlite3.Error as error:
        raise _log_error(path, error) from error
    finally:
        connection.close()


def _warn(message):
    """A CacheWarning pointing at the first caller outside this package."""
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(1), 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, CacheWarning, stacklevel=level)


def _npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)  # labels of object dtype are pickled
    return buffer.getvalue()


def _json_bytes(value, **options):
    return json.dumps(value, **options).encode()


def _settings_bytes(settings):
    return _json_bytes(settings, indent=1, sort_keys=True)


def _record(data):
    """What the files table records of a file: its size and SHA-256."""
    return len(data), hashlib.sha256(data).hexdigest()


def _parse_npy(data, allow_pickle=False):
    # read_array, not load: it refuses anything but the .npy format.
    return np.lib.format.read_array(io.BytesIO(data), allow_pickle=allow_pickle)


def _parse_random_state(data):
    state = json.loads(data)
    state["state"]["key"] = np.array(state["state"]["key"], dtype=np.uint32)
    np.random.RandomState().set_state(state)  # refuses a malformed state
    return state


_PARSERS = {
    "settings.json": json.loads,
    "initial.npy": _parse_npy,
    "test.npy": _parse_npy,
    "selected.npy": _parse_npy,
    # Labels of object dtype are pickled; the cache is the user's own folder.
    "predictions.npy": lambda data: _parse_npy(data, allow_pickle=True),
    "random_state.json": _parse_random_state,
}


def _read(path, recorded, legacy, parse=True):
    """The parsed content of a stored file, checked against ``recorded``
    (its size and SHA-256, or None); raises _Damaged. A file of a run stored
    before checksums (``legacy``, nothing recorded) is only parsed. Without
    ``parse``, a file whose checksum matches is not parsed (None)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _Damaged(path, "the file is missing") from None
    except OSError as error:
        raise _Damaged(path, f"the file cannot be read ({error})") from None
    if recorded is not None:
        size, sha256 = recorded
        if len(data) != size:
            raise _Damaged(
                path,
                f"the file has {len(data)} bytes where {size} were written (truncated or replaced)",
            )
        if hashlib.sha256(data).hexdigest() != sha256:
            raise _Damaged(
                path,
                f"the file's SHA-256 differs from the one recorded "
                f"in {LOG_FILE} when it was written (altered)",
            )
        if not parse:
            return None
    elif not legacy:
        raise _Damaged(path, f"{LOG_FILE} records no checksum for the file")
    try:
        return _PARSERS[path.name](data)
    except Exception as error:  # any failure to parse a file makes it damaged
        raise _Damaged(path, f"the file cannot be read ({type(error).__name__}: {error})") from None


def _save_file(path, data):
    """Write a file under a temporary name, then rename it into place."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _iteration_folder(run_folder, iteration):
    return run_folder / f"iter_{iteration:04d}"


def seeded_model(classifier, seed):
    """A clone of the classifier, seeded with ``seed`` if it takes a
    random_state that the user left to None, so that a run is reproducible.

    Parameters
    ----------
    classifier : estimator
        A scikit-learn estimator, fitted or not (it is cloned).
    seed : int
        The run's seed.

    Returns
    -------
    model : estimator
        The unfitted clone.
    """
    model = clone(classifier)
    params = model.get_params(deep=False)
    if "random_state" in params and params["random_state"] is None:
        model.set_params(random_state=seed)
    return model


def run_settings(
    name, sampler, model, X, y, noisy, random_state, initial_size, batch_size, test_size, swap_split
):
    """What makes a run the same run, for the cache. ``n_batches`` is left
    out: a longer run starts as the shorter one did.

    Parameters
    ----------
    name : str
        The run's name.
    sampler : estimator
        The run's sampler, described with :func:`describe`.
    model : estimator
        The run's classifier (as seeded by :func:`seeded_model`), described
        with :func:`describe`.
    X : array-like of shape (n_samples, n_features)
        The run's samples, recorded by their :func:`fingerprint`.
    y : array-like of shape (n_samples,)
        Their labels, recorded by their :func:`fingerprint`.
    noisy : array-like of bool of shape (n_samples,) or None
        The noise flags, recorded by their :func:`fingerprint`.
    random_state : int
        The run's seed.
    initial_size : int
        Size of the initial labeled set.
    batch_size : int
        Samples per batch.
    test_size : float or int
        The test part's size, as given to the run.
    swap_split : bool
        Whether the run swaps the train and test parts.

    Returns
    -------
    settings : dict
        Plain Python values (as JSON stores them): ``name``, ``sampler``,
        ``classifier``, ``random_state``, ``initial_size``, ``batch_size``,
        ``test_size``, ``swap_split`` and ``data``, the fingerprints of X, y
        and noisy.
    """
    # .item(): NumPy scalars as the Python numbers that JSON stores.
    return {
        "name": str(name),
        "sampler": describe(sampler),
        "classifier": describe(model),
        "random_state": np.asarray(random_state).item(),
        "initial_size": np.asarray(initial_size).item(),
        "batch_size": np.asarray(batch_size).item(),
        "test_size": np.asarray(test_size).item(),
        "swap_split": bool(swap_split),
        "data": {"X": fingerprint(X), "y": fingerprint(y), "noisy": fingerprint(noisy)},
    }


class RunStore:
    """The stored steps of one run in a cache folder (used by
    :func:`~iwkmeans.experiments.run_experiment` and :func:`replay`).

    Every file is read back only after its size and SHA-256 are checked
    against those the log recorded when it was written (see the module's
    documentation for what happens to a damaged one).

    Parameters
    ----------
    cache : str or os.PathLike
        The cache folder.
    key : str
        The run's folder name in it (see :func:`run_key`).

    Attributes
    ----------
    folder : pathlib.Path
        The cache folder.
    key : str
        The run's folder name.
    run_folder : pathlib.Path
        The run's folder, ``folder / key``.
    """

    def __init__(self, cache, key):
        self.folder = _check_folder(cache)
        self.key = key
        self.run_folder = self.folder / key

    def stored_settings(self):
        """The settings the run was made with, or None if it is not stored
        (a run whose folder was deleted is not: that starts it afresh).

        Returns
        -------
        settings : dict or None
            The settings recorded in the log (see :func:`run_settings`).
        """
        if not ((self.folder / LOG_FILE).is_file() and self.run_folder.is_dir()):
            return None
        with _connect(self.folder) as connection:
            row = connection.execute(
                "SELECT settings FROM runs WHERE run = ?", (self.key,)
            ).fetchone()
        if row is None:
            return None
        try:
            return json.loads(row[0])
        except ValueError:
            raise _log_error(
                self.folder / LOG_FILE, sqlite3.DatabaseError("malformed settings")
            ) from None

    def open(self, settings, initial, test):
        """Start the run, or check that the stored one is the same run.

        A stored run made with other settings or another split raises a
        ValueError naming the differences; a new run gets its settings,
        initial and test rows written. A damaged ``settings.json`` is
        rewritten from the log; a damaged ``initial.npy`` or ``test.npy``
        sets every stored step aside (the run is recomputed from step 0);
        both with a :class:`CacheWarning` naming the file.

        Parameters
        ----------
        settings : dict
            The run's settings (see :func:`run_settings`).
        initial : ndarray of int
            Rows of X in the initial labeled set.
        test : ndarray of int
            Rows of X in the test set.
        """
        # What JSON gives back, so that a fresh run compares equal to its stored self.
        settings = json.loads(json.dumps(settings))
        stored = self.stored_settings()
        if stored is None:
            if any(self.run_folder.glob("iter_*")):
                _warn(
                    f"{self.folder / LOG_FILE} has no record of run {self.key!r}, "
                    f"yet {self.run_folder} holds steps (was the log deleted or "
                    f"emptied?): they are not trusted, the run is recomputed."
                )
            self._write_run_files(settings, initial, test, new=True)
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
        with _connect(self.folder) as connection:
            recorded = self._recorded(connection)[RUN_FILES]
        legacy = not recorded
        if legacy:
            self._warn_legacy()
        path = self.run_folder / "settings.json"
        try:
            if _read(path, recorded.get(path.name), legacy) != stored:
                raise _Damaged(path, f"the file differs from the settings recorded in {LOG_FILE}")
        except _Damaged as damage:
            _warn(
                f"{damage}. It is rewritten from the settings recorded in "
                f"{LOG_FILE}; no step needs recomputing."
            )
            data = _settings_bytes(stored)
            _save_file(path, data)
            if not legacy:
                with _connect(self.folder, write=True) as connection:
                    connection.execute(
                        "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)",
                        (self.key, RUN_FILES, path.name, *_record(data)),
                    )
        try:
            stored_initial, stored_test = (
                _read(self.run_folder / name, recorded.get(name), legacy)
                for name in ("initial.npy", "test.npy")
            )
        except _Damaged as damage:
            _warn(
                f"{damage}. Every step of run {self.key!r} depends on it: the run "
                f"is recomputed from step 0."
            )
            self._write_run_files(stored, initial, test, new=False)
            return
        if not (np.array_equal(stored_initial, initial) and np.array_equal(stored_test, test)):
            raise ValueError(
                f"The cache {self.folder} holds run {self.key!r} with the same "
                f"settings but another train/test split (a different scikit-learn "
                f"version?). Delete {self.run_folder} to start this run afresh."
            )

    def _write_run_files(self, settings, initial, test, new):
        """Write the run's own files and record them; the steps stored before
        (if any) stop being trusted first."""
        self.run_folder.mkdir(parents=True, exist_ok=True)
        if new:  # forget what the log holds of a run whose folder was deleted
            with _connect(self.folder, write=True) as connection:
                for table in ("runs", "iterations", "files", "log"):
                    connection.execute(f"DELETE FROM {table} WHERE run = ?", (self.key,))
        else:
            self._set_aside(0)
        files = {
            "settings.json": _settings_bytes(settings),
            "initial.npy": _npy_bytes(initial),
            "test.npy": _npy_bytes(test),
        }
        for name, data in files.items():
            _save_file(self.run_folder / name, data)
        with _connect(self.folder, write=True) as connection:
            if new:
                connection.execute(
                    "INSERT INTO runs VALUES (?, ?)",
                    (self.key, json.dumps(settings, sort_keys=True)),
                )
            connection.execute(
                "DELETE FROM files WHERE run = ? AND iteration = ?", (self.key, RUN_FILES)
            )
            connection.executemany(
                "INSERT INTO files VALUES (?, ?, ?, ?, ?)",
                [(self.key, RUN_FILES, name, *_record(data)) for name, data in files.items()],
            )

    def _warn_legacy(self):
        _warn(
            f"Run {self.key!r} in the cache {self.folder} was stored by an older "
            f"iwkmeans, without checksums: its files are read without "
            f"verification (a truncated or garbage file is still detected and "
            f"recomputed, an altered but readable one is not). Delete "
            f"{self.run_folder} to recompute it with checksums."
        )

    def _is_legacy(self, connection):
        """Whether the run was stored before checksums (none for its own files)."""
        return (
            connection.execute(
                "SELECT COUNT(*) FROM files WHERE run = ? AND iteration = ?", (self.key, RUN_FILES)
            ).fetchone()[0]
            == 0
        )

    def _recorded(self, connection, iteration=None):
        """iteration -> {file name: (size, sha256)} of what the log recorded,
        RUN_FILES included (empty for a run stored before checksums); or the
        dict of one ``iteration``."""
        recorded = {RUN_FILES: {}}
        query = "SELECT iteration, name, size, sha256 FROM files WHERE run = ?"
        arguments = (self.key,)
        if iteration is not None:
            query += " AND iteration = ?"
            arguments += (iteration,)
        for i, name, size, sha256 in connection.execute(query, arguments):
            recorded.setdefault(i, {})[name] = (size, sha256)
        return recorded if iteration is None else recorded.get(iteration, {})

    def _load(self, iteration, name):
        """A stored file, verified; a damaged one raises CorruptCacheError."""
        with _connect(self.folder) as connection:
            record = connection.execute(
                "SELECT size, sha256 FROM files WHERE run = ? AND iteration = ? AND name = ?",
                (self.key, iteration, name),
            ).fetchone()
            legacy = self._is_legacy(connection)
        return self._verified(iteration, name, record, legacy)

    def _verified(self, iteration, name, record, legacy):
        folder = (
            self.run_folder
            if iteration == RUN_FILES
            else _iteration_folder(self.run_folder, iteration)
        )
        try:
            return _read(folder / name, record, legacy)
        except _Damaged as damage:
            raise self._corrupt(damage) from None

    def _corrupt(self, damage):
        return CorruptCacheError(
            f"{damage}. Run run_experiment again with this cache and the run's "
            f"settings: it recomputes the damaged step and the ones after it (or "
            f"delete {self.run_folder} to start the run afresh)."
        )

    def initial(self):
        """The rows of the initial labeled set.

        Returns
        -------
        rows : ndarray of int
            Rows of X, as stored by :meth:`open`.
        """
        return self._load(RUN_FILES, "initial.npy")

    def test(self):
        """The rows of the test set.

        Returns
        -------
        rows : ndarray of int
            Rows of X, as stored by :meth:`open`.
        """
        return self._load(RUN_FILES, "test.npy")

    def n_stored(self):
        """How many steps, from the first, are stored and trusted.

        A step is trusted once its row in ``iterations`` is committed and
        each of its files matches the size and SHA-256 recorded with it. The
        first step that does not (a file truncated, garbage, altered or
        missing) ends the count with a :class:`CacheWarning` naming the
        file: that step and the ones after it, which depend on it, are
        recomputed by the run.

        Returns
        -------
        n : int
            The number of trusted steps: steps 0 to ``n - 1``.
        """
        n, damage = self._verified_steps()
        if damage is not None:
            _warn(
                f"{damage}. Step {n} of run {self.key!r} and the steps after it, "
                f"which depend on it, are not trusted: they are recomputed."
            )
        return n

    def _verified_steps(self):
        """The number of trusted steps, and the _Damaged that ended them (or
        None)."""
        with _connect(self.folder) as connection:
            committed = {
                i
                for (i,) in connection.execute(
                    "SELECT iteration FROM iterations WHERE run = ?", (self.key,)
                )
            }
            recorded = self._recorded(connection)
        legacy = not recorded[RUN_FILES]
        n = 0
        while n in committed:  # steps are written in order; trust the unbroken prefix
            folder = _iteration_folder(self.run_folder, n)
            files = recorded.get(n)
            try:
                if not folder.is_dir():
                    raise _Damaged(folder, "the step's folder is missing")
                if files is None:  # stored before checksums, or not recorded
                    names = ["predictions.npy", "random_state.json"]
                    if (folder / "selected.npy").exists():
                        names.append("selected.npy")
                    files = dict.fromkeys(names)
                for name, record in files.items():
                    _read(folder / name, record, legacy, parse=False)
            except _Damaged as damage:
                return n, damage
            n += 1
        return n, None

    def load(self, iteration):
        """The logged scalars (name -> float) and the selected rows (None at
        the last step) of a stored step.

        Parameters
        ----------
        iteration : int
            The step, from 0.

        Returns
        -------
        values : dict of str to float
            The step's logged scalars (without the NaN ones).
        batch : ndarray of int or None
            Rows of X selected at the step; None at the last step.
        """
        with _connect(self.folder) as connection:
            values = dict(
                connection.execute(
                    "SELECT name, value FROM log WHERE run = ? AND iteration = ?",
                    (self.key, iteration),
                )
            )
            files = self._recorded(connection, iteration)
            legacy = self._is_legacy(connection)
        folder = _iteration_folder(self.run_folder, iteration)
        if not files and legacy and (folder / "selected.npy").exists():
            files = {"selected.npy": None}  # stored before checksums
        batch = None
        if "selected.npy" in files:
            batch = self._verified(iteration, "selected.npy", files["selected.npy"], legacy)
        return values, batch

    def has_batch(self, iteration):
        """Whether a stored step selected a batch (every step but a run's last).

        Parameters
        ----------
        iteration : int
            The step, from 0.

        Returns
        -------
        has_batch : bool
            True if the step stored a ``selected.npy``.
        """
        with _connect(self.folder) as connection:
            names = self._recorded(connection, iteration)
        if not names:  # stored before checksums
            return (_iteration_folder(self.run_folder, iteration) / "selected.npy").exists()
        return "selected.npy" in names

    def load_predictions(self, iteration):
        """The test predictions of a stored step.

        Parameters
        ----------
        iteration : int
            The step, from 0.

        Returns
        -------
        predictions : ndarray
            The step's model's predictions on the test set.
        """
        return self._load(iteration, "predictions.npy")

    def load_random_state(self, iteration):
        """The sampler's random state after a stored step, for
        ``RandomState.set_state``.

        Parameters
        ----------
        iteration : int
            The step, from 0.

        Returns
        -------
        state : dict
            ``RandomState.get_state(legacy=False)`` as it was after the step.
        """
        return self._load(iteration, "random_state.json")

    def save(self, iteration, values, selected, predictions, random_state):
        """Store one step: its scalars (name -> float; NaN ones are left
        out), the selected rows (None at the last step), its test
        predictions and the sampler's ``numpy.random.RandomState``.

        Parameters
        ----------
        iteration : int
            The step, from 0.
        values : dict of str to float
            The step's scalars; NaN ones are not stored.
        selected : ndarray of int or None
            Rows of X selected at the step; None at the last step.
        predictions : ndarray
            The step's predictions on the test set.
        random_state : numpy.random.RandomState
            The sampler's random state after the step.
        """
        # A step stored before (the last step of a shorter run, now redone, or
        # a damaged one) stops being trusted, and the ones after it, before
        # its folder changes.
        self._set_aside(iteration)
        files = self._write_folder(iteration, selected, predictions, random_state)
        self._commit(iteration, values, files)

    def _set_aside(self, iteration):
        """Stop trusting the steps from ``iteration`` on."""
        with _connect(self.folder, write=True) as connection:
            connection.execute(
                "DELETE FROM iterations WHERE run = ? AND iteration >= ?", (self.key, iteration)
            )
            connection.execute(
                "DELETE FROM files WHERE run = ? AND iteration >= ?", (self.key, iteration)
            )

    def _write_folder(self, iteration, selected, predictions, random_state):
        """Write the step's folder; return its files' size and SHA-256."""
        state = random_state.get_state(legacy=False)
        state["state"]["key"] = state["state"]["key"].tolist()
        files = {
            "predictions.npy": _npy_bytes(predictions),
            "random_state.json": _json_bytes(state),
        }
        if selected is not None:
            files["selected.npy"] = _npy_bytes(selected)
        final = _iteration_folder(self.run_folder, iteration)
        temporary = final.with_name(f".{final.name}.tmp")
        shutil.rmtree(temporary, ignore_errors=True)  # left by a killed run
        temporary.mkdir()
        for name, data in files.items():
            (temporary / name).write_bytes(data)
        # An untrusted folder of the same step, left by a killed run, gives way.
        shutil.rmtree(final, ignore_errors=True)
        os.rename(temporary, final)
        return {name: _record(data) for name, data in files.items()}

    def _commit(self, iteration, values, files):
        """Log the step's scalars and its files' checksums and mark it
        trusted, in one transaction."""
        rows = [
            (self.key, iteration, name, float(value))
            for name, value in values.items()
            if np.isfinite(value)
        ]
        with _connect(self.folder, write=True) as connection:
            connection.execute(
                "DELETE FROM log WHERE run = ? AND iteration = ?", (self.key, iteration)
            )
            connection.executemany("INSERT INTO log VALUES (?, ?, ?, ?)", rows)
            connection.execute(
                "DELETE FROM files WHERE run = ? AND iteration = ?", (self.key, iteration)
            )
            connection.executemany(
                "INSERT INTO files VALUES (?, ?, ?, ?, ?)",
                [
                    (self.key, iteration, name, size, sha256)
                    for name, (size, sha256) in files.items()
                ],
            )
            connection.execute(
                "INSERT OR REPLACE INTO iterations VALUES (?, ?)", (self.key, iteration)
            )


def read_log(cache):
    """Every logged scalar of a cache, as a tidy table.

    Reads ``log.sqlite`` only (the stored files are not read, hence not
    verified); a damaged log raises :class:`CorruptCacheError`, one locked
    by another process :class:`CacheLockedError`. Runs whose folder was
    deleted are left out.

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
            "ORDER BY log.run, log.iteration, log.name"
        ).fetchall()
    return [
        dict(zip(("run", "iteration", "name", "value"), row))
        for row in rows
        if (folder / row[0]).is_dir()
    ]


@dataclass(frozen=True)
class ReplayedStep:
    """One stored step of a run, as :func:`replay` gives it.

    Parameters
    ----------
    iteration : int
        The step, as the attribute.
    labeled : ndarray of int
        The labeled rows, as the attribute.
    batch : ndarray of int or None
        The selected rows, as the attribute.
    test : ndarray of int
        The test rows, as the attribute.
    model : classifier or None, default=None
        The refitted model, as the attribute.

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
    ``classifier`` a model is fitted on it (seeded as the run seeded its
    own), so that any metric can be computed afterwards, e.g. the
    noisy-sample ratio of each batch::

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
        The model fitted at each step, cloned, with the run's seed where its
        ``random_state`` is None. The run's classifier (as given to
        ``run_experiment``) gives the run's own models; another one trains
        on the labeled sets the run's models chose (the reuse check of
        :func:`~iwkmeans.experiments.bias.labeled_set_bias`). None:
        ``model`` is None at every step.

    Returns
    -------
    steps : iterator of ReplayedStep
        The stored steps in order; the arguments and the stored files are
        checked at once, the models fitted as the steps are drawn.

    Raises
    ------
    CorruptCacheError
        If a stored file of the run is damaged (truncated, garbage, altered
        or missing); it names the file. :func:`replay` cannot recompute it:
        run ``run_experiment`` again with the same cache and settings, which
        does.
    """
    store = RunStore(cache, run)
    settings = store.stored_settings()
    if settings is None:
        raise ValueError(f"run {run!r} is not stored in the cache {store.folder}.")
    X = check_data(X, name="X", accept_sparse=True)
    y = np.asarray(y)
    for name, array in (("X", X), ("y", y)):
        if fingerprint(array) != settings["data"][name]:
            raise ValueError(
                f"{name} is not the data run {run!r} was made with (its fingerprint differs)."
            )
    model = None if classifier is None else seeded_model(classifier, settings["random_state"])
    with _connect(store.folder) as connection:
        legacy = store._is_legacy(connection)
    if legacy:
        store._warn_legacy()
    labeled, test = store.initial(), store.test()
    n_steps, damage = store._verified_steps()
    if damage is not None:
        raise store._corrupt(damage)
    return _replay_steps(store, X, y, model, labeled, test, n_steps)


def _replay_steps(store, X, y, model, labeled, test, n_steps):
    for iteration in range(n_steps):
        _, batch = store.load(iteration)
        fitted = None if model is None else clone(model).fit(X[labeled], y[labeled])
        yield ReplayedStep(iteration, labeled, batch, test, fitted)
        if batch is None:
            break
        labeled = np.concatenate([labeled, batch])
