"""Greedy, weighted k-means++ seeding."""

from iwkmeans import kmeans_plusplus

from ._data import THREADS, blobs, n_threads, rows

N_SAMPLES, N_FEATURES, N_CLUSTERS = 50_000, 32, 64


class KMeansPlusPlus:
    """``kmeans_plusplus`` of 64 centers on 50,000 x 32 blobs."""

    params = (["float32", "float64"], [0, 200], THREADS)
    param_names = ["dtype", "n_fixed", "threads"]

    def setup(self, dtype, n_fixed, threads):
        self.X = blobs(N_SAMPLES, N_FEATURES, dtype)
        self.fixed = rows(self.X, n_fixed, seed=1) if n_fixed else None
        self.n_threads = n_threads(threads)

    def time_kmeans_plusplus(self, dtype, n_fixed, threads):
        kmeans_plusplus(
            self.X,
            N_CLUSTERS,
            fixed_centers=self.fixed,
            random_state=0,
            n_threads=self.n_threads,
        )
