"""The fused tile against the GEMM path it replaces (issue 16), side by side.

Usage (from the repository root, after building in place):

    python bench/fused_tile.py [--threads 1] [SHAPE ...]     # SHAPE: 100000x64x100

On a CPU where Lloyd's fused tile runs (AVX-512, or AVX2 and FMA), times one
marginal Lloyd iteration with the tile and with the GEMM path, switching the
kernel between calls in one process (``_common.fused_kernel``): fits of 12 and
of 4 iterations from the same initial centers, (t12 - t4) / 8, medians of 5,
the two kernels alternated. Also gives numpy's matmul GF/s on a (4096, d) @
(d, k) product at the same thread count, and each kernel's share of it.
On other CPUs both columns time the same kernels.
"""

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from iwkmeans import IncrementalKMeans
from iwkmeans._core._kernels import _common

SHAPES = ["100000x64x100", "20000x128x1000", "100000x16x8"]


def marginal_iteration(X, init, n_threads, repeats=5):
    """Median seconds of one marginal iteration, per kernel (fused, GEMM)."""

    def fit(max_iter):
        start = time.perf_counter()
        IncrementalKMeans(
            init.shape[0], init=init, max_iter=max_iter, tol=0, n_threads=n_threads
        ).fit(X)
        return time.perf_counter() - start

    fit(2)
    times = {True: [], False: []}
    previous = _common.fused_kernel()
    try:
        for _ in range(repeats):
            for fused in (True, False):
                _common.fused_kernel(fused)
                times[fused].append((fit(12) - fit(4)) / 8)
    finally:
        _common.fused_kernel(previous)
    return {fused: float(np.median(t)) for fused, t in times.items()}


def matmul_gflops(d, k, dtype, rng, repeats=7, batch=20):
    a = rng.standard_normal((4096, d)).astype(dtype)
    b = rng.standard_normal((d, k)).astype(dtype)
    out = np.empty((4096, k), dtype)
    np.matmul(a, b, out=out)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(batch):
            np.matmul(a, b, out=out)
        times.append((time.perf_counter() - start) / batch)
    return 2 * 4096 * d * k / np.median(times) / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shapes", nargs="*", default=SHAPES, metavar="SHAPE")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    print(f"fused tile runs here: {bool(_common.fused_panel(False))}; threads {args.threads}")
    rng = np.random.default_rng(0)
    with threadpool_limits(args.threads):
        for shape in args.shapes:
            n, d, k = map(int, shape.split("x"))
            for dtype in (np.float32, np.float64):
                X = rng.standard_normal((n, d)).astype(dtype)
                init = X[rng.choice(n, k, replace=False)]
                seconds = marginal_iteration(X, init, args.threads)
                reference = matmul_gflops(d, k, dtype, rng)
                cells = []
                for fused, name in ((True, "fused"), (False, "GEMM path")):
                    gflops = 2 * n * d * k / seconds[fused] / 1e9
                    share = gflops / reference
                    cells.append(f"{name} {seconds[fused] * 1e3:.2f} ms, {share:.2f} of matmul")
                print(
                    f"{shape} {np.dtype(dtype).name}: " + " | ".join(cells),
                    f"| matmul {reference:.1f} GF/s",
                    flush=True,
                )


if __name__ == "__main__":
    main()
