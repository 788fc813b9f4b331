"""Nearest-center assignment of new samples."""

from iwkmeans import IncrementalKMeans

from ._data import THREADS, blobs, n_threads, rows

N_SAMPLES, N_FEATURES, N_CLUSTERS = 50_000, 32, 64


class Predict:
    """``IncrementalKMeans.predict`` of 50,000 new samples, 64 + n_fixed centers."""

    params = (["float32", "float64"], [0, 200], THREADS)
    param_names = ["dtype", "n_fixed", "threads"]

    def setup(self, dtype, n_fixed, threads):
        X = blobs(N_SAMPLES, N_FEATURES, dtype)
        fixed = rows(X, n_fixed, seed=1) if n_fixed else None
        # One Lloyd iteration from given centers: a cheap, deterministic model.
        self.km = IncrementalKMeans(
            N_CLUSTERS,
            init=rows(X, N_CLUSTERS, seed=2),
            max_iter=1,
            tol=0,
            n_threads=n_threads(threads),
        ).fit(X, fixed_centers=fixed)
        self.X_new = blobs(N_SAMPLES, N_FEATURES, dtype, seed=1)

    def time_predict(self, dtype, n_fixed, threads):
        self.km.predict(self.X_new)
