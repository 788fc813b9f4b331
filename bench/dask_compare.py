"""Lloyd iterations on Dask: iwkmeans.dask against dask-ml, and against the
single-machine estimator. ``python bench/dask_compare.py [--quick] [--repeats R]``

1. Out of core: a float32 pool memory-mapped from a .npy file in a temporary
   folder (4 GiB; 64 MiB with --quick), read chunk by chunk by a
   LocalCluster of 2 single-threaded workers capped at 1 GiB each.
   ``iwkmeans.dask.IncrementalKMeans`` and ``dask_ml.cluster.KMeans`` fit it
   from the same initial centers.
2. In memory: a pool that fits (512 MiB; 16 MiB with --quick), fitted by
   ``iwkmeans.IncrementalKMeans`` on 2 threads and by the Dask estimator on
   the same cluster with the pool persisted on the workers: the overhead of
   the distributed path.

Time per iteration leaves out what a fit does once (validation pass, final
labels). Out of core, each Lloyd iteration is timed inside the fit: dask-ml
logs each one, and iwkmeans.dask's iteration function is wrapped with a
timer; ``--repeats`` fits of ``--long`` iterations (tol=0), interleaved,
after an untimed warm-up fit of each on one chunk. In memory, it is (fit of
``--long`` - fit of ``--short`` iterations) / (long - short). Medians. The
temporary folder is deleted at the end.
"""

import argparse
import logging
import os
import platform
import shutil
import statistics
import tempfile
import time

import dask
import dask.array as da
import numpy as np
import threadpoolctl
from distributed import Client, LocalCluster

import iwkmeans
from iwkmeans import dask as iwk_dask
from iwkmeans.dask import _lloyd as _dask_lloyd

N_FEATURES = 64
N_BLOBS = 100


def blobs_block(rows, seed):
    """Rows of Gaussian blobs around N_BLOBS fixed centers (the same
    centers for every seed), float32."""
    centers = np.random.default_rng(0).uniform(-10, 10, size=(N_BLOBS, N_FEATURES))
    rng = np.random.default_rng(seed + 1)
    labels = rng.integers(0, N_BLOBS, size=rows)
    block = rng.standard_normal((rows, N_FEATURES), dtype=np.float32)
    block *= 2.0
    block += centers.astype(np.float32)[labels]
    return block


def write_memmap(path, n_samples, chunk_rows):
    """Write the pool to a .npy file block by block (never all in memory)."""
    pool = np.lib.format.open_memmap(
        path, mode="w+", dtype=np.float32, shape=(n_samples, N_FEATURES)
    )
    for block, start in enumerate(range(0, n_samples, chunk_rows)):
        stop = min(start + chunk_rows, n_samples)
        pool[start:stop] = blobs_block(stop - start, block)
    pool.flush()
    del pool


def load_rows(path, block_info=None):
    """One chunk of the memory-mapped pool: a view into the file, so the
    worker reads pages on demand and holds no copy."""
    (start, stop), _ = block_info[None]["array-location"]
    return np.load(path, mmap_mode="r")[start:stop]


def memmap_array(path, n_samples, chunk_rows):
    sizes = [min(chunk_rows, n_samples - s) for s in range(0, n_samples, chunk_rows)]
    return da.map_blocks(
        load_rows,
        path,
        chunks=(tuple(sizes), (N_FEATURES,)),
        dtype=np.float32,
        meta=np.empty((0, 0), np.float32),
    )


def generated_array(n_samples, chunk_rows):
    """The same kind of pool, generated on the workers chunk by chunk."""
    sizes = [min(chunk_rows, n_samples - s) for s in range(0, n_samples, chunk_rows)]

    def block(block_info=None):
        (start, stop), _ = block_info[None]["array-location"]
        return blobs_block(stop - start, start // chunk_rows)

    return da.map_blocks(
        block,
        chunks=(tuple(sizes), (N_FEATURES,)),
        dtype=np.float32,
        meta=np.empty((0, 0), np.float32),
    )


def per_iteration(fit, short, long, repeats):
    """Median over repeats of (time of a long fit - time of a short fit) /
    (long - short); also checks that each fit ran exactly its iterations."""
    values = []
    for _ in range(repeats):
        times = {}
        for n_iter in (short, long):
            start = time.perf_counter()
            ran = fit(n_iter)
            times[n_iter] = time.perf_counter() - start
            if ran != n_iter:
                raise RuntimeError(
                    f"a fit converged after {ran} of {n_iter} iterations: the "
                    f"difference would not time {long - short} iterations"
                )
        values.append((times[long] - times[short]) / (long - short))
    return statistics.median(values), values


def initial_centers(X, n_clusters, seed):
    rows = np.sort(np.random.default_rng(seed).choice(X.shape[0], n_clusters, replace=False))
    return np.ascontiguousarray(X[rows].compute())


class IterationTimes(logging.Handler):
    """Collects the duration of each of dask-ml's Lloyd iterations, which
    its k-means module logs ("Finished Lloyd loop  i. in <timedelta>")."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.seconds = []

    def emit(self, record):
        if record.msg.startswith("Finished %s") and "Lloyd loop" in str(record.args[0]):
            self.seconds.append(record.args[1].total_seconds())


def timed_lloyd_iterations():
    """Wrap iwkmeans.dask's Lloyd iteration (one pass of block steps over
    the chunks and the update) with a timer; returns the list it fills."""
    seconds = []
    iteration = _dask_lloyd.lloyd_iteration

    def timed(*args, **kwargs):
        start = time.perf_counter()
        result = iteration(*args, **kwargs)
        seconds.append(time.perf_counter() - start)
        return result

    _dask_lloyd.lloyd_iteration = timed
    return seconds


def out_of_core(args, folder, client):
    """Per-iteration and whole-fit times of both estimators on the memory-
    mapped pool, fits interleaved, ``args.repeats`` fits of ``args.long``
    iterations each."""
    n_samples = args.ooc_rows
    path = os.path.join(folder, "pool.npy")
    start = time.perf_counter()
    write_memmap(path, n_samples, args.chunk_rows)
    print(
        f"wrote {n_samples} x {N_FEATURES} float32 = "
        f"{os.path.getsize(path) / 2**30:.2f} GiB in {time.perf_counter() - start:.0f} s"
    )
    X = memmap_array(path, n_samples, args.chunk_rows)
    init = initial_centers(X, args.n_clusters, 0)
    pids = client.run(os.getpid)
    try:
        from dask_ml.cluster import KMeans
    except ImportError:
        KMeans = None
        print("dask-ml is not installed: skipped (pip install '.[bench]')")

    def ours(data):
        return iwk_dask.IncrementalKMeans(
            args.n_clusters, init=init, max_iter=args.long, tol=0.0
        ).fit(data)

    def dask_ml(data):
        return KMeans(
            n_clusters=args.n_clusters, init=init, max_iter=args.long, tol=0.0, n_init=1
        ).fit(data)

    fits = {"dask-ml KMeans": dask_ml} if KMeans is not None else {}
    fits["iwkmeans.dask"] = ours
    # Warm-up on one chunk: imports and compilation (dask-ml's numba) on the
    # workers, outside the timings.
    for fit in fits.values():
        fit(X[: args.chunk_rows])
    handler = IterationTimes()
    logging.getLogger("dask_ml.cluster.k_means").addHandler(handler)
    logging.getLogger("dask_ml.cluster.k_means").setLevel(logging.INFO)
    per_iteration = {"dask-ml KMeans": handler.seconds, "iwkmeans.dask": timed_lloyd_iterations()}
    whole = {name: [] for name in fits}
    fitted = {}
    for _ in range(args.repeats):
        for name, fit in fits.items():
            start = time.perf_counter()
            fitted[name] = fit(X)
            whole[name].append(time.perf_counter() - start)
            if fitted[name].n_iter_ != args.long:
                raise RuntimeError(f"{name} stopped after {fitted[name].n_iter_} iterations")
    restarted = len(set(pids.values()) - set(client.run(os.getpid).values()))
    rows = {
        name: (
            statistics.median(per_iteration[name]),
            per_iteration[name],
            statistics.median(whole[name]),
        )
        for name in fits
    }
    if KMeans is not None:
        a, b = fitted["iwkmeans.dask"], fitted["dask-ml KMeans"]
        # (dask-ml's inertia_ is not comparable: after max_iter iterations it
        # sums unsquared distances.)
        print(
            f"same answer: largest |difference| between the final centers "
            f"{np.abs(a.cluster_centers_ - b.cluster_centers_).max():.2e}"
        )
    return rows, restarted


def in_memory(args, client):
    X = generated_array(args.mem_rows, args.mem_chunk_rows).persist()
    # The same pool built on the client (gathering X would concatenate it on
    # a worker, beyond its memory limit).
    X_local = np.concatenate(
        [
            blobs_block(
                min(args.mem_chunk_rows, args.mem_rows - start), start // args.mem_chunk_rows
            )
            for start in range(0, args.mem_rows, args.mem_chunk_rows)
        ]
    )
    init = initial_centers(X, args.n_clusters, 1)

    def ours(n_iter):
        return (
            iwk_dask.IncrementalKMeans(args.n_clusters, init=init, max_iter=n_iter, tol=0.0)
            .fit(X)
            .n_iter_
        )

    def single(n_iter):
        return (
            iwkmeans.IncrementalKMeans(
                args.n_clusters, init=init, max_iter=n_iter, tol=0.0, n_threads=2
            )
            .fit(X_local)
            .n_iter_
        )

    ours(1)  # warm-up
    single(1)

    rows = {
        "iwkmeans.IncrementalKMeans (2 threads)": per_iteration(
            single, args.short, args.long, args.repeats
        ),
        "iwkmeans.dask (persisted)": per_iteration(ours, args.short, args.long, args.repeats),
    }
    # The same answer both ways, from the same initial centers.
    a = iwkmeans.IncrementalKMeans(args.n_clusters, init=init, max_iter=args.short, tol=0.0).fit(
        X_local
    )
    b = iwk_dask.IncrementalKMeans(args.n_clusters, init=init, max_iter=args.short, tol=0.0).fit(X)
    same = np.array_equal(a.labels_, b.labels_.compute()) and np.allclose(
        a.cluster_centers_, b.cluster_centers_, rtol=1e-4, atol=1e-4
    )
    return rows, same


def header(args):
    blas = [
        f"{info.get('internal_api')} {info.get('version')} "
        f"({info.get('architecture')}, {info.get('num_threads')} threads)"
        for info in threadpoolctl.threadpool_info()
        if info.get("user_api") == "blas"
    ]
    print(
        f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}; "
        f"BLAS: {'; '.join(blas)}"
    )
    print(
        f"dask {dask.__version__}; cluster: 2 workers x 1 thread, memory limit "
        f"{args.memory_limit} each; k={args.n_clusters}, d={N_FEATURES}, chunks of "
        f"{args.chunk_rows} rows"
    )


def table(rows, baseline, whole_fit=False):
    extra = " whole fit s (median) |" if whole_fit else ""
    print(f"| estimator | s / iteration (median) | each |{extra} ratio |")
    print("| --- | ---: | --- |" + (" ---: |" if whole_fit else "") + " ---: |")
    for name, (median, values, *fit) in rows.items():
        ratio = rows[baseline][0] / median
        extra = f" {fit[0]:.1f} |" if whole_fit else ""
        print(
            f"| {name} | {median:.3f} | {', '.join(f'{v:.3f}' for v in values)} |"
            f"{extra} {ratio:.2f}x |"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 1 repeat")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--short", type=int, default=1)
    parser.add_argument("--long", type=int, default=3)
    parser.add_argument("--n-clusters", type=int, default=64)
    args = parser.parse_args()
    if args.quick:
        args.ooc_rows, args.mem_rows, args.chunk_rows = 2**18, 2**16, 2**15
        args.mem_chunk_rows = 2**14
        args.repeats, args.long = 1, 2
    else:
        args.ooc_rows, args.mem_rows, args.chunk_rows = 2**24, 2**21, 2**19
        # Persisted, the pool takes half of each worker's memory: smaller
        # chunks keep the generation's temporaries small beside it.
        args.mem_chunk_rows = 2**18
    args.memory_limit = "1GiB"
    header(args)
    folder = tempfile.mkdtemp(prefix="iwkmeans-dask-bench-")
    try:
        with (
            LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                memory_limit=args.memory_limit,
                dashboard_address=":0",
                silence_logs=logging.WARNING,
            ) as cluster,
            Client(cluster) as client,
        ):
            rows, restarted = out_of_core(args, folder, client)
            print(
                f"\nOut of core ({args.ooc_rows} rows memory-mapped; {args.repeats} fits "
                f"of {args.long} iterations each; workers restarted during the fits: "
                f"{restarted}); ratio = first row's time per iteration / this row's"
            )
            table(rows, next(iter(rows)), whole_fit=True)
            rows, same = in_memory(args, client)
            print(
                f"\nIn memory ({args.mem_rows} rows in chunks of {args.mem_chunk_rows}; "
                f"same labels and centers both ways: "
                f"{same}); per iteration = (fit of {args.long} - fit of {args.short} "
                f"iterations) / {args.long - args.short}, median of {args.repeats}; "
                "ratio = first row's time / this row's"
            )
            table(rows, "iwkmeans.IncrementalKMeans (2 threads)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
