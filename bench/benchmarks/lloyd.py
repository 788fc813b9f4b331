"""Lloyd's algorithm of IncrementalKMeans: one iteration and a full fit."""

from iwkmeans import IncrementalKMeans

from ._data import THREADS, blobs, n_threads, rows

N_SAMPLES, N_FEATURES, N_CLUSTERS = 50_000, 32, 64


class Lloyd:
    """``IncrementalKMeans.fit`` on 50,000 x 32 blobs, 64 free clusters.

    ``n_fixed`` fixed centers (rows of X) take part in every assignment.
    """

    params = (["float32", "float64"], [0, 200], THREADS)
    param_names = ["dtype", "n_fixed", "threads"]
    timeout = 120

    def setup(self, dtype, n_fixed, threads):
        self.X = blobs(N_SAMPLES, N_FEATURES, dtype)
        self.fixed = rows(self.X, n_fixed, seed=1) if n_fixed else None
        self.init = rows(self.X, N_CLUSTERS, seed=2)
        self.n_threads = n_threads(threads)

    def _fit(self, **kwargs):
        km = IncrementalKMeans(N_CLUSTERS, n_threads=self.n_threads, **kwargs)
        return km.fit(self.X, fixed_centers=self.fixed)

    def time_lloyd_iter(self, dtype, n_fixed, threads):
        """One Lloyd iteration (assignment + update) from fixed initial centers."""
        self._fit(init=self.init, max_iter=1, tol=0)

    def time_fit(self, dtype, n_fixed, threads):
        """A full fit: k-means++ seeding, then Lloyd with the default tol."""
        self._fit(random_state=0)


class LloydFit:
    """Memory and result of the full fit of :class:`Lloyd`, default threads.

    Neither depends on the thread count (the fit is bit-identical for any
    ``n_threads``), so it is not a parameter here.
    """

    params = (["float32", "float64"], [0, 200])
    param_names = ["dtype", "n_fixed"]
    timeout = 120

    def setup(self, dtype, n_fixed):
        self.X = blobs(N_SAMPLES, N_FEATURES, dtype)
        self.fixed = rows(self.X, n_fixed, seed=1) if n_fixed else None
        self.n_threads = n_threads("all")

    def _fit(self):
        km = IncrementalKMeans(N_CLUSTERS, random_state=0, n_threads=self.n_threads)
        return km.fit(self.X, fixed_centers=self.fixed)

    def peakmem_fit(self, dtype, n_fixed):
        """Peak resident memory of the benchmark process (imports and setup included)."""
        self._fit()

    def track_inertia(self, dtype, n_fixed):
        """Inertia of the full fit."""
        return float(self._fit().inertia_)

    track_inertia.unit = "inertia"
