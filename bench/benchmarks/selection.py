"""Batch selection for active learning: WKMeans and IWKMeans."""

import numpy as np

from iwkmeans import select_wkmeans

from ._data import THREADS, blobs, n_threads

N_POOL, N_FEATURES, N_LABELED = 20_000, 64, 500
BATCH_SIZE, BETA = 50, 10


class SelectWKMeans:
    """``select_wkmeans`` of a batch of 50 from a 20,000 x 64 pool, beta=10.

    "wkmeans": no labeled samples; "iwkmeans": 500 labeled samples as fixed
    centroids. Scores are random and non-negative.
    """

    params = (["wkmeans", "iwkmeans"], THREADS)
    param_names = ["method", "threads"]

    def setup(self, method, threads):
        X = blobs(N_POOL + N_LABELED, N_FEATURES, "float64", centers=20)
        self.X_pool = X[:N_POOL]
        self.X_labeled = X[N_POOL:] if method == "iwkmeans" else None
        self.scores = np.random.RandomState(0).rand(N_POOL)
        self.n_threads = n_threads(threads)

    def time_select(self, method, threads):
        select_wkmeans(
            self.X_pool,
            self.scores,
            BATCH_SIZE,
            beta=BETA,
            X_labeled=self.X_labeled,
            random_state=0,
            n_threads=self.n_threads,
        )
