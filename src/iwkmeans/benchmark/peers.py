"""The implementations compared: iwkmeans and its peers, each a loader of its tasks.

A peer is one entry in :data:`PEERS`; :func:`_load_peers` imports them all and
keeps, for a peer that cannot be imported, the reason it is skipped.
"""

import logging
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from .cases import FAISS_SEED, MINIBATCH_SIZE, SEED, _seeding_summary

OURS = "iwkmeans"
FLOAT32_ONLY = "float32 only"


# Implementations. Each loader returns {task: callable or reason-string}; a
# string says why the implementation cannot run that task. Thread counts are
# imposed on every implementation by threadpoolctl around the timed calls;
# n_threads is passed on to implementations that take it as well.
#
# Tasks and their call signatures:
#   "lloyd"            (X, init, max_iter, n_threads) -> fitted estimator
#   "lloyd_fixed"      (X, fixed_centers, init, max_iter, n_threads) -> fitted estimator
#   "lloyd_sparse"     (X (CSR), init, max_iter, n_threads) -> fitted estimator
#   "fit"              (X, n_clusters, random_state, n_threads) -> fitted estimator
#   "minibatch"        (X, init, passes, n_threads) -> fitted estimator
#   "kmeans_plusplus"  (X, n_clusters, random_state, n_threads) -> centers
#
# "Fitted estimator" means anything with ``inertia_`` and ``n_iter_``. A
# callable may carry (see _task_info) a ``why_not`` attribute: called with
# the arguments (less n_threads) before anything runs, it returns the reason
# the implementation cannot run this case (e.g. its dtype), or None; and a
# ``note`` for the report's rows it runs in. A returned estimator may carry a
# ``bench_note`` for its row.


def _task_info(why_not=None, note=None):
    """Decorator attaching ``why_not(*args) -> reason or None`` and ``note`` to a task."""

    def attach(func):
        func.why_not = why_not or (lambda *args: None)
        func.note = note
        return func

    return attach


def _float32_only(X, *rest):
    return None if X.dtype == np.float32 else FLOAT32_ONLY


def _iwkmeans_tasks():
    from iwkmeans import IncrementalKMeans, IncrementalMiniBatchKMeans, kmeans_plusplus

    def lloyd(X, init, max_iter, n_threads):
        return lloyd_fixed(X, None, init, max_iter, n_threads)

    def lloyd_fixed(X, fixed_centers, init, max_iter, n_threads):
        km = IncrementalKMeans(
            init.shape[0], init=init, max_iter=max_iter, tol=0, n_threads=n_threads
        )
        return km.fit(X, fixed_centers=fixed_centers)

    def fit(X, n_clusters, random_state, n_threads):
        km = IncrementalKMeans(n_clusters, n_init=1, random_state=random_state, n_threads=n_threads)
        return km.fit(X)

    def seeding(X, n_clusters, random_state, n_threads):
        return kmeans_plusplus(X, n_clusters, random_state=random_state, n_threads=n_threads)[0]

    def minibatch(X, init, passes, n_threads):
        mb = IncrementalMiniBatchKMeans(
            init.shape[0],
            init=init,
            batch_size=MINIBATCH_SIZE,
            max_iter=passes,
            max_no_improvement=None,
            random_state=SEED,
            n_threads=n_threads,
        )
        return mb.fit(X)

    return {
        "lloyd": lloyd,
        "lloyd_sparse": lloyd,
        "lloyd_fixed": lloyd_fixed,
        "fit": fit,
        "kmeans_plusplus": seeding,
        "minibatch": minibatch,
    }


def _sklearn_tasks():
    from sklearn.cluster import KMeans, MiniBatchKMeans, kmeans_plusplus

    def lloyd(X, init, max_iter, n_threads):
        km = KMeans(
            init.shape[0],
            init=init,
            n_init=1,
            max_iter=max_iter,
            tol=0,
            algorithm="lloyd",
        )
        return km.fit(X)

    def fit(X, n_clusters, random_state, n_threads):
        km = KMeans(n_clusters, n_init=1, random_state=random_state, algorithm="lloyd")
        return km.fit(X)

    def seeding(X, n_clusters, random_state, n_threads):
        return kmeans_plusplus(X, n_clusters, random_state=random_state)[0]

    def minibatch(X, init, passes, n_threads):
        mb = MiniBatchKMeans(
            init.shape[0],
            init=init,
            n_init=1,
            batch_size=MINIBATCH_SIZE,
            max_iter=passes,
            max_no_improvement=None,
            random_state=SEED,
        )
        return mb.fit(X)

    return {
        "lloyd": lloyd,
        "lloyd_sparse": lloyd,
        "lloyd_fixed": "cannot fix centers",
        "fit": fit,
        "kmeans_plusplus": seeding,
        "minibatch": minibatch,
    }


class _FaissFit:
    """What the faiss tasks return: final centers and iterations run.

    ``inertia_`` is computed on demand, outside the timing, in float64 from
    the final centers: faiss's per-iteration objective (``obj``) is that of
    the centers *before* the iteration's update, whereas the other
    implementations report the inertia of their final centers.
    """

    def __init__(self, X, centers, n_iter):
        self._X = X
        self.cluster_centers_ = centers
        self.n_iter_ = n_iter

    @property
    def inertia_(self):
        return _seeding_summary(self._X, self.cluster_centers_)[0]


def _faiss_tasks():
    import faiss

    kmeans_pp = getattr(faiss, "ClusteringInitMethod_KMEANS_PLUS_PLUS", None)

    def cluster(
        X,
        n_clusters,
        niter,
        n_threads,
        *,
        init=None,
        frozen=False,
        kmeans_plusplus=False,
        seed=FAISS_SEED,
    ):
        faiss.omp_set_num_threads(n_threads)
        cp = faiss.ClusteringParameters()
        cp.niter = niter
        cp.seed = seed
        cp.frozen_centroids = frozen
        # Train on every sample: by default faiss subsamples to 256 per center.
        cp.max_points_per_centroid = 1 << 30
        cp.min_points_per_centroid = 1  # only silences a warning on small cases
        if kmeans_plusplus:
            cp.init_method = kmeans_pp
        d = X.shape[1]
        clus = faiss.Clustering(d, n_clusters, cp)
        if init is not None:
            faiss.copy_array_to_vector(
                np.ascontiguousarray(init, dtype=np.float32).ravel(), clus.centroids
            )
        clus.train(X, faiss.IndexFlatL2(d))
        centers = faiss.vector_float_to_array(clus.centroids).reshape(n_clusters, d)
        return _FaissFit(X, centers, clus.iteration_stats.size())

    def free_init_is_faiss_draw(X, fixed_centers, init, max_iter):
        if X.dtype != np.float32:
            return FLOAT32_ONLY
        perm = np.empty(X.shape[0], dtype=np.int32)
        faiss.rand_perm(faiss.swig_ptr(perm), X.shape[0], FAISS_SEED + 1)
        rows = perm[len(fixed_centers) : len(fixed_centers) + len(init)]
        if not np.array_equal(X[rows], init):
            return "draws the free centers' initial positions itself, not from this init"
        return None

    plain_pp = (
        "faiss: plain k-means++ (one candidate per pick; iwkmeans' and "
        "scikit-learn's pick the best of 2 + log k)"
    )

    @_task_info(_float32_only)
    def lloyd(X, init, max_iter, n_threads):
        return cluster(X, init.shape[0], max_iter, n_threads, init=init)

    @_task_info(free_init_is_faiss_draw)
    def lloyd_fixed(X, fixed_centers, init, max_iter, n_threads):
        # Frozen centroids: the given centers stay, the remaining ones start
        # from faiss's own draw of rows, which the case made equal to init.
        return cluster(
            X, len(fixed_centers) + len(init), max_iter, n_threads, init=fixed_centers, frozen=True
        )

    @_task_info(
        _float32_only,
        plain_pp + "; no tol: stops when the objective stops "
        "changing, after at most 300 iterations (scikit-learn's default max_iter)",
    )
    def fit(X, n_clusters, random_state, n_threads):
        return cluster(X, n_clusters, 300, n_threads, kmeans_plusplus=True, seed=random_state)

    @_task_info(_float32_only, plain_pp)
    def seeding(X, n_clusters, random_state, n_threads):
        return cluster(
            X, n_clusters, 0, n_threads, kmeans_plusplus=True, seed=random_state
        ).cluster_centers_

    no_pp = "this faiss has no k-means++ (ClusteringParameters.init_method)"
    return {
        "lloyd": lloyd,
        "lloyd_sparse": "dense input only",
        "lloyd_fixed": lloyd_fixed,
        "fit": fit if kmeans_pp is not None else no_pp,
        "kmeans_plusplus": seeding if kmeans_pp is not None else no_pp,
    }


class _FallbackWatch(logging.Handler):
    """Tells whether scikit-learn-intelex fell back to stock scikit-learn in a call.

    sklearnex logs, at INFO level on its "sklearnex" logger, whether each
    call ran its accelerated (oneDAL) code or fell back; a fallback would
    make the sklearnex columns a second copy of scikit-learn's.
    """

    def __init__(self):
        super().__init__(logging.INFO)
        self.fell_back = False

    def emit(self, record):
        if "fallback" in record.getMessage().lower():
            self.fell_back = True

    def run(self, fit, X):
        # This handler alone for the call: sklearnex's own prints to stderr.
        logger = logging.getLogger("sklearnex")
        saved = logger.handlers, logger.level, logger.propagate
        self.fell_back = False
        logger.handlers, logger.propagate = [self], False
        logger.setLevel(logging.INFO)
        try:
            estimator = fit(X)
        finally:
            logger.handlers, _, logger.propagate = saved
            logger.setLevel(saved[1])
        if self.fell_back:
            estimator.bench_note = "fell back to stock scikit-learn"
        return estimator


def _sklearnex_tasks():
    from sklearnex.cluster import KMeans

    watch = _FallbackWatch()

    # n_jobs sets oneDAL's (TBB) threads, which threadpoolctl does not reach.
    def lloyd(X, init, max_iter, n_threads):
        km = KMeans(
            init.shape[0],
            init=init,
            n_init=1,
            max_iter=max_iter,
            tol=0,
            algorithm="lloyd",
            n_jobs=n_threads,
        )
        return watch.run(km.fit, X)

    def fit(X, n_clusters, random_state, n_threads):
        km = KMeans(
            n_clusters, n_init=1, random_state=random_state, algorithm="lloyd", n_jobs=n_threads
        )
        return watch.run(km.fit, X)

    return {
        "lloyd": lloyd,
        "lloyd_sparse": lloyd,
        "lloyd_fixed": "cannot fix centers",
        "fit": fit,
        "kmeans_plusplus": "no standalone k-means++",
    }


@dataclass(frozen=True)
class Peer:
    """An implementation to compare with: a name and a loader of its tasks.

    ``load`` returns ``{task: callable or reason}`` (see the task list above)
    and raises ImportError when the implementation is not installed.
    ``distribution`` is the package whose version the report shows.

    Parameters
    ----------
    name : str
        The implementation's name in the report.
    load : callable
        Takes no argument and returns ``{task: callable or reason}``.
    distribution : str, default=None
        The distribution (pip name) whose version the report shows; None:
        the report says the version is unknown.
    """

    name: str
    load: Callable[[], dict]
    distribution: Optional[str] = None


PEERS = (
    Peer("scikit-learn", _sklearn_tasks, "scikit-learn"),
    Peer("faiss", _faiss_tasks, "faiss-cpu"),
    Peer("sklearnex", _sklearnex_tasks, "scikit-learn-intelex"),
)


def _load_peers():
    """{name: tasks dict, or the reason string if the peer could not be imported}."""
    loaded = {}
    for peer in PEERS:
        try:
            loaded[peer.name] = peer.load()
        except (ImportError, OSError) as exc:  # OSError: a shared library failed to load
            loaded[peer.name] = f"not available ({exc})"
    return loaded
